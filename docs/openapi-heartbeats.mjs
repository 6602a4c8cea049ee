// openapi-heartbeats.mjs — OpenAPI paths of the heartbeat routes
// (src/http/api_heartbeats.c): the public ping API (healthchecks.io's URLs
// and plain-text answers) and the management API. Merged into the document
// by docs/openapi.mjs. Rules and timing: docs/heartbeats.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const text = (description) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
const q = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
const p = (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const readSec = [{ bearer: [] }, {}];
const writeSec = [{ bearer: [] }];
const str = { type: 'string' };
const time = { type: ['string', 'null'], format: 'date-time' };

const heartbeat = {
  type: 'object',
  required: ['entityRef', 'owner', 'target', 'purpose', 'schedule', 'status', 'storedStatus', 'lastPing', 'nextExpected', 'downAt', 'pings', 'hasPingKey'],
  properties: {
    entityRef: str, owner: str, target: { type: ['string', 'null'] }, dependsOn: { type: ['string', 'null'] },
    purpose: { enum: ['backup', 'restore-test', 'job'] },
    schedule: { type: 'object', properties: { kind: { enum: ['period', 'cron'] }, period: str, periodSeconds: { type: 'integer' }, cron: str, tz: str, grace: str, graceSeconds: { type: 'integer' } } },
    status: { enum: ['new', 'up', 'grace', 'down', 'paused', 'started'], description: 'As a reader sees it now: grace and started are read off the clock.' },
    storedStatus: { enum: ['new', 'up', 'down', 'paused'] },
    lastPing: time, lastSuccess: time, runningSince: time,
    lastDurationMs: { type: ['integer', 'null'] },
    nextExpected: { ...time, description: 'When the next ping is expected (the grace period starts).' },
    downAt: { ...time, description: 'When it goes down if nothing arrives (the due time).' },
    pings: { type: 'integer' }, hasPingKey: { type: 'boolean' },
  },
};

const ping = {
  type: 'object',
  properties: {
    n: { type: 'integer' }, time: str, kind: { enum: ['success', 'start', 'fail', 'log'] },
    method: str, remote: str, userAgent: str, bodySize: { type: 'integer' },
    exitStatus: { type: ['integer', 'null'] }, rid: { type: ['string', 'null'] }, durationMs: { type: ['integer', 'null'] },
    body: { type: ['string', 'null'], description: 'The first 100 KiB of the body, when UTF-8.' },
    bodyBase64url: { type: ['string', 'null'], description: 'The kept body, when it is not UTF-8.' },
  },
};

const pingOp = (summary, opId) => ({
  summary, operationId: opId, tags: ['heartbeats'], security: [{}],
  parameters: [q('rid', 'A UUID pairing a start with its end.')],
  responses: { 200: text('OK'), 400: text('invalid url format | invalid uuid format'), 404: text('not found'), 409: text('ambiguous slug'), 429: text('rate limited') },
});
const pingPath = (summary, opId, params) => ({
  parameters: params,
  get: pingOp(summary, `${opId}Get`),
  post: { ...pingOp(summary, `${opId}Post`), requestBody: { required: false, content: { '*/*': { schema: str } }, description: 'Kept up to 100 KiB (the job\'s output, say).' } },
});

export const paths = {
  '/ping/{key}': pingPath('Success ping (healthchecks /ping/{uuid})', 'pingSuccess', [p('key', 'The heartbeat\'s ping key (a UUID).')]),
  '/ping/{key}/{action}': pingPath('start, fail, log, an exit status 0-255, or the slug form /ping/{team-key}/{slug}', 'pingAction',
    [p('key', 'A ping key, or a team key for the slug form.'), p('action', 'start | fail | log | 0-255 | a slug.')]),
  '/ping/{key}/{slug}/{action}': pingPath('Slug form with an action', 'pingSlugAction',
    [p('key', 'The team key.'), p('slug', 'The heartbeat\'s lower-cased name.'), p('action', 'start | fail | log | 0-255.')]),
  '/api/v1/heartbeats': {
    get: { summary: 'Heartbeats with their status', operationId: 'listHeartbeats', tags: ['heartbeats'], security: readSec,
      parameters: [q('owner', 'A Group ref.'), q('target', 'A Resource or Component ref.'), q('status', 'new, up, grace, down, paused or started.')],
      responses: { 200: json('Heartbeats', { type: 'object', required: ['items', 'counts'], properties: { items: { type: 'array', items: heartbeat }, counts: { type: 'object', additionalProperties: { type: 'integer' } } } }), ...errors(400, 401, 403) } },
  },
  '/api/v1/heartbeats/deliveries': {
    get: { summary: 'Outgoing heartbeat notifications, newest first; state=dead is the dead-letter list (admin: URLs may hold secrets)', operationId: 'listHeartbeatDeliveries', tags: ['heartbeats'], security: writeSec,
      parameters: [q('state', 'pending, delivered or dead.'), q('limit', 'At most this many (1-1000, default 100).', { type: 'integer' })],
      responses: { 200: json('Deliveries', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { type: 'object', required: ['id', 'heartbeat', 'url', 'state', 'attempts'], properties: { id: { type: 'integer' }, heartbeat: str, url: str, state: { type: 'string', enum: ['pending', 'delivered', 'dead'] }, attempts: { type: 'integer' }, created: str, nextAttempt: str, finished: str, lastStatus: { type: 'integer' }, lastError: str, payload: { type: 'object' } } } } } }), ...errors(400, 401, 403) } },
  },
  '/api/v1/heartbeats/{namespace}/{name}': {
    get: { summary: 'One heartbeat with its last pings and status changes', operationId: 'getHeartbeat', tags: ['heartbeats'], security: readSec,
      parameters: [p('namespace', 'Namespace.'), p('name', 'Name.'), q('pings', 'How many pings (0-100, default 20).', { type: 'integer' })],
      responses: { 200: json('The heartbeat', { ...heartbeat, properties: { ...heartbeat.properties, lastPings: { type: 'array', items: ping }, statusChanges: { type: 'array', items: { type: 'object', properties: { time: str, from: str, to: str, reason: str } } } } }), ...errors(400, 401, 403, 404) } },
  },
  '/api/v1/heartbeats/{namespace}/{name}/pause': {
    post: { summary: 'Pause alerts until the next ping or resume', operationId: 'pauseHeartbeat', tags: ['heartbeats'], security: writeSec,
      parameters: [p('namespace', 'Namespace.'), p('name', 'Name.')], responses: { 200: json('The heartbeat', heartbeat), ...errors(401, 403, 404) } },
  },
  '/api/v1/heartbeats/{namespace}/{name}/resume': {
    post: { summary: 'Resume a paused heartbeat (it becomes new)', operationId: 'resumeHeartbeat', tags: ['heartbeats'], security: writeSec,
      parameters: [p('namespace', 'Namespace.'), p('name', 'Name.')], responses: { 200: json('The heartbeat', heartbeat), ...errors(401, 403, 404, 409) } },
  },
  '/api/v1/heartbeats/{namespace}/{name}/ping-key': {
    post: { summary: 'A new ping key, shown once (replaces the old one)', operationId: 'newHeartbeatPingKey', tags: ['heartbeats'], security: writeSec,
      parameters: [p('namespace', 'Namespace.'), p('name', 'Name.')],
      responses: { 201: json('The key', { type: 'object', required: ['entityRef', 'pingKey', 'pingPath'], properties: { entityRef: str, pingKey: str, pingPath: str, note: str } }), ...errors(401, 403, 404) } },
  },
  '/api/v1/teams/{namespace}/{name}/ping-key': {
    post: { summary: 'A new team key for /ping/{key}/{slug}, shown once', operationId: 'newTeamPingKey', tags: ['heartbeats'], security: writeSec,
      parameters: [p('namespace', 'Namespace.'), p('name', 'Name.')],
      responses: { 201: json('The key', { type: 'object', required: ['team', 'pingKey', 'pingPath'], properties: { team: str, pingKey: str, pingPath: str, note: str } }), ...errors(400, 401, 403, 404) } },
  },
};
