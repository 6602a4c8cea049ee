// openapi-tokens.mjs — OpenAPI paths of API tokens over the API
// (src/http/api_tokens.c; `conway token --server`), merged into the
// document by docs/openapi.mjs. The rules: docs/api.md "Tokens".
const errors = (...codes) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const json = (description, schema) => ({ description, content: { 'application/json': { schema } } });
const adminSec = [{ bearer: [] }];
const roles = ['viewer', 'ingest', 'editor', 'admin'];

const Token = {
  type: 'object', required: ['id', 'name', 'role', 'team', 'created', 'lastUsed', 'sources', 'status'],
  properties: {
    id: { type: 'integer' }, name: { type: 'string' }, role: { enum: roles },
    team: { type: ['string', 'null'], description: 'The group an editor or ingest token is limited to (a group key).' },
    created: { type: 'string', format: 'date-time' },
    lastUsed: { type: ['string', 'null'], format: 'date-time', description: 'Recorded in the background, about a minute\'s precision.' },
    sources: { type: 'array', items: { type: 'string' }, description: 'context.source prefixes the token may send events under; empty: any.' },
    status: { enum: ['active', 'revoked'] },
  },
};

export const paths = {
  '/api/v1/tokens': {
    get: { operationId: 'listTokens', tags: ['admin'], security: adminSec, summary: 'API tokens, revoked ones too (admin). Never a secret or its hash.',
      responses: { 200: json('Tokens', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: Token } } }), ...errors(400, 401, 403) } },
    post: { operationId: 'createToken', tags: ['admin'], security: adminSec, summary: 'Create an API token (admin), as `conway token create` does; the answer holds its secret, shown this once (Cache-Control: no-store). Audited as token.create.',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['role'], additionalProperties: false, properties: {
        role: { enum: roles }, name: { type: 'string', minLength: 1, maxLength: 127, description: 'Default: the role.' },
        team: { type: 'string', description: 'A group ref (editor and ingest tokens only); must be in the catalog unless allowMissingTeam.' },
        allowMissingTeam: { type: 'boolean', default: false },
        sources: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1 }, description: 'context.source prefixes (ingest and editor tokens only), 1,022 characters in all.' } } } } } },
      responses: { 201: json('Created', { ...Token, required: [...Token.required, 'secret'], properties: { ...Token.properties, secret: { type: 'string', description: 'The bearer token: cw_ and 43 base64url characters. Shown this once.' } } }), ...errors(400, 401, 403, 413, 415, 422) } },
  },
  '/api/v1/tokens/{id}': {
    delete: { operationId: 'revokeToken', tags: ['admin'], security: adminSec, summary: 'Revoke a token (admin): refused at once from then on, also on this running server. Audited as token.revoke.',
      parameters: [{ name: 'id', in: 'path', required: true, description: 'The token id (GET /api/v1/tokens).', schema: { type: 'string' } }],
      responses: { 204: { description: 'Revoked' }, ...errors(401, 403, 404) } },
  },
};
