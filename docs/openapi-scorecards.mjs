// openapi-scorecards.mjs — OpenAPI paths of the scorecard routes (issue #15,
// src/http/api_scorecards.c): an entity's facts document, the Scorecards
// with their summaries and one Scorecard's results with roll-ups. Merged
// into the document by docs/openapi.mjs. Rules and fields: docs/scorecards.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const q = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
const p = (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const readSec = [{ bearer: [] }, {}];
const str = { type: 'string' };
const nullable = (schema) => ({ oneOf: [schema, { type: 'null' }] });
const now = q('now', 'Evaluate as of this time (RFC 3339; default now): DORA windows, incident ages, exemption expiry.', { type: 'string', format: 'date-time' });

const level = { type: 'object', required: ['name', 'description'], properties: { name: str, description: str } };
const card = {
  type: 'object', required: ['name', 'namespace', 'title', 'ref', 'filter', 'levels', 'checks'],
  properties: {
    name: str, namespace: str, title: str, ref: str,
    filter: { type: 'array', items: str, description: 'Backstage filter clauses (ORed); empty = every entity.' },
    levels: { type: 'array', items: level, description: 'Lowest first.' },
    checks: { type: 'array', items: { type: 'object', required: ['id', 'name', 'level', 'description'], properties: { id: str, name: str, level: str, description: str } } },
  },
};
const summary = {
  type: 'object', required: ['entities', 'none', 'averageLevel', 'levels', 'checks'],
  properties: {
    entities: { type: 'integer' }, none: { type: 'integer', description: 'Entities below the first level.' },
    averageLevel: { type: 'number', description: 'Mean of levelIndex + 1 (0 = no level).' },
    levels: { type: 'array', items: { type: 'object', required: ['name', 'count', 'share'], properties: { name: str, count: { type: 'integer', description: 'Entities that reached at least this level.' }, share: { type: 'number' } } } },
    checks: { type: 'array', items: { type: 'object', required: ['id', 'pass', 'fail', 'exempt'], properties: { id: str, pass: { type: 'integer' }, fail: { type: 'integer' }, exempt: { type: 'integer' } } }, description: 'Per check, in card order: how many entities pass, fail, are exempt.' },
  },
};
const group = { allOf: [summary, { type: 'object', required: ['ref', 'worst'], properties: { ref: str, worst: { type: 'array', items: str, maxItems: 5, description: 'Lowest level first, then by ref.' } } }] };
const check = {
  type: 'object', required: ['id', 'name', 'level', 'state'],
  properties: {
    id: str, name: str, level: str, state: { enum: ['pass', 'fail', 'exempt'] },
    values: { type: 'object', additionalProperties: true, description: 'Fact path -> the value the rule read (null when missing).' },
    exemption: { type: 'object', properties: { state: { enum: ['active', 'expired', 'invalid'] }, until: str, reason: str } },
  },
};
const row = {
  type: 'object', required: ['entityRef', 'kind', 'level', 'levelIndex', 'nextLevel', 'passed', 'failed', 'exempt', 'checks'],
  properties: {
    entityRef: str, kind: str, owner: nullable(str), system: nullable(str), domain: nullable(str),
    level: nullable(str), levelIndex: { type: 'integer', description: '-1 when no level is reached.' }, nextLevel: nullable(str),
    passed: { type: 'integer' }, failed: { type: 'integer' }, exempt: { type: 'integer' },
    checks: { type: 'array', items: check },
  },
};

export const paths = {
  '/api/v1/entities/{kind}/{namespace}/{name}/facts': { get: {
    operationId: 'getEntityFacts', tags: ['scorecards'], security: readSec,
    summary: 'The facts document scorecard rules read: the entity with relations, effective RACI, 30-day DORA of its own scope, undeployed work, findings naming it, incidents, heartbeats, links by type, provided APIs (docs/scorecards.md).',
    parameters: [p('kind', 'Entity kind.'), p('namespace', 'Namespace.'), p('name', 'Name.'), now],
    responses: { 200: json('Facts', { type: 'object', required: ['ref', 'kind', 'entity', 'owner', 'relations', 'raci', 'dora', 'undeployed', 'findings', 'incidents', 'heartbeats', 'links', 'apis'], additionalProperties: true }), ...errors(400, 401, 403, 404) },
  } },
  '/api/v1/scorecards': { get: {
    operationId: 'listScorecards', tags: ['scorecards'], security: readSec,
    summary: 'Every Scorecard of the catalog with the summary of its results.',
    parameters: [now],
    responses: { 200: json('Scorecards', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { allOf: [card, { type: 'object', properties: { summary } }] } } } }), ...errors(400, 401, 403) },
  } },
  '/api/v1/scorecards/{name}/results': { get: {
    operationId: 'getScorecardResults', tags: ['scorecards'], security: readSec,
    summary: 'Per entity in the Scorecard\'s scope: its level and every check with the values that decided it; roll-ups per team, system and domain.',
    parameters: [p('name', 'The Scorecard\'s metadata.name.'),
      q('namespace', 'The Scorecard\'s namespace (default: any).'),
      q('scope', 'Only the entity with this ref, or the entities it owns or that are part of it (a bare name is a Group). The summary and roll-ups follow the scope.'),
      q('level', 'Only the entities below this level (what is left to do for it).'),
      q('cursor', 'nextCursor of the previous page.'),
      q('limit', 'Items per page (1-1000, default 100).', { type: 'integer', minimum: 1, maximum: 1000 }), now],
    responses: { 200: json('Results', { type: 'object', required: ['scorecard', 'evaluatedAt', 'summary', 'rollups', 'items', 'totalItems', 'nextCursor'], properties: {
      scorecard: card, evaluatedAt: { type: 'string', format: 'date-time' }, summary,
      rollups: { type: 'object', properties: { teams: { type: 'array', items: group }, systems: { type: 'array', items: group }, domains: { type: 'array', items: group } } },
      items: { type: 'array', items: row }, totalItems: { type: 'integer' }, nextCursor: nullable(str) } }), ...errors(400, 401, 403, 404) },
  } },
};
