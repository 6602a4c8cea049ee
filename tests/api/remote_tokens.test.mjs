// remote_tokens.test.mjs — API tokens over the API (issue 18): GET, POST
// /api/v1/tokens and DELETE /api/v1/tokens/{id} for admins only, the secret
// shown once and never again (not in the list, not in the audit log, not in
// the server's log), a revoked token refused at once, and `conway token
// list|create|revoke --server` using them (flags and CONWAY_SERVER /
// CONWAY_TOKEN; -o table|json|yaml), against a real `conway serve`.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, conway, conwayBin, repoRoot } from './helpers.mjs';

// The CLI with stderr also on success (conway() keeps it only on failure).
function run(args, env = {}) {
  const r = spawnSync(conwayBin, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('tokens over the API', () => {
  let srv, admin, editor, viewer;
  before(async () => {
    srv = await startServer({ publicRead: false, imports: [join(repoRoot, 'demo', 'org')] });
    admin = srv.token('admin', { name: 'boss' });
    editor = srv.token('editor', { name: 'writer' });
    viewer = srv.token('viewer', { name: 'reader' });
  });
  after(async () => { await srv.stop(); });

  const post = (body, token = admin) => srv.json('/api/v1/tokens', {
    method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  test('only an admin lists, creates and revokes tokens: others get 403 problems, no token 401', async () => {
    for (const t of [editor, viewer]) {
      for (const [path, method, body] of [['/api/v1/tokens', 'GET'], ['/api/v1/tokens', 'POST', '{"role":"viewer"}'], ['/api/v1/tokens/1', 'DELETE']]) {
        const r = await srv.json(path, { method, token: t, body, headers: body ? { 'content-type': 'application/json' } : {} });
        assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
        assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
        assert.equal(r.body.status, 403);
      }
    }
    assert.equal((await srv.json('/api/v1/tokens')).status, 401);
    const list = await srv.json('/api/v1/tokens', { token: viewer });
    assert.equal(list.status, 403);
  });

  test('create answers 201 with the secret once; the secret works, is never listed or logged', async () => {
    const r = await post({ role: 'ingest', name: 'ci-pipeline', sources: ['/ci/', '/deploy/'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(r.body.secret, /^cw_[A-Za-z0-9_-]{43}$/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('location'), `/api/v1/tokens/${r.body.id}`);
    assert.deepEqual({ ...r.body, secret: undefined, created: undefined },
      { id: r.body.id, name: 'ci-pipeline', role: 'ingest', team: null, lastUsed: null, sources: ['/ci/', '/deploy/'], status: 'active', secret: undefined, created: undefined });
    // the new token is a real ingest token: it reads, but not the audit log
    assert.equal((await srv.json('/api/v1/entities?limit=1', { token: r.body.secret })).status, 200);
    assert.equal((await srv.json('/api/v1/audit', { token: r.body.secret })).status, 403);
    // listed without the secret or its hash, and the same as the CLI's local list
    const list = await srv.json('/api/v1/tokens', { token: admin });
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.body.items));
    assert.ok('nextCursor' in list.body);
    const text = JSON.stringify(list.body);
    assert.ok(!text.includes(r.body.secret));
    assert.ok(!text.includes('secret') && !text.includes('hash'));
    const mine = list.body.items.find((t) => t.id === r.body.id);
    assert.equal(mine.name, 'ci-pipeline');
    const local = JSON.parse(conway(['token', 'list', '--db', srv.db, '-o', 'json']).stdout);
    assert.deepEqual(local.map((t) => [t.id, t.name, t.role, t.status]), list.body.items.map((t) => [t.id, t.name, t.role, t.status]));
    // audited with the admin as the actor, without the secret
    const audit = await srv.json('/api/v1/audit?action=token.create', { token: admin });
    const rec = audit.body.items.find((a) => a.detail?.tokenId === r.body.id);
    assert.ok(rec, JSON.stringify(audit.body));
    assert.equal(rec.tokenName, 'boss');
    assert.deepEqual(rec.detail.sources, ['/ci/', '/deploy/']);
    assert.ok(!JSON.stringify(audit.body).includes(r.body.secret));
    assert.ok(!srv.stderr.includes(r.body.secret), 'the secret is not in the server log');
  });

  test('a team scope must name a Group in the catalog unless allowMissingTeam', async () => {
    const bad = await post({ role: 'editor', team: 'group:default/no-such-team' });
    assert.equal(bad.status, 422);
    assert.match(bad.body.detail, /group:default\/no-such-team is not in the catalog/);
    const ok = await post({ role: 'editor', team: 'group:default/no-such-team', allowMissingTeam: true });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.team, 'group:default/no-such-team');
    const viewerScoped = await post({ role: 'viewer', team: 'group:default/no-such-team', allowMissingTeam: true });
    assert.equal(viewerScoped.status, 400);
  });

  test('a revoked token stops working at once; revoking is audited, the list says revoked', async () => {
    const t = await post({ role: 'viewer', name: 'short-lived' });
    assert.equal((await srv.json('/api/v1/entities?limit=1', { token: t.body.secret })).status, 200);
    const del = await srv.fetch(`/api/v1/tokens/${t.body.id}`, { method: 'DELETE', token: admin });
    assert.equal(del.status, 204);
    const after_ = await srv.json('/api/v1/entities?limit=1', { token: t.body.secret });
    assert.equal(after_.status, 401);
    const list = await srv.json('/api/v1/tokens', { token: admin });
    assert.equal(list.body.items.find((x) => x.id === t.body.id).status, 'revoked');
    const audit = await srv.json('/api/v1/audit?action=token.revoke', { token: admin });
    assert.ok(audit.body.items.some((a) => a.detail?.tokenId === t.body.id && a.detail.name === 'short-lived'));
    assert.equal((await srv.json('/api/v1/tokens/999999', { method: 'DELETE', token: admin })).status, 404);
  });

  test('the list pages with limit and cursor', async () => {
    const p1 = await srv.json('/api/v1/tokens?limit=2', { token: admin });
    assert.equal(p1.body.items.length, 2);
    assert.ok(p1.body.nextCursor);
    const p2 = await srv.json(`/api/v1/tokens?limit=2&cursor=${encodeURIComponent(p1.body.nextCursor)}`, { token: admin });
    assert.equal(p2.status, 200);
    assert.notEqual(p2.body.items[0].id, p1.body.items[0].id);
    assert.equal(p2.body.items[0].id, p1.body.items[1].id + 1);
  });
});

describe('conway token --server', () => {
  let srv, admin, viewer, remote;
  before(async () => {
    srv = await startServer({ publicRead: false });
    admin = srv.token('admin', { name: 'boss' });
    viewer = srv.token('viewer', { name: 'reader' });
    remote = (args, env = {}) => run([...args, '--server', srv.url, '--token', admin], env);
  });
  after(async () => { await srv.stop(); });

  test('create prints the secret alone on stdout, once; list never shows it', async () => {
    const c = remote(['token', 'create', '--role', 'ingest', '--name', 'pipe', '--source', '/a/,/b/']);
    assert.equal(c.status, 0, c.stderr);
    const secret = c.stdout.trim();
    assert.match(secret, /^cw_[A-Za-z0-9_-]{43}$/);
    assert.equal(c.stdout, `${secret}\n`);
    assert.match(c.stderr, /created token \d+ \(ingest\) on http.*cannot be shown again/);
    assert.ok(!c.stderr.includes(secret));
    for (const o of [[], ['-o', 'json'], ['-o', 'table'], ['-o', 'yaml']]) {
      const l = remote(['token', 'list', ...o]);
      assert.equal(l.status, 0, l.stderr);
      assert.ok(!l.stdout.includes(secret) && !l.stderr.includes(secret));
      assert.match(l.stdout, /pipe/);
    }
    assert.ok(!srv.stderr.includes(secret));
    const r = await srv.json('/api/v1/entities?limit=1', { token: secret });
    assert.equal(r.status, 200);
  });

  test('list: tab lines like the local list, and -o json|table|yaml', () => {
    const remoteLines = remote(['token', 'list']).stdout;
    const localLines = conway(['token', 'list', '--db', srv.db]).stdout;
    // the "last used" column is written in the background: compare the rest
    const strip = (s) => s.trim().split('\n').map((l) => { const f = l.split('\t'); f.splice(5, 1); return f.join('\t'); });
    assert.deepEqual(strip(remoteLines), strip(localLines));
    assert.equal(remoteLines.trim().split('\n')[0].split('\t').length, 8);
    const json = JSON.parse(remote(['token', 'list', '-o', 'json']).stdout);
    assert.deepEqual(json.map((t) => t.name).slice(0, 2), ['boss', 'reader']);
    const table = remote(['token', 'list', '-o', 'table']).stdout.split('\n');
    assert.match(table[0], /^ID\s+NAME\s+ROLE\s+TEAM\s+CREATED\s+LAST-USED\s+SOURCES\s+STATUS$/);
    const yaml = remote(['token', 'list', '-o', 'yaml']).stdout;
    assert.match(yaml, /name: "reader"/);
    assert.equal(remote(['token', 'list', '-o', 'xml']).status, 2);
  });

  test('CONWAY_SERVER and CONWAY_TOKEN stand for the flags; revoke stops the token', async () => {
    const env = { CONWAY_SERVER: srv.url, CONWAY_TOKEN: admin };
    const c = conway(['token', 'create', '--role', 'viewer', '--name', 'env-made'], { env });
    assert.equal(c.status, 0, c.stderr);
    const secret = c.stdout.trim();
    assert.equal((await srv.json('/api/v1/entities?limit=1', { token: secret })).status, 200);
    const id = JSON.parse(conway(['token', 'list', '-o', 'json'], { env }).stdout).find((t) => t.name === 'env-made').id;
    const rv = run(['token', 'revoke', String(id)], env);
    assert.equal(rv.status, 0, rv.stderr);
    assert.match(rv.stderr, new RegExp(`revoked token ${id}`));
    assert.equal((await srv.json('/api/v1/entities?limit=1', { token: secret })).status, 401);
    const again = conway(['token', 'list', '-o', 'json'], { env });
    assert.equal(JSON.parse(again.stdout).find((t) => t.id === id).status, 'revoked');
  });

  test('errors: a viewer token is refused (403), an unknown id, a missing team, no server', () => {
    const v = conway(['token', 'list', '--server', srv.url, '--token', viewer]);
    assert.equal(v.status, 1);
    assert.match(v.stderr, /answered 403/);
    const none = remote(['token', 'revoke', '424242']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /404.*token 424242: not found/);
    const team = remote(['token', 'create', '--role', 'editor', '--team', 'group:default/ghosts']);
    assert.equal(team.status, 1);
    assert.match(team.stderr, /422.*group:default\/ghosts is not in the catalog/);
    assert.equal(team.stdout, '');
    const missing = remote(['token', 'create', '--role', 'editor', '--team', 'group:default/ghosts', '--allow-missing-team']);
    assert.equal(missing.status, 0, missing.stderr);
    const badRole = remote(['token', 'create', '--role', 'root']);
    assert.equal(badRole.status, 2);
    const down = conway(['token', 'list', '--server', 'http://127.0.0.1:1', '--token', admin]);
    assert.equal(down.status, 1);
    assert.ok(!down.stderr.includes(admin), 'the token is not printed');
  });
});
