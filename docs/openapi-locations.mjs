// openapi-locations.mjs — OpenAPI paths of Backstage's location API and
// conway's location state (src/http/api_locations.c), merged into the
// document by docs/openapi.mjs. How fetching works: docs/catalog.md.
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const p = (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const readSec = [{ bearer: [] }, {}];
const writeSec = [{ bearer: [] }];
const dateTime = { type: 'string', format: 'date-time' };
const Location = { type: 'object', required: ['id', 'type', 'target'], properties: { id: { type: 'string' }, type: { type: 'string' }, target: { type: 'string' } } };

export const paths = {
  '/api/catalog/locations': {
    post: { operationId: 'backstageAddLocation', tags: ['backstage'], security: writeSec,
      summary: 'Backstage: register a url location (editor). It gets a generated Location entity and is fetched at once, then every --refresh-interval, when --fetch-allow admits it.',
      parameters: [{ name: 'dryRun', in: 'query', required: false, description: 'Not supported: only false.', schema: { type: 'string' } }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['target'], properties: { type: { const: 'url' }, target: { type: 'string' } } } } } },
      responses: { 201: json('Registered', { type: 'object', properties: { location: Location, entities: { type: 'array', items: { type: 'object' } } } }), ...errors(400, 401, 403, 409, 413) } },
    get: { operationId: 'backstageGetLocations', tags: ['backstage'], security: readSec, summary: 'Backstage: every location.',
      responses: { 200: json('Locations', { type: 'array', items: { type: 'object', properties: { data: Location } } }), ...errors(401, 403) } },
  },
  '/api/catalog/locations/{id}': {
    get: { operationId: 'backstageGetLocation', tags: ['backstage'], security: readSec, summary: 'Backstage: one location.', parameters: [p('id', 'Location id.')],
      responses: { 200: json('The location', Location), ...errors(401, 403, 404) } },
    delete: { operationId: 'backstageRemoveLocation', tags: ['backstage'], security: writeSec,
      summary: 'Backstage: remove a location (editor); the entities only it provided become orphans (or are deleted with --delete-orphans).',
      parameters: [p('id', 'Location id.')], responses: { 204: { description: 'Removed' }, ...errors(401, 403, 404) } },
  },
  '/api/catalog/locations/by-entity/{kind}/{namespace}/{name}': {
    get: { operationId: 'backstageGetLocationByEntity', tags: ['backstage'], security: readSec, summary: 'Backstage: the location an entity came from.',
      parameters: [p('kind', 'Entity kind.'), p('namespace', 'Namespace.'), p('name', 'Name.')],
      responses: { 200: json('The location', Location), ...errors(400, 401, 403, 404) } },
  },
  '/api/catalog/refresh': {
    post: { operationId: 'backstageRefreshEntity', tags: ['backstage'], security: writeSec,
      summary: 'Backstage: fetch again, now, the url locations an entity came from (and, for a Location entity, its targets).',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['entityRef'], properties: { entityRef: { type: 'string' }, authorizationToken: { type: 'string' } } } } } },
      responses: { 200: json('Scheduled', { type: 'object', properties: { entityRef: { type: 'string' }, locations: { type: 'integer' } } }), ...errors(400, 401, 403, 404, 413) } },
  },
  '/api/v1/locations': {
    get: { operationId: 'listLocations', tags: ['catalog'], security: readSec,
      summary: 'Every location with its fetch state: status ok, error, not-allowed ("fetching is not allowed for this URL"), pending, or file (imported by the CLI).',
      responses: { 200: json('Locations', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { type: 'object', properties: {
        ...Location.properties, origin: { enum: ['api', 'entity', 'cli'] }, status: { enum: ['pending', 'ok', 'error', 'not-allowed', 'file'] },
        error: { type: ['string', 'null'] }, failures: { type: 'integer', description: 'Failed fetches in a row.' },
        fetchedAt: { oneOf: [dateTime, { type: 'null' }] }, lastSuccessAt: { oneOf: [dateTime, { type: 'null' }] }, nextFetchAt: { oneOf: [dateTime, { type: 'null' }] } } } } } }), ...errors(401, 403) } },
  },
};
