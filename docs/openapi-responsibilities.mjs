// openapi-responsibilities.mjs — OpenAPI paths of the responsibilities
// routes (src/http/api_responsibilities.c): teams, effective RACI,
// ownership findings, CODEOWNERS checks and the audit log. Merged into the
// document by docs/openapi.mjs. Rules: docs/responsibilities.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const q = (name, description, schema = { type: 'string' }, extra = {}) => ({ name, in: 'query', required: false, description, schema, ...extra });
const p = (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const readSec = [{ bearer: [] }, {}];
const writeSec = [{ bearer: [] }];
const str = { type: 'string' };
const strs = { type: 'array', items: str };
const nullable = (schema) => ({ oneOf: [schema, { type: 'null' }] });

// the incident and postmortem rules (docs/incidents.md) share the answer
const RULES = ['action-overdue', 'action-owner-not-accountable', 'action-owner-unknown', 'incident-without-postmortem', 'link-key-conflict', 'no-accountable', 'orphan-user', 'owner-is-user', 'owner-missing', 'postmortem-without-actions', 'shared-resource-owner', 'team-overload', 'team-without-members'];

const finding = {
  type: 'object', required: ['rule', 'severity', 'entityRef', 'detail'],
  properties: {
    rule: { type: 'string', description: `One of ${RULES.join(', ')} (or codeowners-mismatch from a CODEOWNERS check).` },
    severity: { enum: ['error', 'warning'] },
    entityRef: str,
    detail: str,
    owner: { type: 'string', description: 'The entity\'s owner ref, when it has one.' },
    activities: { ...strs, description: 'no-accountable: the standard activities without an accountable.' },
    teams: { ...strs, description: 'shared-resource-owner: the owners of the components using the resource.' },
    actionItem: { type: 'object', description: 'action-*: the action item {id, title, owner, due, status, activity?, daysOverdue?}.' },
    incident: { type: 'object', description: 'incident-without-postmortem: {id, ref, title, severity, resolvedAt}.' },
    component: { type: 'string', description: 'action-owner-not-accountable: the component of the postmortem\'s incident.' },
  },
};

const actionItem = {
  type: 'object', required: ['postmortem', 'id', 'title', 'owner', 'due', 'status', 'overdue'],
  properties: { postmortem: str, id: str, title: str, owner: str, due: str, status: { enum: ['open', 'in-progress'] }, overdue: { type: 'boolean' }, daysOverdue: { type: 'integer' }, activity: str, issueUrl: str },
};

const comparisonRow = {
  type: 'object', required: ['entityRef', 'dora', 'groups', 'findings', 'findingErrors'],
  properties: {
    entityRef: str, title: str, type: { type: 'string', description: 'spec.type of the Group.' },
    dora: { type: 'object', description: 'deployments, deploymentFrequencyPerDay, leadTimeSeconds, changeFailureRate, failedDeployments, timeToRestoreSeconds, openIncidents and level of GET /api/v1/insights/dora with the group as scope.' },
    groups: { type: 'integer', description: 'The group and its descendant groups.' },
    findings: { type: 'integer', description: 'Ownership, incident and postmortem findings about the group or its descendants.' },
    findingErrors: { type: 'integer', description: 'Of which severity error.' },
  },
};

const person = nullable({ type: 'object', required: ['ref', 'exists', 'member'], properties: { ref: str, exists: { type: 'boolean' }, member: { type: 'boolean' }, displayName: str } });

const team = {
  type: 'object',
  required: ['entityRef', 'teamType', 'productManager', 'techLead', 'parent', 'members', 'owns', 'raci', 'load', 'findings', 'notes'],
  properties: {
    entityRef: str, title: str, description: str,
    teamType: { type: ['string', 'null'], description: 'Annotation conway.dev/team-type: stream-aligned, platform, enabling or complicated-subsystem.' },
    productManager: { ...person, description: 'Annotation conway.dev/product-manager.' },
    techLead: { ...person, description: 'Annotation conway.dev/tech-lead.' },
    parent: { type: ['string', 'null'] },
    members: { type: 'array', items: { type: 'object', required: ['ref'], properties: { ref: str, displayName: str, email: str } } },
    owns: { type: 'object', description: 'Refs of the entities the team owns, by kind.', additionalProperties: strs },
    raci: { type: 'array', description: 'Every Responsibilities declaration naming the team.', items: { type: 'object', required: ['target', 'activity', 'roles', 'responsibilities'], properties: { target: str, activity: str, roles: { type: 'array', items: { enum: ['responsible', 'accountable', 'consulted', 'informed'] } }, responsibilities: str } } },
    load: {
      type: 'object', required: ['components', 'productionComponents', 'systems', 'maxComponentsPerTeam', 'overloaded', 'onCall', 'accountableActivities'],
      properties: {
        components: { type: 'integer' }, productionComponents: { type: 'integer' }, systems: { type: 'integer' },
        maxComponentsPerTeam: { type: 'integer' }, overloaded: { type: 'boolean', description: 'productionComponents > maxComponentsPerTeam' },
        onCall: { type: 'object', description: 'Production components whose incident-resolution the team is responsible or accountable for, after inheritance.', properties: { activity: { const: 'incident-resolution' }, count: { type: 'integer' }, components: strs } },
        accountableActivities: { type: 'integer', description: '(production component, standard activity) pairs the team is accountable for, after inheritance.' },
      },
    },
    findings: { type: 'array', items: finding, description: 'Ownership findings about the team, what it owns, or resources its components share.' },
    notes: { ...strs, description: 'Missing or doubtful team annotations; no members.' },
    actionItems: { type: 'array', items: actionItem, description: 'Postmortem action items still owed by the team or its members, overdue first, then by due date.' },
  },
};

const raciRow = {
  type: 'object', required: ['activity', 'responsible', 'accountable', 'source'],
  properties: {
    activity: str, responsible: strs, accountable: str, consulted: strs, informed: strs,
    source: { type: 'object', properties: { responsibilities: str, target: str, inherited: { type: 'boolean' } } },
  },
};

const auditRecord = {
  type: 'object', required: ['id', 'time', 'actor', 'tokenId', 'tokenName', 'action', 'entityRefs', 'requestId'],
  properties: {
    id: { type: 'integer' }, time: { type: 'string', format: 'date-time' },
    actor: { enum: ['token', 'cli', 'anonymous'] },
    tokenId: { type: ['integer', 'null'] }, tokenName: { type: ['string', 'null'] },
    action: { type: 'string', description: 'entity.create, entity.update, entity.delete, catalog.import, events.ingest, token.create, token.revoke, codeowners.check' },
    entityRefs: strs, requestId: { type: ['string', 'null'] },
    detail: { type: 'object', description: 'Extra facts of the action (e.g. the token created).' },
  },
};

export const paths = {
  '/api/v1/teams/{namespace}/{name}': {
    parameters: [p('namespace', 'Namespace of the Group.'), p('name', 'Name of the Group (spec.type team).')],
    get: {
      operationId: 'getTeam', tags: ['responsibilities'], security: readSec,
      summary: 'A team: members, product manager and tech lead, what it owns, its RACI roles, its load and the ownership findings that concern it.',
      responses: { 200: json('The team', team), ...errors(400, 401, 403, 404) },
    },
  },
  '/api/v1/teams/{namespace}/{name}/comparison': {
    parameters: [p('namespace', 'Namespace of the Group.'), p('name', 'Name of the Group.')],
    get: {
      operationId: 'compareTeams', tags: ['responsibilities'], security: readSec,
      summary: 'The child groups of a Group side by side: each rated on itself and its descendants (DORA headline figures over the window, ownership findings), and the group\'s own roll-up.',
      parameters: [
        q('from', 'Window start (RFC 3339). Default: 30 days before to.', { type: 'string', format: 'date-time' }),
        q('to', 'Window end, exclusive (RFC 3339). Default: now.', { type: 'string', format: 'date-time' }),
        q('failureWindowHours', 'As GET /api/v1/insights/dora.', { type: 'integer', minimum: 0, maximum: 8760, default: 24 }),
      ],
      responses: { 200: json('The comparison', { type: 'object', required: ['group', 'from', 'to', 'items', 'totalItems', 'nextCursor'], properties: {
        group: comparisonRow, from: str, to: str, items: { type: 'array', items: comparisonRow },
        totalItems: { type: 'integer' }, nextCursor: { type: 'null', description: 'Always null: every child group is in one page.' },
      } }), ...errors(400, 401, 403, 404) },
    },
  },
  '/api/v1/raci/{kind}/{namespace}/{name}': {
    parameters: [p('kind', 'component, system or domain.'), p('namespace', 'Namespace.'), p('name', 'Name.')],
    get: {
      operationId: 'getRaci', tags: ['responsibilities'], security: readSec,
      summary: 'The effective RACI matrix of a Component, System or Domain after inheritance (component, system, domain; per activity), with where each row came from.',
      responses: { 200: json('The matrix', { type: 'object', required: ['entityRef', 'activities', 'missing'], properties: { entityRef: str, activities: { type: 'array', items: raciRow }, missing: { ...strs, description: 'Standard activities nobody is accountable for.' } } }), ...errors(400, 401, 403, 404, 422) },
    },
  },
  '/api/v1/insights/ownership': {
    get: {
      operationId: 'getOwnershipFindings', tags: ['responsibilities'], security: readSec,
      summary: 'Ownership findings over the whole catalog, with the incident and postmortem findings (docs/incidents.md), sorted by rule then entity.',
      parameters: [
        q('rule', 'Keep one rule.', { enum: RULES }),
        q('severity', 'Keep one severity.', { enum: ['error', 'warning'] }),
        q('team', 'A group ref (bare names mean group:default/NAME): findings about the team, what it owns, and resources its components share; those of its descendant groups too.'),
        q('descendants', 'false: only the team itself, not its descendant groups.', { type: 'boolean', default: true }),
      ],
      responses: {
        200: json('Findings', { type: 'object', required: ['findings', 'summary', 'maxComponentsPerTeam', 'entities'], properties: {
          findings: { type: 'array', items: finding },
          summary: { type: 'object', required: ['error', 'warning', 'total'], properties: { error: { type: 'integer' }, warning: { type: 'integer' }, total: { type: 'integer' }, byRule: { type: 'object', additionalProperties: { type: 'integer' } } } },
          maxComponentsPerTeam: { type: 'integer', description: 'The team-overload threshold (serve --max-components-per-team).' },
          postmortemSeverity: { enum: ['critical', 'high', 'warning', 'low', 'info'], description: 'The incident-without-postmortem threshold (serve --postmortem-severity).' },
          postmortemDays: { type: 'integer', description: 'Days after resolution before an incident without postmortem is reported (serve --postmortem-days).' },
          entities: { type: 'integer', description: 'Entities checked.' },
        } }),
        ...errors(400, 401, 403),
      },
    },
  },
  '/api/v1/codeowners': {
    post: {
      operationId: 'checkCodeowners', tags: ['responsibilities'], security: writeSec,
      summary: 'Compares a GitHub CODEOWNERS file (the body) with the catalog owner of a component; reports codeowners-mismatch findings. Changes nothing in the catalog; recorded in the audit log. A team-scoped token may check only components its team owns.',
      parameters: [{ ...q('component', 'The component whose repository the file belongs to (bare names mean component:default/NAME).'), required: true }],
      requestBody: { required: true, content: { 'text/plain': { schema: { type: 'string', maxLength: 3145727 } } } },
      responses: {
        200: json('The comparison', { type: 'object', required: ['entityRef', 'rules', 'errors', 'rootOwners', 'rootLine', 'findings'], properties: {
          entityRef: str, rules: { type: 'integer' },
          errors: { type: 'array', items: { type: 'object', properties: { line: { type: 'integer' }, detail: str } } },
          errorsDropped: { type: 'integer' }, rootOwners: strs, rootLine: { type: ['integer', 'null'] },
          findings: { type: 'array', items: { ...finding, properties: { ...finding.properties, rootOwners: strs, line: { type: 'integer' } } } },
        } }),
        ...errors(400, 401, 403, 404, 413),
      },
    },
  },
  '/api/v1/audit': {
    get: {
      operationId: 'listAudit', tags: ['admin'], security: writeSec,
      summary: 'The audit log of every write, newest first (admin only). Records cannot be changed or deleted.',
      parameters: [
        q('action', 'Exact action, e.g. entity.update.'),
        q('tokenId', 'Records of one token.', { type: 'integer', minimum: 1 }),
        q('entityRef', 'Records touching this entity (kind:namespace/name, any case).'),
        q('from', 'Records at or after this time (RFC 3339).', { type: 'string', format: 'date-time' }),
        q('to', 'Records before this time (RFC 3339).', { type: 'string', format: 'date-time' }),
        q('limit', 'Page size; a page also ends once its body passes 4 MiB (follow nextCursor until null).', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
        q('cursor', 'nextCursor of the previous page.'),
      ],
      responses: { 200: json('A page of records', { type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: auditRecord }, nextCursor: { type: ['string', 'null'] } } }), ...errors(400, 401, 403) },
    },
  },
};
