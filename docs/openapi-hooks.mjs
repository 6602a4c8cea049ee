// openapi-hooks.mjs — OpenAPI paths of the GitHub and GitLab webhook
// receivers and their administration (src/http/api_hooks.c), merged into
// the document by docs/openapi.mjs. What becomes what: docs/webhooks.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const h = (name, description) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } });
const idParam = { name: 'id', in: 'path', required: true, description: 'The receiver id (from its URL path).', schema: { type: 'string' } };
const adminSec = [{ bearer: [] }];
const dateTime = { type: 'string', format: 'date-time' };

const Receiver = {
  type: 'object', required: ['id', 'provider', 'name', 'path', 'createdAt'],
  properties: {
    id: { type: 'string' }, provider: { enum: ['github', 'gitlab'] }, name: { type: 'string' },
    team: { type: ['string', 'null'], description: 'The group the receiver belongs to (a group key).' },
    incidentLabel: { type: ['string', 'null'], description: 'The label that makes an issue an incident; null: "incident".' },
    path: { type: 'string', description: 'Where the host must send its deliveries: /api/v1/hooks/<provider>/<id>.' },
    createdAt: dateTime, revokedAt: { oneOf: [dateTime, { type: 'null' }] },
  },
};
const Outcome = {
  type: 'object', required: ['delivery', 'status'],
  properties: {
    delivery: { type: 'string', description: 'The delivery id (X-GitHub-Delivery; Idempotency-Key or X-Gitlab-Event-UUID; else derived from the body).' },
    status: { enum: ['stored', 'ignored', 'duplicate'] },
    what: { type: 'string', description: 'The event and action received, e.g. pull_request.closed.' },
    events: { type: 'integer', description: 'CDEvents made from the delivery.' },
    accepted: { type: 'integer' }, duplicates: { type: 'integer' }, truncated: { type: 'boolean' },
    reason: { type: 'string', description: 'Why an ignored delivery makes no event.' },
  },
};
const receiver = (provider, credential) => ({
  post: {
    operationId: `receive${provider === 'github' ? 'GitHub' : 'GitLab'}Webhook`, tags: ['events'], security: [],
    summary: `A ${provider === 'github' ? 'GitHub' : 'GitLab'} webhook delivery, authenticated by ${credential} (no bearer token). Translated into CDEvents (docs/webhooks.md), stored like posted events; a delivery sent again stores nothing twice.`,
    parameters: [idParam, ...(provider === 'github'
      ? [h('X-Hub-Signature-256', 'sha256=<hex HMAC-SHA256 of the body under the secret>'), h('X-GitHub-Event', 'The event name.'), h('X-GitHub-Delivery', 'The delivery id.')]
      : [h('X-Gitlab-Token', 'The secret token.'), h('X-Gitlab-Event', 'The event name (logged; the payload object_kind decides).'), h('Idempotency-Key', 'The delivery id.'), h('X-Gitlab-Event-UUID', 'The delivery id when Idempotency-Key is absent.')])],
    requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } }, ...(provider === 'github' ? { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { payload: { type: 'string' } } } } } : {}) } },
    responses: { 200: json('Stored, ignored (with the reason) or a duplicate', Outcome), ...errors(400, 401, 413) },
  },
});

export const paths = {
  '/api/v1/hooks/github/{id}': receiver('github', 'X-Hub-Signature-256'),
  '/api/v1/hooks/gitlab/{id}': receiver('gitlab', 'X-Gitlab-Token'),
  '/api/v1/hooks': {
    get: { operationId: 'listWebhookReceivers', tags: ['admin'], security: adminSec, summary: 'Webhook receivers, revoked ones too (admin). Secrets are never listed.',
      responses: { 200: json('Receivers', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: Receiver } } }), ...errors(401, 403) } },
    post: { operationId: 'createWebhookReceiver', tags: ['admin'], security: adminSec, summary: 'Create a webhook receiver (admin); the answer holds its secret, shown this once.',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['provider', 'name'], additionalProperties: false, properties: { provider: { enum: ['github', 'gitlab'] }, name: { type: 'string', maxLength: 127 }, team: { type: 'string', description: 'A group ref.' }, incidentLabel: { type: 'string', maxLength: 63 } } } } } },
      responses: { 201: json('Created', { ...Receiver, required: [...Receiver.required, 'secret'], properties: { ...Receiver.properties, secret: { type: 'string', description: 'GitHub: the webhook Secret; GitLab: the Secret token.' } } }), ...errors(400, 401, 403, 413) } },
  },
  '/api/v1/hooks/{id}': {
    delete: { operationId: 'revokeWebhookReceiver', tags: ['admin'], security: adminSec, summary: 'Revoke a receiver (admin): its deliveries are refused from now on.',
      parameters: [idParam], responses: { 204: { description: 'Revoked' }, ...errors(401, 403, 404) } },
  },
  '/api/v1/hooks/{id}/deliveries': {
    get: { operationId: 'listWebhookDeliveries', tags: ['admin'], security: adminSec, summary: 'A receiver\'s latest deliveries, newest first (admin), kept 30 days; payloads up to 64 KiB.',
      parameters: [idParam, { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } }],
      responses: { 200: json('Deliveries', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { type: 'object', properties: {
        delivery: { type: 'string' }, receivedAt: dateTime, what: { type: 'string' }, outcome: { enum: ['stored', 'ignored'] },
        detail: { type: ['string', 'null'] }, events: { type: 'integer' }, payloadBytes: { type: 'integer' },
        payload: { description: 'The body as received, or null when larger than 64 KiB.' } } } } } }), ...errors(400, 401, 403, 404) } },
  },
};
