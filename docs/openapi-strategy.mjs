// openapi-strategy.mjs — OpenAPI paths of the strategy routes (issue #16):
// KPIs as metric series (src/http/api_metrics.c). Merged into the document
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
};
