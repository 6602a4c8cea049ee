// openapi-initiatives.mjs — OpenAPI paths of the initiatives (issue #15,
// src/http/api_initiatives.c). Merged into the document by docs/openapi.mjs.
// Rules: docs/initiatives.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const q = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
const p = (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const readSec = [{ bearer: [] }, {}];
const str = { type: 'string' };
const int = { type: 'integer', minimum: 0 };
const day = { type: 'string', format: 'date' };
const now = q('now', 'Evaluate as of this time (RFC 3339); the snapshots are those stored.', { type: 'string', format: 'date-time' });

const pace = {
  type: 'object', required: ['verdict', 'onPace', 'reason', 'requiredSharePerDay', 'daysLeft', 'pointsUsed'],
  properties: {
    verdict: { enum: ['on-pace', 'behind', 'achieved', 'missed', 'not-started', 'unknown'] },
    onPace: { type: 'boolean', description: 'on-pace or achieved.' },
    reason: { type: 'string', description: 'What decided the verdict, in words.' },
    sharePerDay: { type: 'number', description: 'Least-squares slope of the share at the target per day, over the daily snapshots since the start (absent with fewer than two).' },
    projectedShare: { type: 'number', minimum: 0, maximum: 1, description: 'Share at the deadline at that pace, from today\'s share.' },
    requiredSharePerDay: { type: 'number', description: 'Share per day still needed to reach everything by the deadline.' },
    daysLeft: { type: 'integer', description: 'Days to the deadline (negative once passed).' },
    pointsUsed: int,
  },
};
const initiative = {
  type: 'object', required: ['entityRef', 'name', 'namespace', 'title', 'target', 'filter', 'start', 'deadline', 'pace', 'problems'],
  properties: {
    entityRef: str, name: str, namespace: str, title: str, owner: str,
    scorecard: { type: 'string', description: 'The Scorecard ref.' },
    target: { type: 'object', properties: { level: str, checks: { type: 'array', items: str } } },
    filter: { type: 'array', items: str, description: 'spec.filter clauses (ORed), narrowing the scorecard\'s scope.' },
    start: str, deadline: str,
    progress: { type: 'object', required: ['done', 'total', 'share'], properties: { done: int, total: int, share: { type: 'number' } } },
    pace,
    burnup: { type: 'array', description: 'One point per daily scorecard snapshot since the start, the last one now (detail only).', items: { type: 'object', required: ['day', 'done', 'total'], properties: { day, done: int, total: int } } },
    teams: { type: 'array', description: 'Per owning team, most remaining first (detail only; team "" = no owner).', items: { type: 'object', required: ['team', 'remaining', 'total'], properties: { team: str, remaining: int, total: int } } },
    remaining: { type: 'array', description: 'Entities not at the target (at most 200; detail only).', items: { type: 'object', properties: { entityRef: str, owner: str, level: { type: 'string', description: '"" = below the first level.' } } } },
    remainingTotal: int,
    problems: { type: 'array', items: str, description: 'What keeps the initiative from being judged fully (a scorecard, level or check that does not exist, a bad filter).' },
  },
};

export const paths = {
  '/api/v1/initiatives': {
    get: {
      operationId: 'listInitiatives', tags: ['scorecards'], security: readSec,
      summary: 'Initiatives with their progress and pace (without burn-up and lists).',
      parameters: [now],
      responses: { 200: json('The initiatives', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: initiative } } }), ...errors(400, 401, 403) },
    },
  },
  '/api/v1/initiatives/{name}': {
    parameters: [p('name', 'The Initiative\'s name.')],
    get: {
      operationId: 'getInitiative', tags: ['scorecards'], security: readSec,
      summary: 'One initiative: progress now, burn-up over the daily scorecard snapshots, entities remaining per team, the projection to the deadline.',
      parameters: [q('namespace', 'Its namespace (default: default).'), now],
      responses: { 200: json('The initiative', initiative), ...errors(400, 401, 403, 404) },
    },
  },
};
