// openapi-incidents.mjs — OpenAPI paths of the incident routes
// (src/http/api_incidents.c): Alertmanager's webhook, the incident list and
// page, transitions and notes. Merged into the document by docs/openapi.mjs.
// Rules: docs/incidents.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const q = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
const p = (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const readSec = [{ bearer: [] }, {}];
const writeSec = [{ bearer: [] }];
const str = { type: 'string' };
const strOrNull = { type: ['string', 'null'] };
const dateTime = { type: 'string', format: 'date-time' };
const dateTimeOrNull = { type: ['string', 'null'], format: 'date-time' };
const STATES = ['triggered', 'acknowledged', 'mitigated', 'resolved', 'closed'];
const SEVERITIES = ['critical', 'high', 'warning', 'low', 'info'];

const incident = {
  type: 'object',
  required: ['id', 'ref', 'source', 'title', 'state', 'severity', 'severityLabel', 'component', 'owner', 'startedAt', 'detectedAt', 'resolvedAt', 'timeToRestoreSeconds', 'links'],
  properties: {
    id: { type: 'integer', description: 'conway\'s number for the incident.' },
    ref: { ...str, description: 'The incident\'s subject.id: what a Postmortem lists in spec.incidents.' },
    source: { ...str, description: 'subject.source of its events (else context.source); /conway/alertmanager for Alertmanager groups.' },
    title: strOrNull,
    state: { enum: STATES },
    severity: { type: ['string', 'null'], enum: [...SEVERITIES, null], description: 'The severity on conway\'s scale, or null.' },
    severityLabel: { ...strOrNull, description: 'The severity as the tool wrote it (label severity, customData.severity).' },
    component: { ...strOrNull, description: 'The Component its service id links to now, or null.' },
    owner: { ...strOrNull, description: 'That Component\'s owner.' },
    service: strOrNull, environment: strOrNull, artifactId: strOrNull,
    alertGroup: { ...strOrNull, description: 'The Alertmanager groupKey, for incidents from Alertmanager.' },
    startedAt: { ...dateTime, description: 'Detected time, else its first event\'s.' },
    detectedAt: dateTimeOrNull, resolvedAt: dateTimeOrNull, updatedAt: dateTimeOrNull,
    timeToRestoreSeconds: { type: ['number', 'null'] },
    links: { type: 'object', properties: { self: str } },
  },
};

const entry = {
  type: 'object', required: ['at', 'kind', 'actor', 'text'],
  properties: {
    at: dateTime, kind: { enum: ['event', 'alert', 'transition', 'note'] },
    actor: { ...strOrNull, description: 'Who: the token\'s name for transitions and notes, the event\'s source, alertmanager.' },
    text: strOrNull, from: { enum: STATES }, to: { enum: STATES }, ref: str,
  },
};

const detail = {
  ...incident,
  required: [...incident.required, 'likelyCause', 'timeline', 'alerts', 'postmortems'],
  properties: {
    ...incident.properties,
    likelyCause: {
      type: ['object', 'null'], description: 'The deployment the incident most likely caused, by the DORA failure rule (docs/dora.md): the one whose artifact it names, else the component\'s last production deployment within failureWindowHours before it.',
      properties: { component: str, deployedAt: dateTime, artifactId: strOrNull, rule: { enum: ['artifact', 'failure-window'] }, failureWindowHours: { type: 'integer' } },
    },
    timeline: { type: 'array', items: entry, description: 'Oldest first: events, alerts, transitions and notes.' },
    alerts: { type: 'array', items: { type: 'object', properties: { fingerprint: str, status: { enum: ['firing', 'resolved'] }, startsAt: dateTime, endsAt: dateTimeOrNull, labels: { type: 'object' }, annotations: { type: ['object', 'null'] }, generatorURL: strOrNull } } },
    postmortems: { type: 'array', items: { type: 'object', required: ['entityRef', 'summary', 'actionItems', 'openActionItems'], properties: { entityRef: str, title: str, summary: str, actionItems: { type: 'integer' }, openActionItems: { type: 'integer' } } } },
  },
};

export const paths = {
  '/api/v1/hooks/alertmanager': {
    post: {
      operationId: 'alertmanagerWebhook', tags: ['incidents'], security: writeSec,
      summary: 'Prometheus Alertmanager\'s webhook (payload version 4), with a token of role ingest (http_config.authorization). A firing group opens an incident (one per groupKey at a time), a resolved one resolves it, at the alerts\' own startsAt/endsAt; recorded as incident CDEvents, so DORA counts them.',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['version', 'groupKey', 'status', 'alerts'] } } } },
      responses: {
        200: json('Recorded', { type: 'object', required: ['incident', 'accepted', 'duplicates'], properties: { incident: { oneOf: [incident, { type: 'null' }] }, accepted: { type: 'integer', description: 'Incident events newly recorded.' }, duplicates: { type: 'integer' } } }),
        ...errors(400, 401, 403, 413, 415),
      },
    },
  },
  '/api/v1/incidents': {
    get: {
      operationId: 'listIncidents', tags: ['incidents'], security: readSec,
      summary: 'Incidents, newest first (by start), with cursor paging.',
      parameters: [
        q('scope', 'org (default), a Component, a System or a Group (the components it owns).'),
        q('ref', 'Only incidents with this ref (subject id), as a Postmortem lists them.'),
        q('state', 'open, or states, comma-separated.'),
        q('severity', 'Severities on conway\'s scale, comma-separated; none for incidents without one.'),
        q('from', 'Started at or after (RFC 3339).', dateTime), q('to', 'Started before (RFC 3339).', dateTime),
        q('limit', 'Page size.', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
        q('cursor', 'nextCursor of the previous page.'),
      ],
      responses: { 200: json('A page of incidents', { type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: incident }, nextCursor: strOrNull } }), ...errors(400, 401, 403, 404) },
    },
  },
  '/api/v1/incidents/{id}': {
    parameters: [p('id', 'The incident\'s number.')],
    get: {
      operationId: 'getIncident', tags: ['incidents'], security: readSec,
      summary: 'One incident with its likely causing deployment, timeline, alerts and postmortems.',
      parameters: [q('failureWindowHours', 'Window of the failure rule for the likely cause.', { type: 'integer', minimum: 0, maximum: 8760, default: 24 })],
      responses: { 200: json('The incident', detail), ...errors(400, 401, 403, 404) },
    },
  },
  '/api/v1/incidents/{id}/transitions': {
    parameters: [p('id', 'The incident\'s number.')],
    post: {
      operationId: 'transitionIncident', tags: ['incidents'], security: writeSec,
      summary: 'Moves the incident along triggered → acknowledged → mitigated → resolved → closed and/or adds a note; each is a timeline entry with who and when. A team-scoped editor token may change only incidents of its team\'s components. Closing needs a Postmortem listing the incident, or postmortemNotRequired with a note.',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { to: { enum: STATES }, note: { type: 'string', minLength: 1, maxLength: 4096 }, postmortemNotRequired: { type: 'boolean' } } } } } },
      responses: { 200: json('The incident afterwards', incident), ...errors(400, 401, 403, 404, 409, 415) },
    },
  },
};
