// openapi-strategy.mjs — OpenAPI paths of the strategy routes (issue #16):
// KPIs as metric series (src/http/api_metrics.c), goals, hypotheses and
// decisions of a scope (src/http/api_strategy.c). Merged into the document
// by docs/openapi.mjs. Rules: docs/strategy.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const q = (name, description, schema = { type: 'string' }, extra = {}) => ({ name, in: 'query', required: false, description, schema, ...extra });
const p = (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const readSec = [{ bearer: [] }, {}];
const writeSec = [{ bearer: [] }];
const str = { type: 'string' };
const time = { type: 'string', format: 'date-time' };

const point = { type: 'object', required: ['time', 'value'], properties: { time, value: { type: 'number' } } };
const labels = { type: 'object', additionalProperties: str };
const sample = {
  type: 'object', required: ['name', 'value'], additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, description: 'Metric name (UTF-8, no control characters; conway_* is reserved).' },
    labels: { ...labels, maxProperties: 32, description: 'Label names must not start with __.' },
    time: { oneOf: [time, { type: 'integer', description: 'Unix milliseconds.' }], description: 'Absent: when the request arrived.' },
    value: { oneOf: [{ type: 'number' }, { enum: ['NaN', '+Inf', '-Inf'] }], description: 'Non-finite values are counted (nonFinite) and dropped.' },
  },
};

const nullable = (schema) => ({ oneOf: [schema, { type: 'null' }] });
const points = { type: 'array', items: point };
const finding = {
  type: 'object', required: ['rule', 'severity', 'entityRef', 'detail'],
  properties: {
    rule: { enum: ['goal-not-smart', 'decision-single-option', 'decision-no-counter-evidence', 'decision-not-best-scored', 'tool-on-hold'] },
    severity: { enum: ['warning'] }, entityRef: str, detail: str, owner: str,
    letter: { enum: ['S', 'M', 'A', 'R', 'T'], description: 'goal-not-smart: the missing letter.' },
    option: { type: 'string', description: 'decision-no-counter-evidence / decision-not-best-scored: the option concerned.' },
    decision: { type: 'string', description: 'tool-on-hold: the decision that put the tool on hold.' },
    tool: { type: 'string', description: 'tool-on-hold: the tool.' },
  },
};
const goal = {
  type: 'object', required: ['entityRef', 'owner', 'status', 'projection', 'smart', 'points', 'findings'],
  properties: {
    entityRef: str, title: str, owner: nullable(str), statement: {}, stakeholders: {}, metric: {}, baseline: {}, target: {}, deadline: {},
    status: { enum: ['unknown', 'on-track', 'at-risk', 'off-track', 'achieved', 'missed'] },
    projection: { type: 'object', description: 'What decided the status.', required: ['method', 'reason', 'points'], properties: { method: { enum: ['none', 'latest value', 'least-squares'] }, reason: str, points: { type: 'integer' }, pointsFitted: { type: 'integer' }, current: point, slopePerDay: { type: 'number' }, projectedValue: { type: 'number' }, projectedAt: str, start: { type: 'number' }, progress: { type: 'number', description: 'Share of the way from start to target the projection covers.' }, planned: { type: 'number', description: 'Where a straight line from start to target would be now.' } } },
    smart: { type: 'object', properties: { S: { type: 'boolean' }, M: { type: 'boolean' }, A: { type: 'boolean' }, R: { type: 'boolean' }, T: { type: 'boolean' } } },
    points: { ...points, description: 'Daily points of the metric the status was computed from.' },
    seriesMatched: { type: 'integer' }, created: time, error: str,
    findings: { type: 'array', items: finding },
  },
};
const hypothesis = {
  type: 'object', required: ['entityRef', 'verdict', 'detail', 'before', 'after', 'changeAt'],
  properties: {
    entityRef: str, title: str, owner: nullable(str), change: {}, outcome: {}, metric: {}, expected: {}, artifact: {}, changeAt: nullable(time),
    verdict: { enum: ['supported', 'refuted', 'inconclusive'] },
    detail: { type: 'object', required: ['verdict', 'reason'], properties: { verdict: str, reason: str, nBefore: { type: 'integer' }, nAfter: { type: 'integer' }, alpha: { type: 'number' },
      test: { type: 'object', properties: { name: { const: 'mann-whitney-u' }, nBefore: { type: 'integer' }, nAfter: { type: 'integer' }, u: { type: 'number' }, exact: { type: 'boolean' }, ties: { type: 'boolean' }, pGreater: { type: 'number' }, pLess: { type: 'number' }, pTwoSided: { type: 'number' }, pExpectedDirection: { type: 'number' }, pShortOfExpected: { type: 'number' } } },
      effect: { type: 'object', properties: { beforeMedian: { type: 'number' }, afterMedian: { type: 'number' }, shift: { type: 'number', description: 'Hodges–Lehmann: the median of all after − before differences.' }, relativeShift: { type: ['number', 'null'] }, expectedShift: { type: 'number' }, probabilityOfSuperiority: { type: 'number' }, rankBiserial: { type: 'number' } } } } },
    before: points, after: points, error: str,
  },
};
const decision = {
  type: 'object', required: ['entityRef', 'status', 'options'],
  properties: {
    entityRef: str, title: str, description: str, owner: nullable(str), system: nullable(str), domain: nullable(str), supersededBy: nullable(str),
    status: {}, date: {}, needs: {}, values: {}, principles: {}, practices: {}, chosen: {}, criteria: {}, evidence: {}, tools: {},
    options: { type: 'array', items: { type: 'object', required: ['name', 'chosen'], properties: { name: str, chosen: { type: 'boolean' }, score: { type: 'number', description: 'Σ weight·score / Σ weight over the criteria that score it.' } } } },
  },
};
const nowParam = q('now', 'Evaluate as of this time (RFC 3339); default now.', time);

export const paths = {
  '/api/v1/metrics': {
    post: {
      operationId: 'postMetrics', tags: ['strategy'], security: writeSec,
      summary: 'Store KPI samples (ingest, editor or admin token). JSON, Prometheus text format 0.0.4 or OpenMetrics, by Content-Type.',
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { type: 'array', items: sample } },
          'text/plain': { schema: { type: 'string', description: 'Prometheus text exposition format 0.0.4 (timestamps in ms).' } },
          'application/openmetrics-text': { schema: { type: 'string', description: 'OpenMetrics 1.0 (timestamps in seconds; ends with # EOF).' } },
        },
      },
      responses: {
        200: json('Stored (committed)', { type: 'object', required: ['accepted', 'series', 'newSeries', 'nonFinite', 'replaced'], properties: { accepted: { type: 'integer' }, series: { type: 'integer' }, newSeries: { type: 'integer' }, nonFinite: { type: 'integer', description: 'NaN/±Inf samples dropped.' }, replaced: { type: 'integer', description: 'Samples of the same series and time given twice in the request (the later wins).' } } }),
        ...errors(400, 401, 403, 413, 415, 422),
      },
    },
    get: {
      operationId: 'listMetricNames', tags: ['strategy'], security: readSec,
      summary: 'Every metric name: the built-in DORA series and the stored KPIs.',
      responses: { 200: json('Names', { type: 'object', required: ['names'], properties: { names: { type: 'array', items: { type: 'object', required: ['name', 'builtin'], properties: { name: str, builtin: { type: 'boolean' }, description: str, labels: { type: 'array', items: str }, series: { type: 'integer' }, firstSample: time, lastSample: time } } } } }), ...errors(401, 403) },
    },
  },
  '/api/v1/metrics/{name}': {
    parameters: [p('name', 'Metric name, e.g. checkout_conversion or conway_dora_deployments_per_day.')],
    get: {
      operationId: 'getMetric', tags: ['strategy'], security: readSec,
      summary: 'Points of a series: one per step, each aggregating the samples of [time, time + step).',
      parameters: [
        q('labels', 'Label matchers as in PromQL, all must hold: team="payments",env="prod" (braces optional). DORA series: scope="group:default/payments" (default org).'),
        q('from', 'Window start (RFC 3339); default to - 30 days.', time), q('to', 'Window end, exclusive (RFC 3339); default now.', time),
        q('step', 'Duration: 15s, 5m, 1h, 1d, 1w or seconds; default the smallest of 1m…1y giving at most 500 points (DORA: whole days).'),
        q('agg', 'Aggregate per step; default last (DORA series: avg).', { enum: ['last', 'avg', 'min', 'max', 'sum', 'count'] }),
        q('limit', 'Most series answered.', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
      ],
      responses: {
        200: json('The series', { type: 'object', required: ['name', 'builtin', 'from', 'to', 'step', 'agg', 'seriesTotal', 'series'], properties: { name: str, builtin: { type: 'boolean' }, from: time, to: time, step: str, agg: str, seriesTotal: { type: 'integer', description: 'Matching series, also those beyond limit.' }, series: { type: 'array', items: { type: 'object', required: ['labels', 'points'], properties: { labels, points: { type: 'array', items: point } } } } } }),
        ...errors(400, 401, 403, 404),
      },
    },
  },
  '/api/v1/strategy': {
    get: {
      operationId: 'getStrategy', tags: ['strategy'], security: readSec,
      summary: 'Goals with status, hypotheses with verdicts, decisions, KPIs and their findings, for a team, a system or domain, a component or the organisation.',
      parameters: [q('scope', 'org (default), or a Group (what it owns), System or Domain (its decisions; goals whose metric scope names it) or Component ref.'), nowParam],
      responses: {
        200: json('The strategy of the scope', { type: 'object', required: ['scope', 'asOf', 'summary', 'goals', 'hypotheses', 'decisions', 'kpis', 'findings'], properties: {
          scope: str, asOf: time,
          summary: { type: 'object', properties: { goals: { type: 'object', additionalProperties: { type: 'integer' } }, hypotheses: { type: 'object', additionalProperties: { type: 'integer' } }, decisions: { type: 'integer' }, findings: { type: 'object', additionalProperties: { type: 'integer' } } } },
          goals: { type: 'array', items: goal }, hypotheses: { type: 'array', items: hypothesis }, decisions: { type: 'array', items: decision },
          kpis: { type: 'array', items: { type: 'object', properties: { entityRef: str, owner: nullable(str), source: {}, query: {}, step: {}, unit: {}, metric: str,
            fetch: { type: 'object', description: 'KPIs this instance reads from Prometheus (serve --prometheus-url): how its last fetches went.', required: ['state', 'lastAttemptAt'], properties: {
              state: { enum: ['ok', 'error', 'pending'], description: 'error: the last attempt failed.' }, lastAttemptAt: time, lastSuccessAt: time,
              samples: { type: 'integer', description: 'Samples stored by the last successful fetch.' }, lastErrorAt: time, lastError: { type: 'string', description: "Why the last failed fetch failed (Prometheus' message)." } } } } } },
          findings: { type: 'array', items: finding } } }),
        ...errors(400, 401, 403, 404),
      },
    },
  },
  '/api/v1/strategy/goals/{namespace}/{name}': {
    parameters: [p('namespace', 'Namespace of the Goal.'), p('name', 'Name of the Goal.')],
    get: { operationId: 'getGoal', tags: ['strategy'], security: readSec, summary: 'One Goal: status, projection, SMART findings and daily points.', parameters: [nowParam], responses: { 200: json('The goal', goal), ...errors(400, 401, 403, 404) } },
  },
  '/api/v1/strategy/hypotheses/{namespace}/{name}': {
    parameters: [p('namespace', 'Namespace of the Hypothesis.'), p('name', 'Name of the Hypothesis.')],
    get: { operationId: 'getHypothesis', tags: ['strategy'], security: readSec, summary: 'One Hypothesis: verdict, the test and effect size, the points before and after the change.', parameters: [nowParam], responses: { 200: json('The hypothesis', hypothesis), ...errors(400, 401, 403, 404) } },
  },
  '/api/v1/report': {
    get: {
      operationId: 'getReport', tags: ['strategy'], security: readSec,
      summary: 'The report of a scope as one self-contained HTML page (inline styles and SVG, no script) or Markdown: DORA with trends, goals, hypotheses, decisions, findings, open items. The same as `conway report`.',
      parameters: [q('scope', 'org (default), or a Group, System, Domain or Component ref.'), q('format', 'html (default) or md.', { enum: ['html', 'md', 'markdown'] }), nowParam],
      responses: {
        200: { description: 'The report', content: { 'text/html': { schema: { type: 'string' } }, 'text/markdown': { schema: { type: 'string' } } } },
        ...errors(400, 401, 403, 404),
      },
    },
  },
};
