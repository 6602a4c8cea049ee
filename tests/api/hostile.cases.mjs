// hostile.cases.mjs — the table of hostile requests that hostile.test.mjs
// sends, as raw HTTP/1.1 bytes, to a running server. Each case says what
// the server must answer: the status (or statuses, when either is a clean
// answer) and a pattern the problem's `detail` must match.
//
// Case fields:
//   name        what is being tried (the test's name)
//   method      default GET
//   path        request target; a string sent as latin1 bytes, so '\xff'
//               is the raw byte 0xFF (not percent-encoded)
//   token       'admin' | 'editor' | 'viewer' | 'scoped' (an editor of
//               group:default/nobody-team) | 'scopedIngest' (an ingest token of
//               that team) | 'sourced' (an ingest token bound to the source
//               prefix /hostile-only/) | null (default 'admin'), or
//               { raw: 'Authorization header value' }
//   body        string (sent as UTF-8) or Buffer
//   type        Content-Type of the body (default application/json when a
//               body is given; null sends none)
//   headers     extra raw header lines
//   host        the Host header's value (default 127.0.0.1)
//   noLength    send no Content-Length of our own (headers may give one:
//               with body '' only the head is sent, announcing a body that
//               never comes, so the answer must come before any body)
//   chunked     send the body with Transfer-Encoding: chunked
//   status      expected status, or a list of acceptable statuses
//   detail      RegExp the problem+json detail must match (problem answers)
//   notProblem  the answer is not problem+json (libmicrohttpd's own answers)
//   bodyNot     RegExp the raw answer must NOT match
//   items       expected number of items of a successful list answer
//   expect100   send the headers with Expect: 100-continue and the body
//               only after "100 Continue" (as curl does for big bodies)
//   mayClose    a connection closed without an answer is accepted too
//               (an early answer to a client still sending can be lost
//               to the TCP reset that closing an unread socket causes)
//
// The server under test runs with --max-body 1048576 (1 MiB).

const ENTITY = (name, extra = {}) => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, ...(extra.metadata || {}) },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:default/hostile-team', ...(extra.spec || {}) },
  ...(extra.top || {}),
});
const J = (v) => JSON.stringify(v);
const PUT = '/api/v1/entities/component/default/hostile-x';
const put = (name, body, more = {}) => ({ name, method: 'PUT', path: PUT, body, ...more });
const imp = (name, body, more = {}) => ({ name, method: 'POST', path: '/api/v1/import', body, type: 'application/yaml', ...more });

// YAML bombs
function billionLaughs(levels = 9, width = 9) {
  const lines = ['lol0: &l0 "lol"'];
  for (let i = 1; i <= levels; i++) lines.push(`lol${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}
function deepFlow(n) { return '['.repeat(n) + ']'.repeat(n) + '\n'; }
function deepBlock(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ' '.repeat(i) + `k${i}:\n`;
  return s + ' '.repeat(n) + 'x\n';
}
function hugeAnchor(items = 60000, uses = 40) {
  return `big: &big [${Array(items).fill('x').join(',')}]\nuses: [${Array(uses).fill('*big').join(', ')}]\n`;
}
function aliasDepth(levels = 40) {
  // each level nests the previous one two deeper: depth grows past the limit only after expansion
  const lines = ['d0: &d0 [[x]]'];
  for (let i = 1; i <= levels; i++) lines.push(`d${i}: &d${i} [[*d${i - 1}]]`);
  return lines.join('\n') + '\n';
}
function mergeBomb(levels = 12) {
  const lines = ['m0: &m0 {a0: 1, b0: 2}'];
  for (let i = 1; i <= levels; i++) lines.push(`m${i}: &m${i} {<<: [*m${i - 1}, *m${i - 1}], k${i}: [*m${i - 1}, *m${i - 1}]}`);
  return lines.join('\n') + '\n';
}

const SQL = ["' OR 1=1 --", "x'); DROP TABLE entities; --", '" OR ""="', "%' OR '%'='", '*/ OR 1=1 /*', '\\', "';--", '1 UNION SELECT * FROM tokens'];

export function hostileCases() {
  const cases = [];

  // ---- malformed and truncated JSON ------------------------------------------------
  cases.push(
    put('truncated JSON object', '{"apiVersion":"backstage.io/v1alpha1","kind":"Comp', { status: 400, detail: /invalid JSON at line 1/ }),
    put('JSON cut after a key', '{"a":', { status: 400, detail: /invalid JSON/ }),
    put('empty JSON body', '', { status: 400, detail: /empty body/ }),
    put('whitespace-only JSON body', '   \n\t ', { status: 400, detail: /invalid JSON/ }),
    put('JSON null', 'null', { status: 400, detail: /JSON object/ }),
    put('JSON array instead of an entity', '[]', { status: 400, detail: /JSON object/ }),
    put('JSON string instead of an entity', '"Component"', { status: 400, detail: /JSON object/ }),
    put('trailing garbage after JSON', '{} {}', { status: 400, detail: /invalid JSON/ }),
    put('duplicate JSON keys', '{"kind":"Component","kind":"API"}', { status: 400, detail: /duplicate/ }),
    put('single-quoted JSON', "{'kind':'Component'}", { status: 400, detail: /invalid JSON/ }),
    put('NaN in JSON', '{"a": NaN}', { status: 400, detail: /invalid JSON/ }),
    put('number overflow in JSON', '{"a": 1e999999}', { status: 400, detail: /invalid JSON.*(overflow|range)/i }),
    put('byte order mark before JSON', '\ufeff' + J(ENTITY('hostile-x')), { status: 400, detail: /invalid JSON/ }),
    put('raw control character in a JSON string', '{"a":"x\u0001y"}', { status: 400, detail: /invalid JSON.*control character/ }),
    put('escaped NUL in a JSON string', '{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a\\u0000b"}}', { status: 400, detail: /u0000/ }),
    put('raw NUL byte inside JSON', Buffer.from('{"a":"x\u0000y"}'), { status: 400, detail: /invalid JSON/ }),
    put('lone surrogate escape in JSON', '{"a":"\\ud800"}', { status: 400, detail: /invalid JSON.*(Unicode|surrogate)/i }),
    put('invalid UTF-8 inside a JSON string', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), { status: 400, detail: /invalid JSON.*(UTF-8|byte)/i }),
    put('overlong UTF-8 encoding of "/"', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), { status: 400, detail: /invalid JSON/ }),
    put('JSON nested 100000 deep', '['.repeat(100000) + ']'.repeat(100000), { status: 400, detail: /invalid JSON.*depth/ }),
    put('entity with a spec nested 3000 deep', J(ENTITY('hostile-x')).replace('"type":"service"', '"type":"service","deep":' + '['.repeat(3000) + ']'.repeat(3000)), { status: 400, detail: /invalid JSON.*depth/ }),
    put('entity with annotations nested 60 deep', J(ENTITY('hostile-x', { metadata: { annotations: JSON.parse('{"a":'.repeat(60) + '1' + '}'.repeat(60)) } })), { status: 422, detail: /metadata\.annotations/ }),
  );

  // ---- wrong types and broken entities ----------------------------------------------
  cases.push(
    put('metadata.name is a number', J({ ...ENTITY('hostile-x'), metadata: { name: 5 } }), { status: 422, detail: /metadata\.name/ }),
    put('kind is an array', J({ ...ENTITY('hostile-x'), kind: ['Component'] }), { status: 422, detail: /kind/ }),
    put('spec is a string', J({ ...ENTITY('hostile-x'), spec: 'service' }), { status: 422, detail: /spec/ }),
    put('metadata is an array', J({ ...ENTITY('hostile-x'), metadata: [] }), { status: 422, detail: /metadata/ }),
    put('tags is a string', J(ENTITY('hostile-x', { metadata: { tags: 'java' } })), { status: 422, detail: /metadata\.tags/ }),
    put('label value is a number', J(ENTITY('hostile-x', { metadata: { labels: { a: 1 } } })), { status: 422, detail: /metadata\.labels/ }),
    put('apiVersion missing', J({ kind: 'Component', metadata: { name: 'hostile-x' }, spec: {} }), { status: 422, detail: /apiVersion/ }),
    put('owner is an object', J(ENTITY('hostile-x', { spec: { owner: { kind: 'Group' } } })), { status: 422, detail: /spec\.owner/ }),
    put('body names another entity than the URL', J(ENTITY('other-name')), { status: 400, detail: /not the one in the URL/ }),
    put('namespace with a slash', J(ENTITY('hostile-x', { metadata: { namespace: 'a/b' } })), { status: 422, detail: /metadata\.namespace/ }),
  );

  // ---- huge strings ------------------------------------------------------------------
  const longName = 'a'.repeat(100000);
  cases.push(
    put('entity name of 100000 characters', J(ENTITY(longName)), { status: 422, detail: /metadata\.name/ }),
    put('description larger than the body limit (client waits for 100-continue)', J(ENTITY('hostile-x', { metadata: { description: 'd'.repeat(2 << 20) } })), { expect100: true, status: 413, detail: /exceeds the limit of 1048576 bytes/ }),
    // a client that sends the whole body at once may see the connection reset
    // before it reads the early 413: both are clean refusals
    put('description larger than the body limit (client sends it all)', J(ENTITY('hostile-x', { metadata: { description: 'd'.repeat(2 << 20) } })), { status: 413, mayClose: true, detail: /exceeds the limit of 1048576 bytes/ }),
    { name: 'q of 5000 characters', path: `/api/v1/entities?q=${'x'.repeat(5000)}`, status: 400, detail: /'q': at most 200 characters/ },
    { name: 'path segment of 10000 characters', path: `/api/v1/entities/component/default/${longName.slice(0, 10000)}`, status: 404, detail: /no such resource/ },
    { name: 'Backstage filter of 60000 characters', path: `/api/catalog/entities?filter=kind=${'k'.repeat(60000)}`, status: [200, 400], items: 0 },
    { name: 'URL longer than the header limit', path: `/api/v1/entities?q=${'x'.repeat(70000)}`, status: [414, 431], notProblem: true },
  );

  // ---- NUL bytes and invalid UTF-8 outside bodies ----------------------------------
  cases.push(
    { name: 'NUL in a query value', path: '/api/v1/entities?kind=%00', status: 400, detail: /'kind' must not be empty/ },
    { name: 'NUL inside a query value', path: '/api/v1/entities?kind=comp%00onent', status: 200, items: 0 },
    { name: 'invalid UTF-8 in a query value', path: '/api/v1/entities?kind=%ff%fe', status: [200, 400], items: 0, detail: /'kind'.*UTF-8/ },
    { name: 'invalid UTF-8 in a ref-valued query value', path: '/api/v1/entities?owner=%ff%fe%c3', status: [200, 400], items: 0, detail: /'owner'/ },
    { name: 'invalid UTF-8 in a query parameter name', path: '/api/v1/entities?%ff%fe=1', status: 400, detail: /query parameter/ },
    { name: 'raw invalid UTF-8 bytes in the path', path: '/api/v1/entities/component/default/\xff\xfe', status: 400, detail: /path is not valid UTF-8/ },
    { name: 'percent-encoded invalid UTF-8 in an entity name', path: '/api/v1/entities/component/default/%ff%c3%28', status: 400, detail: /path is not valid UTF-8/ },
    put('invalid UTF-8 in the URL of a PUT', J(ENTITY('hostile-x')), { path: '/api/v1/entities/component/default/%ff', status: 400, detail: /path is not valid UTF-8/ }),
    { name: 'invalid UTF-8 in the URL of a DELETE', method: 'DELETE', path: '/api/v1/entities/component/%ff/x', status: 400, detail: /path is not valid UTF-8/ },
    put('invalid UTF-8 in If-Match', J(ENTITY('hostile-x')), { headers: ['If-Match: "\xff\xfe"'], status: 412, detail: /If-Match/ }),
    { name: 'invalid UTF-8 in If-Match of a DELETE', method: 'DELETE', path: '/api/v1/entities/component/default/hostile-none', headers: ['If-Match: \xff'], status: [404, 412], detail: /./ },
    { name: 'invalid UTF-8 in If-None-Match', path: '/api/v1/entities/group/default/team-a', headers: ['If-None-Match: \xff'], status: [200, 404], notProblem: 'maybe' },
    { name: 'invalid UTF-8 in X-Request-Id', path: '/api/v1/entities?limit=1', headers: ['X-Request-Id: \xff\xfe'], status: 200, items: 1 },
    { name: 'NUL in an entity name', path: '/api/v1/entities/component/default/a%00b', status: 404, detail: /does not exist/ },
    { name: 'invalid UTF-8 in a Backstage filter', path: '/api/catalog/entities?filter=kind=%ff%fe', status: [200, 400], items: 0, detail: /filter/ },
    { name: 'invalid UTF-8 in by-name', path: '/api/catalog/entities/by-name/component/default/%ff', status: 400, detail: /path is not valid UTF-8/ },
    { name: 'invalid UTF-8 in a by-uid', path: '/api/catalog/entities/by-uid/%ff%fe', status: 400, detail: /path is not valid UTF-8/ },
    { name: 'invalid UTF-8 in an unknown path', path: '/api/v1/%ff%fe', status: 404, detail: /no such resource/ },
    imp('NUL byte in a YAML import', 'apiVersion: backstage.io/v1alpha1\nkind: Component\0\n', { status: 400, detail: /NUL byte/ }),
    imp('invalid UTF-8 in a YAML import', Buffer.concat([Buffer.from('apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]), { status: 400, detail: /UTF-8/ }),
  );

  // ---- YAML: malformed, truncated, bombs --------------------------------------------
  cases.push(
    imp('truncated YAML flow sequence', 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [unclosed\n', { status: 400, detail: /line/ }),
    imp('YAML with a bad indentation', 'apiVersion: x\n  kind: Component\n metadata: 1\n', { status: 400, detail: /line/ }),
    imp('YAML indented with a tab', 'metadata:\n\tname: x\n', { status: 400, detail: /line/ }),
    imp('YAML cut inside a quoted string', 'apiVersion: "backstage.io/v1al', { status: 400, detail: /line/ }),
    imp('YAML alias to an undefined anchor', 'a: *nowhere\n', { status: 400, detail: /nowhere|alias|anchor/ }),
    imp('YAML billion laughs', billionLaughs(), { status: 413, detail: /aliases expand to too many nodes|more than 100000 nodes/ }),
    imp('YAML flow nesting 20000 deep', deepFlow(20000), { status: [400, 413], detail: /nesting deeper than 64|depth/ }),
    imp('YAML block nesting 200 deep', deepBlock(200), { status: 413, detail: /nesting deeper than 64/ }),
    imp('YAML huge anchor used 40 times', hugeAnchor(), { status: 413, detail: /too many nodes|more than 100000 nodes/ }),
    imp('YAML aliases nesting deeper than the limit', aliasDepth(), { status: 413, detail: /nesting deeper than 64/ }),
    imp('YAML merge-key bomb', mergeBomb(), { status: [400, 413], detail: /too many nodes|more than 100000 nodes|merge/ }),
    imp('YAML with 200000 empty documents', '---\n'.repeat(200000), { status: [200, 413, 422], detail: /documents|./ }),
    imp('JSON import nested 100 deep', '['.repeat(100) + ']'.repeat(100), { status: 413, detail: /deeper than 64/ }),
    imp('YAML python object tag', 'apiVersion: !!python/object/apply:os.system ["echo pwned"]\nkind: Component\nmetadata: {name: x}\n', { status: [400, 422], notProblem: 'maybe', detail: /apiVersion/ }),
    imp('empty import body', '', { status: 400, detail: /empty body/ }),
  );

  // ---- oversized bodies and headers --------------------------------------------------
  cases.push(
    put('Content-Length above the limit', 'x'.repeat((1 << 20) + 10), { expect100: true, status: 413, detail: /exceeds the limit/ }),
    put('chunked body above the limit', 'x'.repeat((1 << 20) + 10), { chunked: true, status: 413, mayClose: true, detail: /exceeds the limit/ }),
    put('Content-Length of 10^20', '', { headers: ['Content-Length: 100000000000000000000'], noLength: true, status: [400, 413], notProblem: 'maybe' }),
    put('negative Content-Length', '', { headers: ['Content-Length: -5'], noLength: true, status: 400, notProblem: true }),
    { name: 'one 70 KB header', headers: [`X-Big: ${'a'.repeat(70000)}`], path: '/api/v1/entities', status: 431, notProblem: true },
    { name: '3000 small headers', headers: Array.from({ length: 3000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}`), path: '/api/v1/entities', status: 431, notProblem: true },
    { name: 'a header line without a colon', headers: ['NoColonHere'], path: '/api/v1/entities', status: [200, 400], notProblem: 'maybe', items: 'any' },
  );

  // ---- judged by the head, before any body is read ---------------------------------
  // Each announces a body and sends none of it: the answer must not wait for it.
  const announce = (n) => ({ body: '', noLength: true, type: null, headers: [`Content-Length: ${n}`] });
  const SIXTEEN = 16 << 20;
  cases.push(
    { name: 'POST to /healthz announcing 16 MiB without a token', method: 'POST', path: '/healthz', token: null, ...announce(SIXTEEN), status: 405, detail: /not allowed/ },
    { name: 'POST to an unknown route announcing 16 MiB', method: 'POST', path: '/api/v1/nowhere', token: null, ...announce(SIXTEEN), status: 404, detail: /no such resource/ },
    put('write announcing 16 MiB without a token', '', { ...announce(SIXTEEN), token: null, status: 401, detail: /bearer token/ }),
    put('write announcing 16 MiB with an unknown token', '', { ...announce(SIXTEEN), token: { raw: 'Bearer cw_unknown' }, status: 401, detail: /unknown or revoked/ }),
    put('viewer write announcing 16 MiB', '', { ...announce(SIXTEEN), token: 'viewer', status: 403, detail: /needs 'editor'/ }),
    imp('viewer import announcing 16 MiB', '', { ...announce(SIXTEEN), token: 'viewer', status: 403, detail: /needs 'editor'/ }),
    put('entity announcing one byte more than 1 MiB', '', { ...announce((1 << 20) + 1), status: 413, detail: /exceeds the limit of 1048576 bytes/ }),
    imp('import announcing more than --max-body', '', { ...announce((1 << 20) + 1), status: 413, detail: /exceeds the limit of 1048576 bytes/ }),
    { name: 'events announcing more than --max-body', method: 'POST', path: '/api/v1/events', ...announce((1 << 20) + 1), status: 413, detail: /exceeds the limit of 1048576 bytes/ },
    { name: 'CODEOWNERS announcing more than --max-body', method: 'POST', path: '/api/v1/codeowners', ...announce((1 << 20) + 1), status: 413, detail: /exceeds the limit/ },
    { name: 'by-refs announcing more than 1 MiB', method: 'POST', path: '/api/catalog/entities/by-refs', ...announce((1 << 20) + 1), status: 413, detail: /exceeds the limit of 1048576 bytes/ },
    { name: 'GET announcing a body', path: '/api/v1/entities', ...announce(100), status: 413, detail: /takes no request body/ },
    { name: 'DELETE announcing a body', method: 'DELETE', path: PUT, ...announce(100), status: 413, detail: /takes no request body/ },
    { name: 'GET with a chunked body', path: '/api/v1/entities', body: '', noLength: true, type: null, headers: ['Transfer-Encoding: chunked'], status: 413, detail: /takes no request body/ },
    imp('import without Content-Length', '', { noLength: true, status: 411, detail: /Content-Length/ }),
    { name: 'events without Content-Length', method: 'POST', path: '/api/v1/events', body: '', noLength: true, status: 411, detail: /Content-Length/ },
    put('entity without Content-Length', '', { noLength: true, status: 411, detail: /Content-Length/ }),
    put('two different Content-Length headers', '{}', { noLength: true, headers: ['Content-Length: 2', 'Content-Length: 5'], status: 400, detail: /two different Content-Length headers \(2 and 5\)/ }),
    put('two different Content-Length headers, the first larger', '{}xyz', { noLength: true, headers: ['Content-Length: 5', 'Content-Length: 2'], status: 400, detail: /two different Content-Length/ }),
    put('Content-Length and Transfer-Encoding together', '', { noLength: true, headers: ['Content-Length: 2', 'Transfer-Encoding: chunked'], status: 400, detail: /both Content-Length and Transfer-Encoding/ }),
    put('Transfer-Encoding gzip', '', { noLength: true, headers: ['Transfer-Encoding: gzip'], status: 400, detail: /not supported/ }),
    { name: 'two Host headers', path: '/healthz', token: null, headers: ['Host: localhost'], status: 400, detail: /more than one Host header/ },
  );

  // ---- Host names (the server under test listens on 127.0.0.1) -----------------------
  cases.push(
    { name: 'Host of a rebinding attacker', path: '/api/v1/entities', host: 'rebind.attacker.example', status: 421, detail: /not a name of this server/ },
    { name: 'Host of a rebinding attacker with a port', path: '/healthz', token: null, host: 'rebind.attacker.example:7700', status: 421, detail: /not a name of this server/ },
    { name: 'Host that resolves to 127.0.0.1 through DNS', path: '/healthz', token: null, host: '127.0.0.1.nip.io', status: 421, detail: /--allowed-host/ },
    { name: 'Host localhost.example.com', path: '/healthz', token: null, host: 'localhost.example.com', status: 421, detail: /not a name/ },
    { name: 'Host that is not a name', path: '/healthz', token: null, host: 'a b/c', status: 421, detail: /not a name/ },
    { name: 'Host localhost', path: '/api/v1/entities?limit=1', host: 'localhost', status: 200, items: 1 },
    { name: 'Host LOCALHOST with a port', path: '/healthz', token: null, host: 'LOCALHOST:7700', status: 200 },
    { name: 'Host 127.0.0.1 with another port', path: '/healthz', token: null, host: '127.0.0.1:80', status: 200 },
    { name: 'Host [::1] with a port', path: '/healthz', token: null, host: '[::1]:7700', status: 200 },
  );

  // ---- public routes ignore Authorization ---------------------------------------------
  for (const path of ['/healthz', '/readyz', '/metrics', '/api/v1/openapi.json']) {
    cases.push(
      { name: `stale token on ${path}`, path, token: { raw: 'Bearer cw_stale-token-from-last-year' }, status: 200 },
      { name: `Basic credentials on ${path}`, path, token: { raw: 'Basic YWRtaW46YWRtaW4=' }, status: 200 },
    );
  }

  // ---- content types and methods -----------------------------------------------------
  cases.push(
    put('entity sent as text/xml', J(ENTITY('hostile-x')), { type: 'text/xml', status: 415, detail: /Content-Type/ }),
    put('entity sent as a form', J(ENTITY('hostile-x')), { type: 'application/x-www-form-urlencoded', status: 415, detail: /Content-Type/ }),
    imp('import sent as multipart', 'apiVersion: x\n', { type: 'multipart/form-data; boundary=x', status: 415, detail: /Content-Type/ }),
    imp('import sent as octet-stream', 'apiVersion: x\n', { type: 'application/octet-stream', status: 415, detail: /Content-Type/ }),
    { name: 'PATCH on an entity', method: 'PATCH', path: PUT, body: '{}', status: 405, detail: /not allowed/ },
    { name: 'POST on the list', method: 'POST', path: '/api/v1/entities', body: '{}', status: 405, detail: /not allowed/ },
    { name: 'an unknown method', method: 'BREW', path: '/api/v1/entities', status: [400, 405, 501], notProblem: 'maybe' },
  );

  // ---- path traversal ------------------------------------------------------------------
  cases.push(
    { name: 'encoded ../ in an entity name', path: '/api/v1/entities/component/default/..%2F..%2F..%2Fetc%2Fpasswd', status: 404, detail: /no such resource/, bodyNot: /root:/ },
    { name: 'encoded ../ in by-name', path: '/api/catalog/entities/by-name/component/default/..%2f..%2fetc%2fpasswd', status: 404, bodyNot: /root:/ },
    put('entity named ".."', J(ENTITY('..')), { path: '/api/v1/entities/component/default/..', status: [400, 404, 422], detail: /./ }),
    { name: 'UI path with ../', path: '/../../../../etc/passwd', status: [200, 404], bodyNot: /root:/, notProblem: 'maybe' },
    { name: 'UI asset path with encoded ../', path: '/js/..%2f..%2f..%2f..%2fetc%2fpasswd', status: [200, 404], bodyNot: /root:/, notProblem: 'maybe' },
    { name: 'namespace ".." in the URL', path: '/api/v1/entities/component/../hostile-x', status: 404, detail: /./ },
  );

  // ---- SQL metacharacters in every filter -------------------------------------------
  for (const v of SQL) {
    const e = encodeURIComponent(v);
    for (const p of ['kind', 'namespace', 'type', 'lifecycle', 'tag']) {
      cases.push({ name: `SQL in ${p}: ${v}`, path: `/api/v1/entities?${p}=${e}`, status: 200, items: 0 });
    }
    for (const p of ['owner', 'system']) {
      cases.push({ name: `SQL in ${p}: ${v}`, path: `/api/v1/entities?${p}=${e}`, status: [200, 400], items: 0, detail: new RegExp(`'${p}'`) });
    }
    cases.push(
      { name: `SQL in q: ${v}`, path: `/api/v1/entities?q=${e}`, status: 200, items: 0 },
      { name: `SQL in a Backstage filter value: ${v}`, path: `/api/catalog/entities?filter=kind=${e}`, status: [200, 400], items: 0 },
      { name: `SQL in a Backstage filter key: ${v}`, path: `/api/catalog/entities?filter=${e}=x`, status: [200, 400], items: 0 },
      { name: `SQL in fullTextFilterTerm: ${v}`, path: `/api/catalog/entities/by-query?fullTextFilterTerm=${e}`, status: [200, 400], items: 0 },
      { name: `SQL in orderField: ${v}`, path: `/api/catalog/entities/by-query?orderField=${e},asc`, status: [200, 400], items: 'any' },
      { name: `SQL in a facet: ${v}`, path: `/api/catalog/entity-facets?facet=${e}`, status: [200, 400] },
      { name: `SQL in fields: ${v}`, path: `/api/catalog/entities?fields=${e}`, status: [200, 400], items: 'any' },
    );
  }
  cases.push(
    { name: 'LIKE wildcard % in q', path: '/api/v1/entities?q=%25', status: 200, items: 0 },
    { name: 'LIKE wildcard _ in q', path: '/api/v1/entities?q=_', status: 200, items: 0 },
    { name: 'LIKE wildcards in fullTextFilterTerm', path: '/api/catalog/entities/by-query?fullTextFilterTerm=%25_%25', status: 200, items: 0 },
  );

  // ---- unknown query parameters, bad paging --------------------------------------------
  cases.push(
    { name: 'unknown query parameter', path: '/api/v1/entities?bogus=1', status: 400, detail: /unknown query parameter 'bogus'/ },
    { name: 'query parameter on a route that takes none', path: '/api/v1/entities/component/default/x?fields=a', status: 400, detail: /unknown query parameter 'fields'/ },
    { name: '65 query parameters', path: '/api/v1/entities?' + Array.from({ length: 65 }, () => 'kind=a').join('&'), status: 400, detail: /too many query parameters/ },
    { name: 'cursor that is not base64', path: '/api/v1/entities?cursor=!!!', status: 400, detail: /cursor/ },
    { name: 'cursor with a forged key', path: `/api/v1/entities?cursor=${Buffer.from("k1:' OR 1=1 --").toString('base64url')}`, status: 400, detail: /cursor/ },
    { name: 'cursor with a NUL', path: `/api/v1/entities?cursor=${Buffer.from('k1:component:default/a\0b').toString('base64url')}`, status: 400, detail: /cursor/ },
    { name: 'cursor of 50000 characters', path: `/api/v1/entities?cursor=${'A'.repeat(50000)}`, status: 400, detail: /cursor/ },
    { name: 'empty cursor', path: '/api/v1/entities?cursor=', status: 400, detail: /cursor/ },
    { name: 'Backstage cursor that is garbage', path: '/api/catalog/entities/by-query?cursor=garbage', status: 400, detail: /cursor/ },
    { name: 'Backstage cursor of JSON with SQL', path: `/api/catalog/entities/by-query?cursor=${Buffer.from(J({ orderFields: [{ field: "x' OR 1=1", order: 'asc' }] })).toString('base64')}`, status: 400, detail: /cursor/ },
    { name: 'negative limit', path: '/api/v1/entities?limit=-1', status: 400, detail: /'limit'/ },
    { name: 'limit is text', path: '/api/v1/entities?limit=ten', status: 400, detail: /'limit'/ },
    { name: 'limit overflows 64 bits', path: '/api/v1/entities?limit=99999999999999999999999', status: 400, detail: /'limit'/ },
    { name: 'Backstage offset overflows', path: '/api/catalog/entities?offset=99999999999999999999999', status: 400, detail: /offset/ },
    { name: 'Backstage negative limit', path: '/api/catalog/entities?limit=-5', status: 400, detail: /limit/ },
  );

  // ---- events ------------------------------------------------------------------------
  const EV = (id = 'hostile-ev') => ({
    context: { specversion: '0.5.1', id, source: '/hostile', type: 'dev.cdevents.service.deployed.0.3.0', timestamp: '2024-01-01T00:00:00Z' },
    subject: { id: 'svc', source: '/hostile', content: { environment: { id: 'prod' }, artifactId: 'pkg:oci/x@sha256%3Aabc' } },
  });
  const ev = (name, body, more = {}) => ({ name, method: 'POST', path: '/api/v1/events', body, ...more });
  cases.push(
    ev('event without a Content-Type', J(EV()), { type: null, status: 415, detail: /Content-Type/ }),
    ev('event sent as text/xml', J(EV()), { type: 'text/xml', status: 415, detail: /./ }),
    ev('truncated event JSON', '{"context":{"specversion":"0.5.1","id":', { status: 400, detail: /./ }),
    ev('event that is a JSON string', '"event"', { status: 400, detail: /./ }),
    ev('event without context', J({ subject: EV().subject }), { status: 400, detail: /context/ }),
    ev('event id is a number', J({ ...EV(), context: { ...EV().context, id: 5 } }), { status: 400, detail: /context\.id/ }),
    ev('event timestamp is not a date', J({ ...EV(), context: { ...EV().context, timestamp: "2024-13-45T99:00:00Z' OR 1=1" } }), { status: 400, detail: /timestamp/ }),
    ev('event with an escaped NUL in its id', J(EV('a\u0000b')).replace('a\\u0000b', 'a\\u0000b'), { status: 400, detail: /./ }),
    ev('event nested 5000 deep', J(EV()).replace('"svc"', '"svc","deep":' + '['.repeat(5000) + ']'.repeat(5000)), { status: [400, 413], detail: /./ }),
    ev('batch of 20000 events', J(Array.from({ length: 20000 }, (_, i) => EV(`hostile-batch-${i}`))), { expect100: true, status: 413, detail: /exceeds the limit|events/ }),
    ev('NDJSON with a broken line', J(EV('nd-1')) + '\n{"context":\n', { type: 'application/x-ndjson', status: 400, detail: /line/ }),
    ev('binary mode with invalid UTF-8 in ce-id', J(EV().subject), {
      headers: ['ce-specversion: 1.0', 'ce-id: \xff\xfe', 'ce-source: /hostile', 'ce-type: dev.cdevents.service.deployed.0.3.0'],
      status: [400, 415], detail: /./ }),
    ev('binary mode with SQL in ce-source', J(EV()), {
      headers: ['ce-specversion: 1.0', 'ce-id: hostile-sql', "ce-source: ' OR 1=1 --", 'ce-type: dev.cdevents.service.deployed.0.3.0'],
      status: [400, 415], detail: /./ }),
    ev('structured CloudEvent with data that is not a CDEvent', J({ specversion: '1.0', id: 'x', source: '/h', type: 'dev.cdevents.service.deployed.0.3.0', data: 'nope' }), { type: 'application/cloudevents+json', status: 400, detail: /./ }),
    ev('viewer token sending events', J(EV()), { token: 'viewer', status: 403, detail: /needs 'ingest'/ }),
    { name: 'SQL in the events type filter', path: `/api/v1/events?type=${encodeURIComponent("' OR 1=1 --")}`, status: 200, items: 0 },
    { name: 'SQL in the events environment filter', path: `/api/v1/events?environment=${encodeURIComponent("prod' OR '1'='1")}`, status: 200, items: 0 },
    { name: 'SQL in the events service filter', path: `/api/v1/events?service=${encodeURIComponent("x' OR 1=1 --")}`, status: [200, 400, 404], items: 0, detail: /service/ },
    { name: 'LIKE wildcard in the events type filter', path: '/api/v1/events?type=%25', status: 200, items: 0 },
    { name: 'bad events cursor', path: '/api/v1/events?cursor=ZTE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk6MQ', status: 400, detail: /cursor/ },
    { name: 'events from after to', path: '/api/v1/events?from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z', status: 400, detail: /'to'/ },
    { name: 'events from is not a date', path: '/api/v1/events?from=yesterday', status: 400, detail: /'from'/ },
  );

  // ---- incidents (issue #13) ---------------------------------------------------------------
  const AM = (alerts) => J({ version: '4', groupKey: '{}:{alertname="Hostile"}', status: 'firing', alerts });
  const AL = { status: 'firing', labels: { alertname: 'Hostile' }, startsAt: '2024-01-01T00:00:00Z' };
  const am = (name, body, more = {}) => ({ name, method: 'POST', path: '/api/v1/hooks/alertmanager', body, ...more });
  cases.push(
    am('Alertmanager payload nested 5000 deep', AM([{ ...AL, deep: [] }]).replace('"deep":[]', '"deep":' + '['.repeat(5000) + ']'.repeat(5000)), { status: 400, detail: /./ }),
    am('Alertmanager payload with 5001 alerts', AM(Array.from({ length: 5001 }, () => AL)), { status: 413, detail: /alerts: 5001 alerts/ }),
    am('Alertmanager label that is an object', AM([{ ...AL, labels: { service: { $ne: 1 } } }]), { status: 400, detail: /alerts\[0\]\.labels\.service/ }),
    am('Alertmanager label with invalid UTF-8', Buffer.from(AM([AL]).replace('Hostile"}', 'Hostile\xff"}'), 'latin1'), { status: 400, detail: /body/ }),
    am('Alertmanager payload sent by a viewer', AM([AL]), { token: 'viewer', status: 403, detail: /needs 'ingest'/ }),
    { name: 'SQL in the incidents state filter', path: `/api/v1/incidents?state=${encodeURIComponent("open' OR 1=1 --")}`, status: 400, detail: /'state'/ },
    { name: 'SQL in the incidents scope', path: `/api/v1/incidents?scope=${encodeURIComponent("x' OR 1=1 --")}`, status: [400, 404], detail: /scope/ },
    { name: 'incident id with SQL', path: `/api/v1/incidents/${encodeURIComponent('1 OR 1=1')}`, status: 400, detail: /incident id/ },
    { name: 'incident id beyond 64 bits', path: '/api/v1/incidents/99999999999999999999999', status: 400, detail: /incident id/ },
    { name: 'bad incidents cursor', path: '/api/v1/incidents?cursor=aTE6OjE', status: 400, detail: /cursor/ },
    { name: 'incident transition by a viewer', method: 'POST', path: '/api/v1/incidents/1/transitions', body: J({ to: 'closed' }), token: 'viewer', status: 403, detail: /needs 'editor'/ },
    { name: 'incident transition with a note of 5000 bytes', method: 'POST', path: '/api/v1/incidents/1/transitions', body: J({ note: 'x'.repeat(5000) }), status: 400, detail: /note/ },
  );

  // ---- bad tokens ----------------------------------------------------------------------
  cases.push(
    put('write without a token', J(ENTITY('hostile-x')), { token: null, status: 401, detail: /bearer token/ }),
    put('Basic credentials', J(ENTITY('hostile-x')), { token: { raw: 'Basic YWRtaW46YWRtaW4=' }, status: 401, detail: /Bearer/ }),
    put('empty bearer token', J(ENTITY('hostile-x')), { token: { raw: 'Bearer ' }, status: 401, detail: /unknown or revoked|Bearer/ }),
    put('unknown bearer token', J(ENTITY('hostile-x')), { token: { raw: 'Bearer cw_not-a-real-token' }, status: 401, detail: /unknown or revoked/ }),
    put('bearer token of 20000 characters', J(ENTITY('hostile-x')), { token: { raw: 'Bearer ' + 'A'.repeat(20000) }, status: 401, detail: /unknown or revoked/ }),
    put('bearer token with invalid UTF-8', J(ENTITY('hostile-x')), { token: { raw: 'Bearer \xff\xfe\xc3' }, status: 401, detail: /unknown or revoked/ }),
    put('bearer token with SQL', J(ENTITY('hostile-x')), { token: { raw: "Bearer ' OR 1=1 --" }, status: 401, detail: /unknown or revoked/ }),
    put('revoked token', J(ENTITY('hostile-x')), { token: 'revoked', status: 401, detail: /unknown or revoked/ }),
    put('viewer token on a write', J(ENTITY('hostile-x')), { token: 'viewer', status: 403, detail: /needs 'editor'/ }),
    put('team-scoped token writing another team\'s entity', J(ENTITY('hostile-x')), { token: 'scoped', status: 403, detail: /scoped to/ }),
    imp('viewer token on an import', 'apiVersion: x\n', { token: 'viewer', status: 403, detail: /needs 'editor'/ }),
    { name: 'read without a token', path: '/api/v1/entities', token: null, status: 401, detail: /bearer token/ },
  );

  // ---- team scope and link keys (issue #10) --------------------------------------------
  // A token scoped to nobody-team, trying to reach beyond what that team owns.
  const NOBODY = 'group:default/nobody-team';
  const kindPut = (kind, name, body) => ({ name: `team-scoped token writing a ${body.kind} it claims to own`, method: 'PUT', path: `/api/v1/entities/${kind}/default/${name}`, body: J(body), token: 'scoped', status: 403, detail: new RegExp(`^kind: this token is scoped to ${NOBODY}.* is a ${body.kind}, which belongs to no team$`) });
  cases.push(
    kindPut('group', 'hostile-group', { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'hostile-group' }, spec: { type: 'team', children: ['playback'], owner: NOBODY } }),
    kindPut('user', 'hostile-user', { apiVersion: 'backstage.io/v1alpha1', kind: 'User', metadata: { name: 'hostile-user' }, spec: { memberOf: ['playback'], owner: NOBODY } }),
    kindPut('location', 'hostile-loc', { apiVersion: 'backstage.io/v1alpha1', kind: 'Location', metadata: { name: 'hostile-loc' }, spec: { target: 'file:/etc/passwd', owner: NOBODY } }),
    imp('team-scoped import of a User among its own components', J([ENTITY('hostile-own', { spec: { owner: NOBODY } }), { apiVersion: 'backstage.io/v1alpha1', kind: 'User', metadata: { name: 'hostile-user' }, spec: { owner: NOBODY } }]), { type: 'application/json', token: 'scoped', status: 403, detail: /^document 1: kind: .*user:default\/hostile-user is a User/ }),
    { name: 'team-scoped DELETE of a Group', method: 'DELETE', path: '/api/v1/entities/group/default/team-playback', token: 'scoped', status: 403, detail: /^kind: .*group:default\/team-playback is a Group, which belongs to no team$/ },
    put('team-scoped component claiming another team\'s service id', J(ENTITY('hostile-x', { spec: { owner: NOBODY }, metadata: { annotations: { 'conway.dev/service-id': 'streamer' } } })), { token: 'scoped', status: 409, detail: /^metadata\.annotations\.conway\.dev\/service-id: component:default\/hostile-x would claim the service id 'streamer', which component:default\/stream-delivery-service \(owned by group:default\/[a-z-]+\) already claims/ }),
    put('team-scoped component claiming another component\'s name as its service id', J(ENTITY('hostile-x', { spec: { owner: NOBODY }, metadata: { annotations: { 'conway.dev/service-id': 'k8s/prod/entitlement-service' } } })), { token: 'scoped', status: 409, detail: /service id 'k8s\/prod\/entitlement-service', which component:default\/entitlement-service/ }),
    put('team-scoped component claiming another repository slug (other case)', J(ENTITY('hostile-x', { spec: { owner: NOBODY }, metadata: { annotations: { 'github.com/project-slug': 'TuneWave/Streamer' } } })), { token: 'scoped', status: 409, detail: /repository id 'TuneWave\/Streamer', which component:default\/stream-delivery-service/ }),
    { name: 'team-scoped component named like another in a new namespace', method: 'PUT', path: '/api/v1/entities/component/hostile-ns/playback-service', body: J(ENTITY('playback-service', { spec: { owner: NOBODY }, metadata: { namespace: 'hostile-ns' } })), token: 'scoped', status: 409, detail: /^metadata\.name: component:hostile-ns\/playback-service would claim the service id 'playback-service'/ },
    imp('team-scoped import of two components claiming one id', J([ENTITY('hostile-a', { spec: { owner: NOBODY }, metadata: { annotations: { 'conway.dev/service-id': 'hostile-shared' } } }), ENTITY('hostile-b', { spec: { owner: NOBODY }, metadata: { annotations: { 'conway.dev/service-id': 'hostile-shared' } } })]), { type: 'application/json', token: 'scoped', status: 409, detail: /would claim the service id 'hostile-shared', which component:default\/hostile-[ab] \(in this request\) already claims/ }),
    ev('team-scoped ingest token sending another team\'s deployment', J(EV('hostile-scoped-1')).replace('"svc"', '"playback-service"'), { token: 'scopedIngest', status: 403, detail: /^events\[0\]: this token is scoped to group:default\/nobody-team .*service 'playback-service' is component:default\/playback-service, owned by / }),
    ev('team-scoped ingest token sending an event that names nothing it owns', J(EV('hostile-scoped-2')), { token: 'scopedIngest', status: 403, detail: /^events\[0\]: .*service 'svc' matches no Component$/ }),
    ev('team-scoped ingest token, the bad event second in a batch', J([EV('hostile-scoped-3'), EV('hostile-scoped-4')]), { token: 'scopedIngest', status: 403, detail: /^events\[0\]: / }),
    ev('source-bound token sending under another source', J(EV('hostile-sourced-1')), { token: 'sourced', status: 403, detail: /^events\[0\]\.context\.source: '\/hostile' is not one this token may send under \(its sources start with: \/hostile-only\/\)$/ }),
    ev('source-bound token, a prefix look-alike', J({ ...EV('hostile-sourced-2'), context: { ...EV().context, id: 'hostile-sourced-2', source: '/hostile-only' } }), { token: 'sourced', status: 403, detail: /context\.source: '\/hostile-only' is not one/ }),
    ev('source-bound token, the bad event in an NDJSON stream', J({ ...EV('hostile-sourced-3'), context: { ...EV().context, id: 'hostile-sourced-3', source: '/hostile-only/ci' } }) + '\n' + J(EV('hostile-sourced-4')) + '\n', { type: 'application/x-ndjson', token: 'sourced', status: 403, detail: /^events\[1\]\.context\.source/ }),
    { name: 'lower-case bearer scheme with a bad token', path: '/api/v1/entities', token: { raw: 'bearer nope' }, status: 401, detail: /unknown or revoked/ },
  );

  // ---- bounded answers (issue #10) -------------------------------------------------------
  const fat = (id, pad) => ({ ...EV(id), customData: { pad: 'p'.repeat(pad) } });
  const TOO_BIG = /events\[\d+\]: the event is \d+ bytes of JSON, more than the limit of 262144/;
  const COUPLING = '/api/v1/insights/coupling?from=2024-01-01T00:00:00Z&to=2024-02-01T00:00:00Z';
  cases.push(
    ev('one event of 300 KiB', J(fat('hostile-fat-1', 300 << 10)), { status: 413, detail: /^events\[0\]: the event is/ }),
    ev('a batch whose third event is 300 KiB', J([EV('hostile-b1'), EV('hostile-b2'), fat('hostile-b3', 300 << 10)]), { status: 413, detail: /^events\[2\]: / }),
    ev('NDJSON whose second line is 300 KiB', [EV('hostile-n1'), fat('hostile-n2', 300 << 10)].map(J).join('\n'), { type: 'application/x-ndjson', status: 413, detail: /^line 2: events\[1\]: / }),
    ev('a structured CloudEvent carrying 300 KiB', J({ specversion: '1.0', id: 'hostile-fat-2', source: '/hostile', type: 'dev.cdevents.service.deployed.0.3.0', data: fat('hostile-fat-2', 300 << 10) }), { type: 'application/cloudevents+json', status: 413, detail: TOO_BIG }),
    ev('a binary-mode event of 300 KiB', J(fat('hostile-fat-3', 300 << 10)), {
      headers: ['ce-specversion: 1.0', 'ce-id: hostile-fat-3', 'ce-source: /hostile', 'ce-type: dev.cdevents.service.deployed.0.3.0'],
      status: 413, detail: TOO_BIG }),
    ev('300 KiB of escaped characters that shrink to nothing', J(EV('hostile-esc')).replace('"svc"', `"svc","x":"${'\\u0041'.repeat(40000)}"`), { status: 202 }),
    { name: 'coupling limit 0', path: `${COUPLING}&limit=0`, status: 400, detail: /'limit'/ },
    { name: 'coupling limit over 1000', path: `${COUPLING}&limit=1001`, status: 400, detail: /'limit'/ },
    { name: 'coupling cursor that is garbage', path: `${COUPLING}&cursor=garbage`, status: 400, detail: /'cursor'/ },
    { name: 'coupling cursor with together 0', path: `${COUPLING}&cursor=${Buffer.from('c1:1:0:5:a b').toString('base64url')}`, status: 400, detail: /'cursor'/ },
    { name: 'coupling cursor with pairs out of order', path: `${COUPLING}&cursor=${Buffer.from('c1:1:1:5:b a').toString('base64url')}`, status: 400, detail: /'cursor'/ },
    { name: 'coupling cursor with huge counts', path: `${COUPLING}&cursor=${Buffer.from('c1:0:99999999999999999999:1:a b').toString('base64url')}`, status: 400, detail: /'cursor'/ },
    { name: 'coupling cursor with SQL in a key', path: `${COUPLING}&cursor=${Buffer.from("c1:1:1:1:' OR 1=1 -- z").toString('base64url')}`, status: 200 },
    { name: 'coupling page of 1000', path: `${COUPLING}&limit=1000`, status: 200 },
    { name: 'unpaged Backstage list (streamed)', path: '/api/catalog/entities', status: 200 },
    { name: 'unpaged Backstage list with an order (streamed)', path: '/api/catalog/entities?order=desc:metadata.name&fields=metadata.name', status: 200 },
    { name: 'Backstage list with the largest limit', path: '/api/catalog/entities?limit=100000000', status: 200 },
    { name: 'by-refs with 10000 refs (streamed)', method: 'POST', path: '/api/catalog/entities/by-refs', body: J({ entityRefs: Array.from({ length: 10000 }, (_, i) => `component:default/hostile-ref-${i}`) }), status: 200 },
    { name: 'events page of 1000', path: '/api/v1/events?limit=1000', status: 200 },
  );

  // ---- metric samples (POST /api/v1/metrics) -----------------------------------------
  const metrics = (name, body, more = {}) => ({ name, method: 'POST', path: '/api/v1/metrics', body, type: 'text/plain', ...more });
  cases.push(
    metrics('samples announcing more than --max-body', '', { ...announce((1 << 20) + 1), status: 413, detail: /exceeds the limit of 1048576 bytes/ }),
    metrics('viewer posting samples', 'a 1\n', { token: 'viewer', status: 403, detail: /needs 'ingest'/ }),
    metrics('a NUL in the text format', 'a 1\nb\u0000 2\n', { status: 400, detail: /^line 2: a NUL character$/ }),
    metrics('a label value of 100,000 bytes', `a{x="${'v'.repeat(100000)}"} 1\n`, { status: 400, detail: /^line 1, column 5: expected a quoted label value/ }),
    metrics('33 labels', `a{${Array.from({ length: 33 }, (_, i) => `l${i}="v"`).join(',')}} 1\n`, { status: 413, detail: /more than 32 labels/ }),
    metrics('a metric name of invalid UTF-8 quoted', Buffer.from('{"\xff\xfe"} 1\n', 'latin1'), { status: 400, detail: /^line 1: name '.*': must be 1 to 200 characters of UTF-8/ }),
    metrics('OpenMetrics without # EOF', 'a 1\n', { type: 'application/openmetrics-text', status: 400, detail: /# EOF/ }),
    metrics('JSON nested 10,000 deep', '['.repeat(10000) + ']'.repeat(10000), { type: 'application/json', status: 400 }),
    metrics('samples as XML', '<a/>', { type: 'application/xml', status: 415, detail: /not accepted/ }),
    { name: 'a metric query with 40 labels', path: `/api/v1/metrics/x?labels=${encodeURIComponent(Array.from({ length: 40 }, (_, i) => `l${i}="v"`).join(','))}`, status: 400, detail: /more than 32 labels/ },
    { name: 'a metric query for one point per millisecond of a year', path: '/api/v1/metrics/x?step=1ms&from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z', status: 400, detail: /at most 11000 points/ },
  );

  // ---- initiatives (GET /api/v1/initiatives/{name}) ------------------------------------------
  cases.push(
    { name: 'initiative named with a NUL', path: '/api/v1/initiatives/a%00b', status: [400, 404] },
    { name: 'initiative named with invalid UTF-8', path: '/api/v1/initiatives/%ff%fe', status: [400, 404] },
    { name: 'initiative named 4,000 bytes long', path: `/api/v1/initiatives/${'x'.repeat(4000)}`, status: [400, 404, 414] },
    { name: 'initiative in a namespace of invalid UTF-8', path: '/api/v1/initiatives/x?namespace=%ff', status: 400, detail: /'namespace'/ },
    { name: 'initiatives as of a date in year 99999', path: '/api/v1/initiatives?now=99999-01-01T00:00:00Z', status: 400, detail: /'now'/ },
  );

  // scorecards (issue #15): rules from any editor are bounded; bad parameters named
  const scorecard = (name, rule) => JSON.stringify({ apiVersion: 'conway.dev/v1', kind: 'Scorecard', metadata: { name: 'hostile' },
    spec: { levels: ['a'], checks: [{ id: 'x', level: 'a', rule }] } });
  const putCard = (name, rule, detail) => ({ name, method: 'PUT', path: '/api/v1/entities/scorecard/default/hostile', body: scorecard(name, rule), status: 422, detail });
  let deepRule = { fact: 'a', operator: 'exists', value: true };
  for (let i = 0; i < 40; i++) deepRule = { not: deepRule };
  cases.push(
    putCard('a Scorecard rule nested 40 deep', deepRule, /nested deeper than 16/),
    putCard('a Scorecard rule of 1,000 conditions', { any: Array.from({ length: 1000 }, () => ({ fact: 'a', operator: 'exists', value: true })) }, /more than 256/),
    putCard('a Scorecard regex with a back-reference', { fact: 'a', operator: 'matches', value: '(a*)*\\1' }, /spec\.checks\[0\]\.rule\.value: not a supported regular expression/),
    putCard('a Scorecard regex expanding past its program limit', { fact: 'a', operator: 'matches', value: '((a{32}){32}){32}' }, /instructions/),
    putCard('a Scorecard fact path of 300 segments', { fact: Array(300).fill('a').join('.'), operator: 'exists', value: true }, /spec\.checks\[0\]\.rule\.fact/),
    { name: 'scorecard results for an unknown level', path: '/api/v1/scorecards/x/results?level=%00', status: [400, 404] },
    { name: 'scorecard results with a forged cursor', path: '/api/v1/scorecards/x/results?cursor=o99999999999999', status: [400, 404] },
    { name: 'facts of an entity with an invalid kind', path: '/api/v1/entities/%20/default/x/facts', status: [400, 404] },
  );

  // API tokens (issue 18: conway token --server): admin only, every field checked
  const tok = (name, body, status, detail, more = {}) => ({ name, method: 'POST', path: '/api/v1/tokens', body: typeof body === 'string' ? body : JSON.stringify(body), status, detail, bodyNot: /"secret"/, ...more });
  cases.push(
    tok('token create by an editor', { role: 'admin' }, 403, /admin/, { token: 'editor' }),
    tok('token create by a team-scoped editor', { role: 'editor', team: 'group:default/nobody-team' }, 403, /admin/, { token: 'scoped' }),
    tok('token create without a role', { name: 'x' }, 400, /role: required/),
    tok('token create with the role "root"', { role: 'root' }, 400, /role: must be viewer, ingest, editor or admin/),
    tok('token create with a role that is a number', { role: 1 }, 400, /role:/),
    tok('token create with an unknown field', { role: 'viewer', secret: 'cw_mine' }, 400, /secret: unknown field/),
    tok('token create as an array', [{ role: 'viewer' }], 400, /must be an object/),
    tok('token create with invalid JSON', '{"role": "viewer"', 400, /JSON|json/),
    tok('token create with a name of control characters', { role: 'viewer', name: 'a\tb\n' }, 400, /name: .*control characters/),
    tok('token create with a name of 4,000 bytes', { role: 'viewer', name: 'x'.repeat(4000) }, 400, /name: must be a string of 1 to 127/),
    tok('token create of a viewer scoped to a team', { role: 'viewer', team: 'group:default/a' }, 400, /team: applies to editor and ingest tokens only/),
    tok('token create scoped to a non-group', { role: 'editor', team: 'component:default/x' }, 400, /team:/),
    tok('token create scoped to a team not in the catalog', { role: 'editor', team: 'group:default/no-such-team' }, 422, /group:default\/no-such-team is not in the catalog/),
    tok('token create with allowMissingTeam as a string', { role: 'editor', team: 'group:default/x', allowMissingTeam: 'yes' }, 400, /allowMissingTeam: must be true or false/),
    tok('token create with sources for a viewer', { role: 'viewer', sources: ['/a/'] }, 400, /sources: applies to ingest and editor/),
    tok('token create with an empty source prefix', { role: 'ingest', sources: [''] }, 400, /sources\[0\]: must be a non-empty string/),
    tok('token create with a source prefix holding a newline', { role: 'ingest', sources: ['/a/\n/b/'] }, 400, /sources\[0\]: control character/),
    tok('token create with 33 source prefixes', { role: 'ingest', sources: Array.from({ length: 33 }, (_, i) => `/s${i}/`) }, 400, /at most 32 prefixes/),
    tok('token create with sources of 2,000 characters', { role: 'ingest', sources: ['/' + 'x'.repeat(2000)] }, 400, /at most 1022 characters/),
    tok('token create with sources as a string', { role: 'ingest', sources: '/a/' }, 400, /sources: must be an array/),
    { name: 'token list by a viewer', path: '/api/v1/tokens', token: 'viewer', status: 403, detail: /admin/ },
    { name: 'token list with a made-up token', path: '/api/v1/tokens', token: { raw: 'Bearer cw_made-up' }, status: 401 },
    { name: 'token list with a forged cursor', path: '/api/v1/tokens?cursor=o1:5', status: 400, detail: /'cursor'/ },
    { name: 'token list with limit 0', path: '/api/v1/tokens?limit=0', status: 400, detail: /'limit'/ },
    { name: 'token revoke by an editor', method: 'DELETE', path: '/api/v1/tokens/1', token: 'editor', status: 403, detail: /admin/ },
    { name: 'token revoke of a token that does not exist', method: 'DELETE', path: '/api/v1/tokens/999999', status: 404, detail: /token 999999: not found/ },
    { name: 'token revoke with a negative id', method: 'DELETE', path: '/api/v1/tokens/-1', status: 404, detail: /not found/ },
    { name: 'token revoke with an id past int64', method: 'DELETE', path: '/api/v1/tokens/99999999999999999999999', status: 404, detail: /not found/ },
    { name: 'token revoke with an id of letters', method: 'DELETE', path: '/api/v1/tokens/abc%00', status: [400, 404] },
    { name: 'token revoke with a body', method: 'DELETE', path: '/api/v1/tokens/1', body: '{}', status: 413 },
  );
  return cases;
}

// ---- hostile catalog trees for `conway import` (import.test.mjs) ---------------------------
// Each case builds a directory: `tree/` is what is imported (args, default
// ['tree']); `outside/secret.yaml` lies next to it and holds SECRET, a
// line that must never reach the output. Files are text, or { link: target }
// for a symbolic link. Expected: exit status, a pattern stdout and stderr
// must match, and the number of files the summary says were read. Every case
// also checks that no line of /etc/passwd and no SECRET marker is printed.
export const IMPORT_SECRET = 'hunter2-db-password-4711';
const GROUP = (name) => `apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: ${name}\nspec:\n  type: team\n  children: []\n`;
const LOCATION = (...targets) => `apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: hostile-loc\nspec:\n  targets:\n${targets.map((t) => `    - ${t}\n`).join('')}`;

export function hostileImportCases() {
  const S = IMPORT_SECRET;
  const refused = /leads outside .*refused \(--allow-outside/;
  return [
    { name: 'Location target with an absolute path (/etc/passwd)', tree: { 'all.yaml': LOCATION('/etc/passwd') }, args: ['tree/all.yaml'], status: 1, stderr: refused, files: 1 },
    { name: 'Location target climbing out with ../', tree: { 'all.yaml': LOCATION('../outside/secret.yaml') }, args: ['tree/all.yaml'], status: 1, stderr: refused, files: 1 },
    { name: 'Location target climbing out from a sub-folder', tree: { 'sub/all.yaml': LOCATION('../../outside/secret.yaml'), 'g.yaml': GROUP('team-a') }, status: 1, stderr: refused, files: 2 },
    { name: 'Location target with a glob reaching out', tree: { 'all.yaml': LOCATION('../outside/*', '/etc/*') }, args: ['tree/all.yaml'], status: 1, stderr: refused, files: 1 },
    { name: 'Location target that is a symbolic link out of the tree', tree: { 'all.yaml': LOCATION('./inner.yaml'), 'inner.yaml': { link: '../outside/secret.yaml' } }, args: ['tree/all.yaml'], status: 1, stderr: refused, files: 1 },
    { name: 'Location target through a linked folder', tree: { 'all.yaml': LOCATION('./etc/passwd', './out/secret.yaml'), etc: { link: '/etc' }, out: { link: '../outside' } }, args: ['tree/all.yaml'], status: 1, stderr: refused, files: 1 },
    { name: 'glob matching inside and outside: only the outside match is refused', tree: { 'all.yaml': LOCATION('./t/*.yaml'), 't/a.yaml': GROUP('team-a'), 't/b.yaml': { link: '../../outside/secret.yaml' } }, args: ['tree/all.yaml'], status: 1, stderr: /1 of its 2 matches lead outside/, files: 2 },
    { name: 'symbolic link to a file outside, found by the folder walk', tree: { 'g.yaml': GROUP('team-a'), 'secret.yaml': { link: '../outside/secret.yaml' } }, status: 1, stderr: /secret\.yaml: a symbolic link that leads outside/, files: 1 },
    { name: 'symbolic link to a folder outside, found by the folder walk', tree: { 'g.yaml': GROUP('team-a'), etc: { link: '/etc' } }, status: 1, stderr: /etc: a symbolic link that leads outside/, files: 1 },
    // hidden folders are not walked, so .b/ is reached only through the Location
    { name: 'targets inside the tree, also through ../, a glob and a link, are followed', tree: { 'a/all.yaml': LOCATION('../.b/g.yaml', '../.b/*.yml', './l.yaml'), '.b/g.yaml': GROUP('team-a'), '.b/h.yml': GROUP('team-b'), 'a/l.yaml': { link: '../.b/i.yaml' }, '.b/i.yaml': GROUP('team-c') }, status: 0, stdout: /imported 4 entities/, files: 4 },
    { name: '--allow-outside reads the file outside but prints none of it', tree: { 'all.yaml': LOCATION('../outside/secret.yaml') }, args: ['--allow-outside', 'tree/all.yaml'], status: 1, stderr: /secret\.yaml: not a catalog file: no document has a string apiVersion and kind; its text is not shown/, files: 2 },
    { name: 'YAML file that is not a catalog file', tree: { 'conf.yaml': `${S}: true\nother: 1\n` }, status: 1, stderr: /conf\.yaml: not a catalog file/, files: 1 },
    { name: 'JSON file with a syntax error next to a secret', tree: { 'conf.json': `{"password": ${S}}` }, status: 1, stderr: /conf\.json: not a catalog file: it is not valid YAML or JSON at line 1, column \d+; its text is not shown/, files: 1 },
    { name: 'YAML file with a duplicate key', tree: { 'dup.yaml': `${S}: 1\n${S}: 2\n` }, status: 1, stderr: /dup\.yaml: not a catalog file: it is not valid YAML or JSON at line 2, column \d+; its text is not shown/, files: 1 },
    { name: 'catalog file with one document that is not an entity', tree: { 'mixed.yaml': `${GROUP('team-a')}---\n${S}: [1, 2]\n` }, status: 1, stderr: /mixed\.yaml:1: \(no ref\): not a catalog entity \(no apiVersion string\)/, stdout: /imported 1 entities/, files: 1 },
  ];
}
