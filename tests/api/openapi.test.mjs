// openapi.test.mjs — the served OpenAPI document passes a standard OpenAPI
// 3.1 validator, and every documented GET without parameters answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startServer } from './helpers.mjs';

test('GET /api/v1/openapi.json is a valid OpenAPI 3.1 document', async () => {
  const srv = await startServer();
  try {
    const r = await srv.json('/api/v1/openapi.json');
    assert.equal(r.status, 200);
    const validator = new Validator();
    const result = await validator.validate(r.body);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1));
    assert.equal(validator.version, '3.1');
    for (const [path, item] of Object.entries(r.body.paths)) {
      if (path.includes('{') || !item.get) continue;
      const res = await srv.fetch(path);
      assert.notEqual(res.status, 404, `${path} is documented but not served`);
      await res.arrayBuffer();
    }
  } finally { await srv.stop(); }
});
