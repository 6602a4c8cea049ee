// openapi.mjs — the source of conway's OpenAPI 3.1 document. Run
// `node docs/openapi.mjs` to regenerate src/ui/openapi.json (embedded in the
// binary and served at /api/v1/openapi.json). A unit test checks that every
// route the server registers is described here, so the two cannot drift.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ref = (name) => ({ $ref: `#/components/schemas/${name}` });
const problem = (description) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const q = (name, description, schema = { type: 'string' }, extra = {}) => ({ name, in: 'query', required: false, description, schema, ...extra });
const p = (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const entityPath = [p('kind', 'Entity kind, any case (component, Component).'), p('namespace', 'Namespace, usually default.'), p('name', 'Entity name, any case.')];
const readSec = [{ bearer: [] }, {}];
const writeSec = [{ bearer: [] }];

export const paths = {
  '/healthz': { get: { operationId: 'healthz', summary: 'Liveness: the process answers.', security: [], tags: ['meta'], responses: { 200: json('Alive', { type: 'object' }) } } },
  '/readyz': { get: { operationId: 'readyz', summary: 'Readiness: the database (and broker, when configured) answer.', security: [], tags: ['meta'], responses: { 200: json('Ready', { type: 'object' }), ...errors(503) } } },
  '/metrics': { get: { operationId: 'metrics', summary: 'Prometheus metrics (text exposition format 0.0.4).', security: [], tags: ['meta'], responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  '/api/v1/openapi.json': { get: { operationId: 'openapi', summary: 'This document.', security: [], tags: ['meta'], responses: { 200: json('OpenAPI document', { type: 'object' }) } } },
  '/api/v1/entities': {
    get: {
      operationId: 'listEntities', tags: ['catalog'], security: readSec,
      summary: 'List entities with filters and cursor paging (ordered by kind, namespace, name).',
      parameters: [
        q('kind', 'Entity kind (repeat for any of several).'), q('namespace', 'Namespace.'),
        q('owner', 'Owner ref; bare names mean group:default/NAME.'), q('system', 'System ref the entity is part of.'),
        q('type', 'spec.type'), q('lifecycle', 'spec.lifecycle'), q('tag', 'A tag the entity carries.'),
        q('q', 'Case-insensitive text in name, title or description.', { type: 'string', maxLength: 200 }),
        q('limit', 'Page size; a page also ends once its body passes 4 MiB (follow nextCursor until null).', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
        q('cursor', 'nextCursor of the previous page.'),
      ],
      responses: { 200: json('A page of entities', ref('EntityPage')), ...errors(400, 401, 403) },
    },
  },
  '/api/v1/entities/{kind}/{namespace}/{name}': {
    parameters: entityPath,
    get: { operationId: 'getEntity', tags: ['catalog'], security: readSec, summary: 'Read one entity with its relations.',
      parameters: [{ name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } }],
      responses: { 200: { ...json('The entity', ref('Entity')), headers: { ETag: { schema: { type: 'string' } } } }, 304: { description: 'Not modified' }, ...errors(401, 403, 404) } },
    put: { operationId: 'putEntity', tags: ['catalog'], security: writeSec, summary: 'Create or replace an entity (validated with Backstage rules).',
      description: 'A team-scoped token writes only the kinds a team owns, owned by its team before and after (403), and no write of it may make two Components claim one link key (409, with conflictsWith and linkKey).',
      parameters: [{ name: 'If-Match', in: 'header', required: false, description: 'ETag the stored entity must still have.', schema: { type: 'string' } }],
      requestBody: { required: true, content: { 'application/json': { schema: ref('Entity') } } },
      responses: { 200: json('Updated or unchanged', ref('Entity')), 201: json('Created', ref('Entity')), ...errors(400, 401, 403, 409, 412, 413, 422) } },
    delete: { operationId: 'deleteEntity', tags: ['catalog'], security: writeSec, summary: 'Delete an entity.',
      parameters: [{ name: 'If-Match', in: 'header', required: false, schema: { type: 'string' } }],
      responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 412) } },
  },
  '/api/v1/import': {
    post: { operationId: 'importEntities', tags: ['catalog'], security: writeSec,
      summary: 'Import entities from multi-document YAML or JSON (one entity or an array). Valid ones are stored, invalid ones reported.',
      requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: {} } } },
      responses: { 200: json('All imported', ref('ImportReport')), 422: json('Some documents were rejected (the others imported); when every document is rejected the answer is application/problem+json with the report\'s members (errors, imported, ...) as extension members', ref('ImportReport')), ...errors(400, 401, 403, 409, 413) } },
  },
};

const backstagePaths = {
  '/api/catalog/entities': { get: { operationId: 'backstageGetEntities', tags: ['backstage'], security: readSec, summary: 'Backstage: list entities (array). Without limit, the whole catalog: the answer is streamed (chunked transfer encoding) as the client reads it.',
    parameters: [q('filter', 'Backstage filter: key=value,key2 (AND); repeat for OR.'), q('fields', 'Comma-separated dotted fields to return.'), q('limit', 'Max items.', { type: 'integer', minimum: 0 }), q('offset', 'Items to skip.', { type: 'integer', minimum: 0 }), q('after', 'Cursor.'), q('order', 'One sort field: asc:FIELD or desc:FIELD.')],
    responses: { 200: json('Entities', { type: 'array', items: ref('Entity') }), ...errors(400, 401, 403) } } },
  '/api/catalog/entities/by-name/{kind}/{namespace}/{name}': { parameters: entityPath, get: { operationId: 'backstageGetEntityByName', tags: ['backstage'], security: readSec, summary: 'Backstage: one entity by name.', responses: { 200: json('The entity', ref('Entity')), ...errors(401, 403, 404) } } },
  '/api/catalog/entities/by-uid/{uid}': { parameters: [p('uid', 'metadata.uid')], get: { operationId: 'backstageGetEntityByUid', tags: ['backstage'], security: readSec, summary: 'Backstage: one entity by uid.', responses: { 200: json('The entity', ref('Entity')), ...errors(401, 403, 404) } } },
  '/api/catalog/entities/by-query': { get: { operationId: 'backstageQueryEntities', tags: ['backstage'], security: readSec, summary: 'Backstage: cursor-paged query.',
    parameters: [q('filter', 'Backstage filter.'), q('fields', 'Fields to return.'), q('limit', 'Page size (default 20, at most 1000); a page also ends once its body passes 4 MiB, with pageInfo.nextCursor.', { type: 'integer', minimum: 1 }), q('offset', 'Items to skip.', { type: 'integer', minimum: 0 }), q('orderField', 'FIELD,asc|desc'), q('fullTextFilterTerm', 'Text to search.'), q('fullTextFilterFields', 'Fields searched.'), q('cursor', 'pageInfo.nextCursor or prevCursor.'), q('totalItems', 'exclude to skip counting.')],
    responses: { 200: json('A page', { type: 'object', properties: { items: { type: 'array', items: ref('Entity') }, totalItems: { type: 'integer' }, pageInfo: { type: 'object', properties: { nextCursor: { type: 'string' }, prevCursor: { type: 'string' } } } } }), ...errors(400, 401, 403) } } },
  '/api/catalog/entities/by-refs': { post: { operationId: 'backstageGetEntitiesByRefs', tags: ['backstage'], security: readSec, summary: 'Backstage: entities by refs, in request order (null when missing).',
    parameters: [q('filter', 'Backstage filter.')],
    requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['entityRefs'], properties: { entityRefs: { type: 'array', items: { type: 'string' } }, fields: { type: 'array', items: { type: 'string' } } } } } } },
    responses: { 200: json('Items', { type: 'object', properties: { items: { type: 'array', items: { oneOf: [ref('Entity'), { type: 'null' }] } } } }), ...errors(400, 401, 403) } } },
  '/api/catalog/entity-facets': { get: { operationId: 'backstageEntityFacets', tags: ['backstage'], security: readSec, summary: 'Backstage: distinct values with counts.',
    parameters: [q('facet', 'A dotted field (repeat).'), q('filter', 'Backstage filter.')],
    responses: { 200: json('Facets', { type: 'object', properties: { facets: { type: 'object', additionalProperties: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' }, count: { type: 'integer' } } } } } } }), ...errors(400, 401, 403) } } },
};

// Routes added by later features register here (see docs/openapi-*.mjs).
const extra = {};
for (const mod of ['events', 'insights', 'responsibilities', 'ops', 'hooks', 'locations', 'incidents', 'heartbeats', 'strategy', 'architecture', 'scorecards', 'initiatives', 'tokens']) {
  try { Object.assign(extra, (await import(`./openapi-${mod}.mjs`)).paths); } catch (e) { if (e.code !== 'ERR_MODULE_NOT_FOUND') throw e; }
}

// One pagination shape (docs/api.md): lists built whole in memory take limit
// and cursor and answer nextCursor and totalItems beside their array.
const PAGED = {
  '/api/v1/heartbeats': ['items', 1000, 1000, true], '/api/v1/heartbeats/deliveries': ['items', 100, 1000, false],
  '/api/v1/tokens': ['items', 1000, 1000, true],
  '/api/v1/hooks': ['items', 1000, 1000, true], '/api/v1/hooks/{id}/deliveries': ['items', 50, 500, true],
  '/api/v1/locations': ['items', 1000, 1000, true], '/api/v1/metrics': ['items', 1000, 1000, true],
  '/api/v1/insights/ownership': ['findings', 100000, 100000, true], '/api/v1/insights/architecture': ['findings', 100000, 100000, true],
};
for (const [path, [key, def, max, counted]] of Object.entries(PAGED)) {
  const get = extra[path]?.get;
  if (!get) continue;
  get.parameters = (get.parameters || []).filter((p) => p.name !== 'limit' && p.name !== 'cursor');
  get.parameters.push({ name: 'limit', in: 'query', required: false, description: 'Items per page.', schema: { type: 'integer', minimum: 1, maximum: max, default: def } },
    { name: 'cursor', in: 'query', required: false, description: 'nextCursor of the previous page, as it is.', schema: { type: 'string' } });
  const schema = get.responses?.[200]?.content?.['application/json']?.schema;
  if (schema?.properties) {
    schema.properties.nextCursor = { type: ['string', 'null'], description: 'The next page, or null on the last.' };
    if (counted) schema.properties.totalItems = { type: 'integer', description: `Every ${key === 'items' ? 'item' : key.replace(/s$/, '')} of the list, on all pages.` };
    if (path === '/api/v1/metrics') schema.properties.items = schema.properties.names;
  }
}
const evGet = extra['/api/v1/events']?.get;
for (const p of evGet?.parameters || []) {
  if (p.name === 'type') p.description = 'Prefix of context.type, e.g. dev.cdevents.service; short CDEvents types mean the same (service, incident.detected).';
  if (p.name === 'service') p.description = 'Events linked to this entity (a Component, or every Component of a System or Group and its descendant groups), or a bare service id as events name it (subject.content.service.id) when no Component has that name.';
}

const doc = {
  openapi: '3.1.0',
  info: { title: 'conway API', version: '0.1.0', description: 'Service catalog, ownership, delivery feedback and architecture drift for organisations running microservices. Errors are RFC 9457 problem details.', license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  tags: [{ name: 'meta' }, { name: 'catalog' }, { name: 'backstage' }, { name: 'events' }, { name: 'insights' }, { name: 'responsibilities' }, { name: 'incidents' }, { name: 'heartbeats' }, { name: 'strategy' }, { name: 'scorecards' }, { name: 'admin' }],
  paths: { ...paths, ...backstagePaths, ...extra },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from `conway token create`.' } },
    responses: Object.fromEntries([400, 401, 403, 404, 409, 412, 413, 415, 422, 503].map((c) => [`E${c}`, problem(`Problem (${c})`)])),
    schemas: {
      Problem: { type: 'object', description: 'RFC 9457 problem details.', properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer', minimum: 100, maximum: 599 }, detail: { type: 'string', description: 'Names the offending field or parameter.' }, instance: { type: 'string' } }, required: ['type', 'title', 'status'] },
      Relation: { type: 'object', properties: { type: { type: 'string' }, targetRef: { type: 'string' }, target: { type: 'object', properties: { kind: { type: 'string' }, namespace: { type: 'string' }, name: { type: 'string' } } } }, required: ['type', 'targetRef'] },
      Entity: { type: 'object', description: 'A Backstage-format entity.', required: ['apiVersion', 'kind', 'metadata'], properties: {
        apiVersion: { type: 'string' }, kind: { type: 'string' },
        metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, namespace: { type: 'string' }, title: { type: 'string' }, description: { type: 'string' }, labels: { type: 'object', additionalProperties: { type: 'string' } }, annotations: { type: 'object', additionalProperties: { type: 'string' } }, tags: { type: 'array', items: { type: 'string' } }, links: { type: 'array', items: { type: 'object', properties: { url: { type: 'string' }, title: { type: 'string' } }, required: ['url'] } }, uid: { type: 'string', readOnly: true }, etag: { type: 'string', readOnly: true } } },
        spec: { type: 'object' }, relations: { type: 'array', readOnly: true, items: ref('Relation') } } },
      EntityPage: { type: 'object', required: ['items', 'totalItems', 'nextCursor'], properties: { items: { type: 'array', items: ref('Entity') }, totalItems: { type: 'integer' }, nextCursor: { type: ['string', 'null'] } } },
      ImportReport: { type: 'object', required: ['imported', 'unchanged', 'errors'], properties: { imported: { type: 'integer' }, created: { type: 'integer' }, updated: { type: 'integer' }, unchanged: { type: 'integer' }, errors: { type: 'array', items: { type: 'object', properties: { document: { type: 'integer', description: 'Index of the document, from 0.' }, entityRef: { type: ['string', 'null'] }, detail: { type: 'string' } } } } } },
    },
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'ui', 'openapi.json');
  writeFileSync(out, JSON.stringify(doc, null, 1) + '\n');
  console.log(`wrote ${out}`);
}
export default doc;
