// openapi-architecture.mjs — OpenAPI paths of the architecture routes
// (src/http/api_architecture.c): the architecture findings, the dependency
// graph and the history of findings. Merged into the document by
// docs/openapi.mjs. Rules: docs/architecture.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const q = (name, description, schema = { type: 'string' }, extra = {}) => ({ name, in: 'query', required: false, description, schema, ...extra });
const readSec = [{ bearer: [] }, {}];
const str = { type: 'string' };
const strs = { type: 'array', items: str };
const int = { type: 'integer' };
const num = { type: 'number' };

export const RULES = ['cross-team-dependency', 'cross-team-release-train', 'dependency-cycle', 'deprecated-dependency', 'fan-in', 'fan-out', 'shared-datastore', 'team-spread'];

const finding = {
  type: 'object', required: ['rule', 'severity', 'entityRef', 'entities', 'teams', 'detail', 'numbers'],
  properties: {
    rule: { enum: RULES },
    severity: { enum: ['error', 'warning'] },
    entityRef: { ...str, description: 'The subject: a component, resource or team.' },
    entities: { ...strs, description: 'Every entity involved, the subject first.' },
    teams: { ...strs, description: 'The owners involved, sorted.' },
    detail: { ...str, description: 'One sentence a person understands.' },
    numbers: { type: 'object', additionalProperties: num, description: 'The figures behind the finding (per rule, docs/architecture.md).' },
    cycle: { ...strs, description: 'dependency-cycle: one shortest cycle, in order (the last depends on the first).' },
    writers: { ...strs, description: 'shared-datastore: the components that declare writes.' },
    writerTeams: strs,
    silenced: { type: 'object', required: ['reason', 'by'], properties: { reason: str, by: { ...str, description: 'The entity whose conway.dev/silence-RULE annotation silences it.' } } },
  },
};

const node = {
  type: 'object', required: ['ref', 'kind', 'exists'],
  properties: {
    ref: str, kind: str, type: str, lifecycle: str, title: str, owner: str, system: str, domain: str,
    exists: { type: 'boolean', description: 'false: only named by an edge.' },
    scope: { type: 'boolean', description: 'A node of the scope itself (the others are within depth).' },
    finding: { enum: ['error', 'warning'], description: 'The worst finding naming it, not silenced.' },
  },
};

const edge = {
  type: 'object', required: ['from', 'to', 'type'],
  properties: {
    from: str, to: str,
    type: { enum: ['dependsOn', 'consumesApi', 'providesApi', 'subcomponentOf'] },
    api: { ...str, description: 'consumesApi: the API consumed (to is its provider, or the API when nobody provides it).' },
    writes: { type: 'boolean', description: 'The component declares it writes this resource.' },
    cycle: { type: 'boolean', description: 'On a reported dependency cycle.' },
  },
};

const OWNERSHIP_RULES = ['heartbeat-down', 'heartbeat-without-target', 'link-key-conflict', 'location-unreachable', 'no-accountable', 'orphan-entity', 'orphan-user', 'owner-is-user', 'owner-missing', 'shared-resource-owner', 'team-overload', 'team-without-members', 'untested-backup',
  'action-overdue', 'action-owner-not-accountable', 'action-owner-unknown', 'incident-without-postmortem', 'postmortem-without-actions'];
const date = { type: 'string', format: 'date' };

export const paths = {
  '/api/v1/insights/history': {
    get: {
      operationId: 'getFindingsHistory', tags: ['insights'], security: readSec,
      summary: 'How many ownership (with the incident, postmortem and heartbeat rules) and architecture findings there were per day: each server takes a snapshot of the counts once a day (the first instance to claim the day in the database stores it). Days without a snapshot are left out; a day with no findings has zeros.',
      parameters: [
        q('rule', 'Keep one rule (an ownership, postmortem or architecture rule).', { enum: [...OWNERSHIP_RULES, ...RULES].sort() }),
        q('scope', '"org" (the default: every finding) or a team ref (bare names mean group:default/NAME): the findings naming it.'),
        q('from', 'First day, YYYY-MM-DD (default: 89 days before to).', date),
        q('to', 'Last day, YYYY-MM-DD (default: today, UTC). At most 3660 days from from.', date),
      ],
      responses: {
        200: json('Counts per day', { type: 'object', required: ['scope', 'from', 'to', 'days'], properties: {
          scope: { ...str, description: '"org" or the team key.' }, rule: str, from: date, to: date,
          days: { type: 'array', items: { type: 'object', required: ['day', 'error', 'warning', 'silenced', 'total', 'byRule'], properties: {
            day: date, error: int, warning: int, silenced: int,
            total: { ...int, description: 'error + warning (silenced findings are not counted).' },
            byRule: { type: 'object', additionalProperties: { type: 'object', additionalProperties: int, description: 'severity (error, warning, silenced) -> count' } },
          } } },
        } }),
        ...errors(400, 401, 403),
      },
    },
  },
  '/api/v1/insights/architecture': {
    get: {
      operationId: 'getArchitectureFindings', tags: ['insights'], security: readSec,
      summary: 'Architecture findings over the dependency graph of the whole catalog (the monolith creeping back): dependency cycles, shared datastores, cross-team dependencies and Conway congruence, spread teams, release trains across teams, fan-in/fan-out hot spots, deprecated dependencies. Sorted by rule, then entity.',
      parameters: [
        q('rule', 'Keep one rule.', { enum: RULES }),
        q('severity', 'Keep one severity.', { enum: ['error', 'warning'] }),
        q('team', 'An owner ref (bare names mean group:default/NAME): findings about it or naming it among their teams.'),
      ],
      responses: {
        200: json('Findings', { type: 'object', required: ['findings', 'summary', 'congruence', 'fan', 'components', 'edges', 'cycles', 'thresholds'], properties: {
          findings: { type: 'array', items: finding },
          summary: { type: 'object', required: ['error', 'warning', 'silenced', 'total', 'byRule'], properties: { error: int, warning: int, silenced: int, total: int, byRule: { type: 'object', additionalProperties: int } } },
          congruence: { type: 'object', required: ['edges', 'crossTeamEdges', 'crossTeamShare', 'congruence', 'teams'], properties: {
            edges: { ...int, description: 'Dependencies between owned components.' }, crossTeamEdges: int, crossTeamShare: num,
            congruence: { ...num, description: 'Conway congruence: 1 - crossTeamShare.' },
            teams: { type: 'array', items: { type: 'object', properties: { team: str, components: int, edges: int, crossTeamEdges: int, share: num, systems: int, domains: int } } },
          } },
          fan: { type: 'object', properties: { inP95: int, outP95: int, floor: int } },
          components: int, edges: int, cycles: int,
          thresholds: { type: 'object', properties: { datastoreTypes: strs, crossTeamThreshold: num, teamSpread: int, fanFloor: int, fanPercentile: int, severities: { type: 'object', additionalProperties: { enum: ['default', 'off', 'warning', 'error'] } } } },
        } }),
        ...errors(400, 401, 403),
      },
    },
  },
  '/api/v1/graph': {
    get: {
      operationId: 'getDependencyGraph', tags: ['insights'], security: readSec,
      summary: 'The dependency graph of a scope: nodes (components, APIs, resources) with owner, system and lifecycle, typed edges, and the findings that name them, as JSON, Graphviz DOT or SVG drawn by the server.',
      parameters: [
        q('scope', '"org" (the default) or an entity ref: a component, API or resource, a system, a domain (through its systems) or an owner (what it owns). A bare name means a component.'),
        q('depth', 'Also every node within this many edges of the scope, either direction (default 1).', { type: 'integer', minimum: 0, maximum: 10 }),
        q('format', 'json (default), dot or svg. svg draws at most 400 nodes.', { enum: ['json', 'dot', 'svg'] }),
      ],
      responses: {
        200: {
          description: 'The graph',
          content: {
            'application/json': { schema: { type: 'object', required: ['nodes', 'edges', 'findings', 'scope', 'depth'], properties: { nodes: { type: 'array', items: node }, edges: { type: 'array', items: edge }, findings: { type: 'array', items: finding }, scope: str, depth: int } } },
            'text/vnd.graphviz': { schema: str },
            'image/svg+xml': { schema: str },
          },
        },
        ...errors(400, 401, 403, 404, 413, 503),
        501: { description: 'format=svg on a conway built without Graphviz', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    },
  },
};
