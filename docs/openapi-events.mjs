// openapi-events.mjs — OpenAPI paths of the event intake and delivery
// insights routes (src/http/api_events.c, src/http/api_insights.c), merged
// into the document by docs/openapi.mjs. Rules: docs/dora.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const q = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
const readSec = [{ bearer: [] }, {}];
const ingestSec = [{ bearer: [] }];
const dateTime = { type: 'string', format: 'date-time' };
const nullable = (schema) => ({ oneOf: [schema, { type: 'null' }] });
const num = { type: 'number' };

// Inlined where used: the main document's components are its own.
const schemas = {
  StoredEvent: {
    type: 'object',
    required: ['source', 'id', 'type', 'timestamp', 'subjectId', 'link', 'component', 'receivedAt', 'cdevent'],
    properties: {
      source: { type: 'string', description: 'context.source' },
      id: { type: 'string', description: 'context.id; (source, id) is unique.' },
      type: { type: 'string', description: 'context.type' },
      timestamp: dateTime,
      subjectId: { type: 'string' },
      chainId: { type: ['string', 'null'] },
      environment: { type: ['string', 'null'], description: 'subject.content.environment.id' },
      artifactId: { type: ['string', 'null'] },
      link: nullable({ type: 'object', properties: { kind: { enum: ['service', 'repository'] }, value: { type: 'string' } } }),
      component: { type: ['string', 'null'], description: 'The Component the link matches now, or null.' },
      receivedAt: dateTime,
      cdevent: { type: 'object', description: 'The CDEvent as sent.' },
    },
  },
  Percentiles: { type: 'object', properties: { p50: nullable(num), p90: nullable(num), count: { type: 'integer' } } },
  Level: { type: ['string', 'null'], enum: ['elite', 'high', 'medium', 'low', null] },
};

const pageParams = [
  q('limit', 'Page size; a page also ends once its body passes 4 MiB (follow nextCursor until null).', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
  q('cursor', 'nextCursor of the previous page.'),
];
const scopeParam = q('scope', "'org' (default) or an entity ref: a Component (bare names mean component:default/NAME), a System (its parts) or a Group (the Components it and its descendant groups own; see descendants).");
const descendantsParam = q('descendants', 'false: a Group scope covers only the Components the group owns itself.', { type: 'boolean', default: true });
const windowParams = [
  q('from', 'Start of the window (RFC 3339, inclusive). Default: 30 days before to.', dateTime),
  q('to', 'End of the window (RFC 3339, exclusive). Default: now.', dateTime),
];

export const paths = {
  '/api/v1/events': {
    post: {
      operationId: 'postEvents', tags: ['events'], security: ingestSec,
      summary: 'Ingest CDEvents (role ingest, editor or admin). Answered only after the events are committed; concurrent requests share transactions.',
      description: 'Content-Type chooses the mode: application/json (one CDEvent or an array; with ce-specversion/ce-id/ce-source/ce-type headers: CloudEvents binary mode), application/cloudevents+json (structured), application/cloudevents-batch+json (batch), application/x-ndjson (one CDEvent per line). All or nothing per request; a re-delivery of (context.source, context.id) counts as a duplicate, another event under a stored (context.source, context.id) as a conflict (not stored). A token bound to source prefixes, or scoped to a team, gets 403 naming the first event it may not send (outside its sources; not linked to a Component of its team). One event is at most --max-event-bytes (default 262144) of compact JSON: a larger one is 413 naming it (events[i]).',
      parameters: ['ce-specversion', 'ce-id', 'ce-source', 'ce-type'].map((h) => ({ name: h, in: 'header', required: false, description: 'CloudEvents binary mode attribute; must equal the CDEvent context.', schema: { type: 'string' } })),
      requestBody: { required: true, content: Object.fromEntries(['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json', 'application/x-ndjson'].map((t) => [t, { schema: {} }])) },
      responses: {
        202: json('Stored', { type: 'object', required: ['accepted', 'duplicates', 'conflicts'], properties: { accepted: { type: 'integer' }, duplicates: { type: 'integer', description: 'already stored with the same body' }, conflicts: { type: 'integer', description: 'already stored with another body: not stored' } } }),
        ...errors(400, 401, 403, 413, 415, 503),
      },
    },
    get: {
      operationId: 'listEvents', tags: ['events'], security: readSec,
      summary: 'Stored events, newest first (context.timestamp, then arrival).',
      parameters: [
        q('type', 'Prefix of context.type, e.g. dev.cdevents.service.'),
        q('service', 'Events linked to this entity: a Component, or every Component of a System or Group.'),
        q('environment', 'Environment id, exactly.'),
        q('from', 'Events at or after (RFC 3339).', dateTime), q('to', 'Events before (RFC 3339).', dateTime),
        ...pageParams,
      ],
      responses: { 200: json('A page of events', { type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: schemas.StoredEvent }, nextCursor: { type: ['string', 'null'] } } }), ...errors(400, 401, 403, 404) },
    },
  },
  '/api/v1/events/unmatched': {
    get: {
      operationId: 'listUnmatchedEvents', tags: ['events'], security: readSec,
      summary: 'Events whose service or repository id matches no Component (fix the annotations and they match), with the unmatched ids.',
      parameters: pageParams,
      responses: {
        200: json('Unmatched ids and a page of their events', { type: 'object', required: ['keys', 'items', 'nextCursor'], properties: {
          keys: { type: 'array', items: { type: 'object', properties: { kind: { enum: ['service', 'repository'] }, value: { type: 'string' }, events: { type: 'integer' }, lastSeen: dateTime } } },
          items: { type: 'array', items: schemas.StoredEvent }, nextCursor: { type: ['string', 'null'] } } }),
        ...errors(400, 401, 403),
      },
    },
  },
  '/api/v1/insights/dora': {
    get: {
      operationId: 'getDora', tags: ['insights'], security: readSec,
      summary: 'DORA metrics (deployment frequency, lead time, change failure rate, time to restore) of a scope over a window; rules in docs/dora.md.',
      parameters: [scopeParam, descendantsParam, ...windowParams, q('failureWindowHours', 'How long after a deployment an incident that names no deployed artifact fails it.', { type: 'integer', minimum: 0, maximum: 8760, default: 24 })],
      responses: {
        200: json('Metrics', { type: 'object', properties: {
          scope: { type: 'string' }, from: dateTime, to: dateTime, deployments: { type: 'integer' },
          deploymentFrequencyPerDay: num, deploymentDays: { type: 'integer' },
          leadTimeSeconds: schemas.Percentiles, changeFailureRate: nullable(num), failedDeployments: { type: 'integer' },
          timeToRestoreSeconds: schemas.Percentiles, openIncidents: { type: 'integer' },
          level: { type: 'object', properties: { deploymentFrequency: schemas.Level, leadTime: schemas.Level, changeFailureRate: schemas.Level, timeToRestore: schemas.Level } },
          daily: { type: 'array', items: { type: 'object', properties: { date: { type: 'string', format: 'date' }, deployments: { type: 'integer' }, failedDeployments: { type: 'integer' }, leadTimeP50Seconds: nullable(num) } } },
        } }),
        ...errors(400, 401, 403, 404),
      },
    },
  },
  '/api/v1/insights/undeployed': {
    get: {
      operationId: 'getUndeployed', tags: ['insights'], security: readSec,
      summary: 'Per Component, the merged changes that no production deployment has shipped yet, oldest first.',
      parameters: [scopeParam, descendantsParam, q('now', 'The instant ages are computed at (RFC 3339). Default: now.', dateTime), q('changes', 'Changes listed per Component (count always counts them all; truncated says some are left out).', { type: 'integer', minimum: 1, maximum: 1000, default: 50 }),
        q('limit', 'Components per page (default: all of them).', { type: 'integer', minimum: 1, maximum: 100000 }), q('cursor', 'nextCursor of the previous page.', { type: 'string' })],
      responses: {
        200: json('Undeployed work', { type: 'object', properties: { now: dateTime, components: { type: 'array', items: { type: 'object', properties: {
          component: { type: 'string' }, count: { type: 'integer' }, oldestMergedAt: dateTime, ageSeconds: { type: 'integer' },
          changes: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, mergedAt: dateTime } } }, truncated: { type: 'boolean' } } } }, totalItems: { type: 'integer' }, nextCursor: { type: ['string', 'null'] } } }),
        ...errors(400, 401, 403, 404),
      },
    },
  },
  '/api/v1/insights/coupling': {
    get: {
      operationId: 'getCoupling', tags: ['insights'], security: readSec,
      summary: 'Components deployed to production together (shared chainId or within windowMinutes): one page of pairs, flagged first, then by confidence; the totals and the release trains of the whole window.',
      parameters: [
        scopeParam, descendantsParam, ...windowParams,
        q('windowMinutes', 'Deployments at most this far apart are together.', { type: 'integer', minimum: 0, maximum: 10080, default: 15 }),
        q('minTogether', 'Flag a pair together at least this often…', { type: 'integer', minimum: 1, default: 5 }),
        q('minConfidence', '…and with together / min(deployments) at least this.', { type: 'number', minimum: 0, maximum: 1, default: 0.8 }),
        q('limit', 'Pairs per page.', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
        q('cursor', 'nextCursor of the previous page: the page continues after its last pair.'),
      ],
      responses: {
        200: json('A page of pairs, the totals and the trains', { type: 'object', required: ['pairs', 'totalPairs', 'flaggedPairs', 'trains', 'nextCursor'], properties: {
          pairs: { type: 'array', description: 'Flagged pairs first, then confidence and together (both descending), then a and b.', items: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' }, together: { type: 'integer' }, deploymentsA: { type: 'integer' }, deploymentsB: { type: 'integer' }, confidence: num, jaccard: num, flagged: { type: 'boolean' } } } },
          totalPairs: { type: 'integer', description: 'Pairs deployed together at least once in the window (all pages).' },
          flaggedPairs: { type: 'integer', description: 'Of them, the flagged ones.' },
          trains: { type: 'array', items: { type: 'object', properties: { components: { type: 'array', items: { type: 'string' } }, teams: { type: 'array', items: { type: 'string' } } } } },
          nextCursor: { type: ['string', 'null'], description: 'Pass as cursor for the next page; null on the last page.' },
        } }),
        ...errors(400, 401, 403, 404),
      },
    },
  },
};

