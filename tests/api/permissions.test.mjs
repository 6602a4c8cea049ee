// permissions.test.mjs — the permission matrix of every write route against
// a real `conway serve`: each route x {anonymous, viewer, ingest,
// team-scoped editor of the owning team, of another team, admin}; the
// team-scoped rules (no hand-over, Responsibilities only for targets the
// team owns); revocation taking effect at once; the audit log being
// admin-only and unchangeable; and no token secret anywhere in the stored
// database (file and WAL).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startServer, conway, tempDir, usePostgres } from './helpers.mjs';

const yaml = (docs) => docs.join('---\n');
const group = (name) => `apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: ${name}\nspec:\n  type: team\n  children: []\n`;
const comp = (name, owner, extra = '') => ({
  apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
  metadata: { name, description: `${name} ${extra}` },
  spec: { type: 'service', lifecycle: 'production', owner },
});
const resp = (name, target, accountable = 'group:default/team-a') => ({
  apiVersion: 'conway.dev/v1', kind: 'Responsibilities', metadata: { name },
  spec: { target, activities: { 'incident-resolution': { responsible: [accountable], accountable } } },
});

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, `${status} expected: ${JSON.stringify(res.body)}`);
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  if (detailRe) assert.match(res.body.detail, detailRe);
}

describe('permission matrix of the write routes', () => {
  let srv, tok, dir;
  const actors = ['anonymous', 'viewer', 'ingest', 'editorOwn', 'editorOther', 'admin'];
  before(async () => {
    dir = tempDir();
    const seed = join(dir, 'seed.yaml');
    writeFileSync(seed, yaml([group('team-a'), group('team-b'),
      JSON.stringify(comp('owned-a', 'team-a')) + '\n', JSON.stringify(comp('owned-b', 'team-b')) + '\n',
      JSON.stringify(resp('resp-a', 'component:default/owned-a')) + '\n']));
    srv = await startServer({ publicRead: false, imports: [seed] });
    tok = {
      anonymous: undefined,
      viewer: srv.token('viewer', { name: 'viewer' }),
      ingest: srv.token('ingest', { name: 'ingest' }),
      editorOwn: srv.token('editor', { team: 'group:default/team-a', name: 'team-a-ci' }),
      editorOther: srv.token('editor', { team: 'group:default/team-b', name: 'team-b-ci' }),
      admin: srv.token('admin', { name: 'root' }),
    };
  });
  after(async () => { await srv.stop(); });

  const put = (kind, name, body, token) => srv.json(`/api/v1/entities/${kind}/default/${name}`, {
    method: 'PUT', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' },
  });
  const get = (kind, name) => srv.json(`/api/v1/entities/${kind}/default/${name}`, { token: tok.admin });

  test('PUT entity (update of an entity team-a owns)', async () => {
    const want = { anonymous: 401, viewer: 403, ingest: 403, editorOwn: 200, editorOther: 403, admin: 200 };
    for (const a of actors) {
      const r = await put('component', 'owned-a', comp('owned-a', 'team-a', `by ${a}`), tok[a]);
      assert.equal(r.status, want[a], `${a}: ${JSON.stringify(r.body)}`);
    }
    const other = await put('component', 'owned-a', comp('owned-a', 'team-a', 'again'), tok.editorOther);
    assertProblem(other, 403, /scoped to group:default\/team-b and the stored component:default\/owned-a belongs to group:default\/team-a/);
    assert.equal((await get('component', 'owned-a')).body.metadata.description, 'owned-a by admin');
  });

  test('PUT entity (creation)', async () => {
    const want = { anonymous: 401, viewer: 403, ingest: 403, editorOwn: 201, editorOther: 403, admin: 201 };
    for (const a of actors) {
      const r = await put('component', `new-${a.toLowerCase()}`, comp(`new-${a.toLowerCase()}`, 'team-a'), tok[a]);
      assert.equal(r.status, want[a], `${a}: ${JSON.stringify(r.body)}`);
      if (a === 'editorOther') assert.match(r.body.detail, /spec\.owner: this token is scoped to group:default\/team-b and may only write entities that team owns \(owner here: group:default\/team-a\)/);
    }
    assert.equal((await get('component', 'new-editorother')).status, 404);
  });

  test('DELETE entity', async () => {
    const want = { anonymous: 401, viewer: 403, ingest: 403, editorOwn: 204, editorOther: 403, admin: 204 };
    for (const a of actors) {
      const name = `del-${a.toLowerCase()}`;
      assert.equal((await put('component', name, comp(name, 'team-a'), tok.admin)).status, 201);
      const r = await srv.fetch(`/api/v1/entities/component/default/${name}`, { method: 'DELETE', token: tok[a] });
      assert.equal(r.status, want[a], `${a}`);
      await r.arrayBuffer();
      assert.equal((await get('component', name)).status, want[a] === 204 ? 404 : 200, a);
    }
  });

  test('POST import', async () => {
    // A scoped token may not import another team's entity: the whole
    // request is refused (403 naming the document) and nothing is stored.
    const want = { anonymous: 401, viewer: 403, ingest: 403, editorOwn: 200, editorOther: 403, admin: 200 };
    for (const a of actors) {
      const name = `imp-${a.toLowerCase()}`;
      const r = await srv.json('/api/v1/import', { method: 'POST', token: tok[a], body: JSON.stringify(comp(name, 'team-a')), headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, want[a], `${a}: ${JSON.stringify(r.body)}`);
      if (a === 'editorOther') assert.match(r.body.detail, /document 0: .*scoped to group:default\/team-b/);
      assert.equal((await get('component', name)).status, want[a] === 200 ? 200 : 404, a);
    }
  });

  test('POST codeowners', async () => {
    const want = { anonymous: 401, viewer: 403, ingest: 403, editorOwn: 200, editorOther: 403, admin: 200 };
    for (const a of actors) {
      const r = await srv.json('/api/v1/codeowners?component=owned-a', { method: 'POST', token: tok[a], body: '* @acme/team-a\n', headers: { 'content-type': 'text/plain' } });
      assert.equal(r.status, want[a], `${a}: ${JSON.stringify(r.body)}`);
      if (a === 'editorOther') assert.match(r.body.detail, /scoped to group:default\/team-b and component:default\/owned-a belongs to group:default\/team-a/);
      if (r.status === 200) assert.deepEqual(r.body.findings, []);
    }
  });

  test('POST events (when the events route exists)', async (t) => {
    const doc = await srv.json('/api/v1/openapi.json');
    if (!doc.body.paths['/api/v1/events']?.post) { t.skip('no events intake in this build'); return; }
    // a team-scoped token sends only events about its team's components (issue #10)
    const want = { anonymous: 401, viewer: 403, ingest: 202, editorOwn: 202, editorOther: 403, admin: 202 };
    let i = 0;
    for (const a of actors) {
      const ev = {
        context: { specversion: '0.5.1', id: `perm-${i++}`, source: '/perm-test', type: 'dev.cdevents.service.deployed.0.3.0', timestamp: '2026-01-05T10:00:00Z' },
        subject: { id: 'owned-a', content: { environment: { id: 'production' }, artifactId: 'pkg:generic/owned-a@1.0.0' } },
      };
      const r = await srv.json('/api/v1/events', { method: 'POST', token: tok[a], body: JSON.stringify(ev), headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, want[a], `${a}: ${JSON.stringify(r.body)}`);
    }
  });

  test('a team-scoped token cannot hand its entity over to another team', async () => {
    const r = await put('component', 'owned-a', comp('owned-a', 'team-b'), tok.editorOwn);
    assertProblem(r, 403, /spec\.owner: this token is scoped to group:default\/team-a and cannot hand component:default\/owned-a over to group:default\/team-b/);
    assert.equal((await get('component', 'owned-a')).body.spec.owner, 'team-a');
    // nor take one over, nor write entities without an owner
    assertProblem(await put('component', 'owned-b', comp('owned-b', 'team-a'), tok.editorOwn), 403, /stored component:default\/owned-b belongs to group:default\/team-b/);
    const g = { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-c' }, spec: { type: 'team', children: [] } };
    assertProblem(await put('group', 'team-c', g, tok.editorOwn), 403, /kind: this token is scoped to group:default\/team-a and may write only the kinds a team owns/);
  });

  // Issue #10 item 6: spec.owner on a Group, User or Location (or any kind
  // whose ownership is not a catalog concept) does not make it the team's.
  test('a team-scoped token cannot write Groups, Users, Locations or unknown kinds, whatever their spec.owner', async () => {
    const owned = { owner: 'group:default/team-a' };
    const cases = [
      ['group', 'team-a-sub', { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-a-sub' }, spec: { type: 'team', children: [], parent: 'team-b', ...owned } }],
      ['group', 'team-b', { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-b' }, spec: { type: 'team', children: ['team-a-sub'], ...owned } }],
      ['user', 'mallory', { apiVersion: 'backstage.io/v1alpha1', kind: 'User', metadata: { name: 'mallory' }, spec: { memberOf: ['team-b'], ...owned } }],
      ['location', 'evil', { apiVersion: 'backstage.io/v1alpha1', kind: 'Location', metadata: { name: 'evil' }, spec: { type: 'url', target: 'https://example.com/x.yaml', ...owned } }],
      ['template', 'tpl', { apiVersion: 'scaffolder.backstage.io/v1beta3', kind: 'Template', metadata: { name: 'tpl' }, spec: { type: 'service', ...owned } }],
      ['widget', 'w', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { ...owned } }],
    ];
    for (const [kind, name, body] of cases) {
      const r = await put(kind, name, body, tok.editorOwn);
      assertProblem(r, 403, new RegExp(`kind: this token is scoped to group:default/team-a .*${kind}:default/${name} is a ${body.kind}, which belongs to no team`, 'i'));
      if (kind !== 'group' || name !== 'team-b') assert.equal((await get(kind, name)).status, 404, `${kind} stored`);
    }
    assert.deepEqual((await get('group', 'team-b')).body.spec.children, []);
    // import alike: the whole request is refused, nothing stored
    const imp = await srv.json('/api/v1/import', {
      method: 'POST', token: tok.editorOwn, headers: { 'content-type': 'application/json' },
      body: JSON.stringify([comp('imp-with-user', 'team-a'), cases[2][2]]),
    });
    assertProblem(imp, 403, /document 1: kind: .*user:default\/mallory is a User/);
    assert.equal((await get('component', 'imp-with-user')).status, 404);
    // and DELETE: a Group an admin stored with spec.owner team-a is still not the team's
    const g = { ...cases[0][2] };
    assert.equal((await put('group', 'team-a-sub', g, tok.admin)).status, 201);
    const del = await srv.json('/api/v1/entities/group/default/team-a-sub', { method: 'DELETE', token: tok.editorOwn });
    assertProblem(del, 403, /kind: .*group:default\/team-a-sub is a Group/);
    assert.equal((await get('group', 'team-a-sub')).status, 200);
    // unscoped editors and admins are limited only by their role
    const del2 = await srv.fetch('/api/v1/entities/group/default/team-a-sub', { method: 'DELETE', token: tok.admin });
    assert.equal(del2.status, 204);
    await del2.arrayBuffer();
    // the owned kinds still work, conway kinds with an owner included
    const sched = { purpose: 'backup', period: '1d', grace: '1h' };
    const hb = { apiVersion: 'conway.dev/v1', kind: 'Heartbeat', metadata: { name: 'nightly-backup' }, spec: { ...owned, ...sched } };
    assert.equal((await put('heartbeat', 'nightly-backup', hb, tok.editorOwn)).status, 201);
    assertProblem(await put('heartbeat', 'nightly-backup', { ...hb, spec: { owner: 'team-b', ...sched } }, tok.editorOwn), 403, /cannot hand heartbeat:default\/nightly-backup over/);
  });

  test('Responsibilities: only for targets the team owns', async () => {
    assert.equal((await put('responsibilities', 'resp-a2', resp('resp-a2', 'component:default/owned-a'), tok.editorOwn)).status, 201);
    assertProblem(await put('responsibilities', 'resp-b1', resp('resp-b1', 'component:default/owned-a', 'group:default/team-b'), tok.editorOther), 403,
      /spec\.target: this token is scoped to group:default\/team-b .* targets component:default\/owned-a, owned by group:default\/team-a/);
    assertProblem(await put('responsibilities', 'resp-x', resp('resp-x', 'component:default/ghost'), tok.editorOwn), 403,
      /targets component:default\/ghost, which does not exist or has no owner/);
    // a stored Responsibilities of team-a cannot be retargeted by team-b, nor by team-a to team-b's entity
    assertProblem(await put('responsibilities', 'resp-a', resp('resp-a', 'component:default/owned-b'), tok.editorOther), 403,
      /the stored responsibilities:default\/resp-a belongs to group:default\/team-a \(it targets component:default\/owned-a\)/);
    assertProblem(await put('responsibilities', 'resp-a', resp('resp-a', 'component:default/owned-b'), tok.editorOwn), 403, /owned by group:default\/team-b/);
    const del = await srv.fetch('/api/v1/entities/responsibilities/default/resp-a2', { method: 'DELETE', token: tok.editorOther });
    assert.equal(del.status, 403);
    await del.arrayBuffer();
    const ok = await srv.fetch('/api/v1/entities/responsibilities/default/resp-a2', { method: 'DELETE', token: tok.editorOwn });
    assert.equal(ok.status, 204);
    await ok.arrayBuffer();
  });

  test('the audit log is for admins only and cannot be changed through the API', async () => {
    const want = { anonymous: 401, viewer: 403, ingest: 403, editorOwn: 403, editorOther: 403, admin: 200 };
    for (const a of actors) {
      const r = await srv.json('/api/v1/audit', { token: tok[a] });
      assert.equal(r.status, want[a], a);
    }
    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      const r = await srv.fetch('/api/v1/audit', { method, token: tok.admin });
      assert.equal(r.status, 405, method);
      await r.arrayBuffer();
    }
    const before = (await srv.json('/api/v1/audit?limit=1000', { token: tok.admin })).body.items;
    const del = await srv.fetch(`/api/v1/audit/${before[0].id}`, { method: 'DELETE', token: tok.admin });
    assert.equal(del.status, 404);
    await del.arrayBuffer();
    const afterItems = (await srv.json('/api/v1/audit?limit=1000', { token: tok.admin })).body.items;
    assert.deepEqual(afterItems, before);
    // refused writes leave no audit record: only 2xx writes are recorded
    const names = afterItems.flatMap((r) => r.entityRefs);
    assert.ok(!names.includes('component:default/new-editorother'));
    assert.ok(!names.includes('component:default/new-viewer'));
  });

  test('every write kind is audited with token, action, refs and request id', async () => {
    const rid = 'perm-audit-1';
    const r = await srv.json('/api/v1/entities/component/default/audited', {
      method: 'PUT', token: tok.editorOwn, body: JSON.stringify(comp('audited', 'team-a')), headers: { 'content-type': 'application/json', 'x-request-id': rid },
    });
    assert.equal(r.status, 201);
    const items = (await srv.json(`/api/v1/audit?entityRef=component:default/audited`, { token: tok.admin })).body.items;
    assert.equal(items.length, 1);
    const rec = items[0];
    assert.equal(rec.action, 'entity.create');
    assert.equal(rec.actor, 'token');
    assert.equal(rec.tokenName, 'team-a-ci');
    assert.equal(typeof rec.tokenId, 'number');
    assert.equal(rec.requestId, rid);
    assert.deepEqual(rec.entityRefs, ['component:default/audited']);
    assert.match(rec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const all = (await srv.json('/api/v1/audit?limit=1000', { token: tok.admin })).body.items;
    const actions = new Set(all.map((x) => x.action));
    for (const a of ['entity.create', 'entity.update', 'entity.delete', 'catalog.import', 'codeowners.check', 'token.create']) {
      assert.ok(actions.has(a), `no ${a} record in ${[...actions].join(', ')}`);
    }
    // token changes are made by the CLI: actor "cli", the token in detail
    const created = all.filter((x) => x.action === 'token.create');
    assert.equal(created.length, 5);
    for (const c of created) {
      assert.equal(c.actor, 'cli');
      assert.equal(c.tokenId, null);
      assert.equal(typeof c.detail.tokenId, 'number');
    }
    const scoped = created.find((c) => c.detail.name === 'team-a-ci');
    assert.equal(scoped.detail.role, 'editor');
    assert.equal(scoped.detail.team, 'group:default/team-a');
    assert.deepEqual(scoped.entityRefs, ['group:default/team-a']);
  });

  // Issue #4: event batches are audited too.
  test('event batches are audited', async (t) => {
    const doc = await srv.json('/api/v1/openapi.json');
    if (!doc.body.paths['/api/v1/events']?.post) { t.skip('no events intake in this build'); return; }
    const items = (await srv.json('/api/v1/audit?action=events.ingest', { token: tok.admin })).body.items;
    assert.equal(items.length, 3, 'one record per accepted batch (ingest, the owning team\'s editor, admin)');
    assert.ok(items.every((x) => x.actor === 'token' && x.tokenId && x.requestId));
  });

  test('a revoked token stops at once; token list shows one line per token; no secret is stored', async () => {
    const t = srv.token('editor', { team: 'group:default/team-a', name: 'short lived\tname' });
    assert.equal((await put('component', 'owned-a', comp('owned-a', 'team-a', 'before revoke'), t)).status, 200);
    // the last use is written in the background, within about a second
    let list;
    for (let i = 0; i < 50; i++) {
      list = conway(['token', 'list', '--db', srv.db]);
      if (!/short lived\?name\t[^\t]*\t[^\t]*\t[^\t]*\t-\t/.test(list.stdout)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(list.status, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 6);
    for (const l of lines) {
      const f = l.split('\t');
      assert.equal(f.length, 8, l);
      assert.match(f[0], /^\d+$/);
      assert.match(f[2], /^(admin|editor|viewer|ingest)$/);
      assert.match(f[4], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.match(f[5], /^(-|\d{4}-\d\d-\d\dT.*Z)$/);
      assert.equal(f[6], '-'); // no source prefixes
      assert.match(f[7], /^(active|revoked)$/);
    }
    const line = lines.find((l) => l.split('\t')[1] === 'short lived?name');
    assert.ok(line, list.stdout);
    const [id, , role, team, , used] = line.split('\t');
    assert.equal(role, 'editor');
    assert.equal(team, 'group:default/team-a');
    assert.notEqual(used, '-');
    assert.equal(conway(['token', 'revoke', '--db', srv.db, id]).status, 0);
    assertProblem(await put('component', 'owned-a', comp('owned-a', 'team-a', 'after revoke'), t), 401, /unknown or revoked/);
    assert.match(conway(['token', 'list', '--db', srv.db]).stdout, new RegExp(`^${id}\\t.*\\trevoked$`, 'm'));
    const revoked = (await srv.json('/api/v1/audit?action=token.revoke', { token: tok.admin })).body.items;
    assert.equal(revoked.length, 1);
    assert.equal(revoked[0].detail.tokenId, Number(id));

    const raw = srv.rawDatabase();
    for (const secret of [...Object.values(tok).filter(Boolean), t]) {
      assert.equal(raw.indexOf(secret), -1, 'a token secret is stored');
      assert.equal(raw.indexOf(secret.slice(3)), -1, 'a token secret (without prefix) is stored');
    }
    assert.ok(raw.length > 4096);
  });
});

// Issue #10 item 7: a team cannot take over another team's delivery events
// by claiming the other's link key (service id, name, repository, slug).
describe('link keys claimed twice', () => {
  let srv, tok;
  const annotated = (name, owner, annotations, ns) => ({
    apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
    metadata: { name, ...(ns ? { namespace: ns } : {}), ...(annotations ? { annotations } : {}) },
    spec: { type: 'service', lifecycle: 'production', owner },
  });
  const deployed = (id, service) => ({
    context: { specversion: '0.5.1', id, source: '/ci/link-test', type: 'dev.cdevents.service.deployed.0.3.0', timestamp: '2026-01-05T10:00:00Z' },
    subject: { id: service, content: { environment: { id: 'production' }, artifactId: `pkg:generic/${service}@1` } },
  });
  const merged = (id, repo) => ({
    context: { specversion: '0.5.1', id, source: '/ci/link-test', type: 'dev.cdevents.change.merged.0.3.0', timestamp: '2026-01-05T09:00:00Z' },
    subject: { id: `pr-${id}`, content: { repository: { id: repo } } },
  });
  before(async () => {
    const dir = tempDir();
    const seed = join(dir, 'seed.yaml');
    writeFileSync(seed, yaml([group('team-a'), group('team-b'),
      JSON.stringify(annotated('pay', 'team-b', { 'conway.dev/service-id': 'pay-svc', 'github.com/project-slug': 'acme/pay' })) + '\n',
      JSON.stringify(annotated('checkout', 'team-b')) + '\n',
      JSON.stringify(annotated('mine', 'team-a')) + '\n']));
    srv = await startServer({ publicRead: false, imports: [seed] });
    tok = {
      a: srv.token('editor', { team: 'group:default/team-a', name: 'team-a-ci' }),
      admin: srv.token('admin', { name: 'root' }),
    };
  });
  after(async () => { await srv.stop(); });
  const put = (name, body, token, ns = 'default') => srv.json(`/api/v1/entities/component/${ns}/${name}`, {
    method: 'PUT', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' },
  });
  const componentOf = async (id) => {
    const r = await srv.json('/api/v1/events?limit=1000', { token: tok.admin });
    assert.equal(r.status, 200);
    const e = r.body.items.find((x) => x.id === id);
    assert.ok(e, `event ${id} listed`);
    return e.component;
  };
  const send = async (ev) => {
    const r = await srv.json('/api/v1/events', { method: 'POST', token: tok.admin, body: JSON.stringify(ev), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
  };

  test('a team-scoped write that would claim another component\'s key is refused with 409, in every form', async () => {
    await send(deployed('d1', 'pay-svc'));
    await send(deployed('d2', 'checkout'));
    await send(merged('m1', 'acme/pay'));
    assert.equal(await componentOf('d1'), 'component:default/pay');
    // the other team's service id, its name, a path ending in its name, its slug (another case)
    const attempts = [
      [{ 'conway.dev/service-id': 'pay-svc' }, /metadata\.annotations\.conway\.dev\/service-id: component:default\/mine would claim the service id 'pay-svc', which component:default\/pay \(owned by group:default\/team-b\) already claims/],
      [{ 'conway.dev/service-id': 'checkout' }, /service id 'checkout', which component:default\/checkout \(owned by group:default\/team-b\)/],
      [{ 'conway.dev/service-id': 'k8s/prod/checkout' }, /service id 'k8s\/prod\/checkout', which component:default\/checkout/],
      [{ 'github.com/project-slug': 'ACME/Pay' }, /project-slug: .*repository id 'ACME\/Pay', which component:default\/pay/],
      [{ 'conway.dev/repository': 'acme/pay' }, /conway\.dev\/repository: .*repository id 'acme\/pay'/],
    ];
    for (const [ann, re] of attempts) {
      const r = await put('mine', annotated('mine', 'team-a', ann), tok.a);
      assertProblem(r, 409, re);
      assert.equal(r.body.conflictsWith.startsWith('component:default/'), true);
      assert.ok(['service', 'repository'].includes(r.body.linkKey.kind));
    }
    // a new component of the same name in another namespace claims the name
    assertProblem(await put('checkout', annotated('checkout', 'group:default/team-a', null, 'aaa'), tok.a, 'aaa'), 409,
      /metadata\.name: component:aaa\/checkout would claim the service id 'checkout', which component:default\/checkout/);
    // nothing was stored, and the events still link to team-b
    assert.equal((await srv.json('/api/v1/entities/component/default/mine', { token: tok.admin })).body.metadata.annotations, undefined);
    assert.equal((await srv.json('/api/v1/entities/component/aaa/checkout', { token: tok.admin })).status, 404);
    assert.equal(await componentOf('d1'), 'component:default/pay');
    assert.equal(await componentOf('d2'), 'component:default/checkout');
    assert.equal(await componentOf('m1'), 'component:default/pay');
    // import alike: the whole request is refused, also for two of its own documents
    let r = await srv.json('/api/v1/import', { method: 'POST', token: tok.a, headers: { 'content-type': 'application/json' },
      body: JSON.stringify([annotated('other-a', 'team-a'), annotated('mine', 'team-a', { 'conway.dev/service-id': 'pay-svc' })]) });
    assertProblem(r, 409, /component:default\/mine would claim the service id 'pay-svc'/);
    r = await srv.json('/api/v1/import', { method: 'POST', token: tok.a, headers: { 'content-type': 'application/json' },
      body: JSON.stringify([annotated('twin-1', 'team-a', { 'conway.dev/service-id': 'twin' }), annotated('twin-2', 'team-a', { 'conway.dev/service-id': 'twin' })]) });
    assertProblem(r, 409, /would claim the service id 'twin', which component:default\/twin-[12] \(in this request\) already claims/);
    assert.equal((await srv.json('/api/v1/entities/component/default/other-a', { token: tok.admin })).status, 404);
    assert.equal((await srv.json('/api/v1/entities/component/default/twin-1', { token: tok.admin })).status, 404);
    // a big import (checked through an index of the result) alike
    const many = Array.from({ length: 12 }, (_, i) => annotated(`bulk-${i}`, 'team-a', { 'conway.dev/service-id': `bulk-svc-${i}` }));
    r = await srv.json('/api/v1/import', { method: 'POST', token: tok.a, headers: { 'content-type': 'application/json' },
      body: JSON.stringify([...many, annotated('bulk-x', 'team-a', { 'github.com/project-slug': 'Acme/Pay' })]) });
    assertProblem(r, 409, /component:default\/bulk-x would claim the repository id 'Acme\/Pay', which component:default\/pay/);
    r = await srv.json('/api/v1/import', { method: 'POST', token: tok.a, headers: { 'content-type': 'application/json' },
      body: JSON.stringify([...many, annotated('bulk-y', 'team-a', { 'conway.dev/service-id': 'bulk-svc-3' })]) });
    assertProblem(r, 409, /component:default\/bulk-(y|3) would claim the service id 'bulk-svc-3', which component:default\/bulk-(3|y) \(in this request\)/);
    r = await srv.json('/api/v1/import', { method: 'POST', token: tok.a, headers: { 'content-type': 'application/json' }, body: JSON.stringify(many) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.created, 12);
    // a key of its own is fine, also one equal to its own name
    assert.equal((await put('mine', annotated('mine', 'team-a', { 'conway.dev/service-id': 'mine' }), tok.a)).status, 200);
  });

  test('an admin\'s write is stored: the key then links to nothing and a link-key-conflict finding names both', async () => {
    assert.equal((await put('mine', annotated('mine', 'team-a', { 'conway.dev/service-id': 'pay-svc' }), tok.admin)).status, 200);
    assert.equal(await componentOf('d1'), null);
    const un = await srv.json('/api/v1/events/unmatched', { token: tok.admin });
    assert.ok(un.body.keys.some((k) => k.kind === 'service' && k.value === 'pay-svc'), JSON.stringify(un.body.keys));
    const f = await srv.json('/api/v1/insights/ownership?rule=link-key-conflict', { token: tok.admin });
    assert.equal(f.status, 200);
    assert.equal(f.body.findings.length, 1, JSON.stringify(f.body.findings));
    const x = f.body.findings[0];
    assert.equal(x.severity, 'error');
    assert.deepEqual(x.entities, ['component:default/mine', 'component:default/pay']);
    assert.deepEqual(x.linkKey, { kind: 'service', value: 'pay-svc' });
    assert.deepEqual(x.teams, ['group:default/team-a', 'group:default/team-b']);
    for (const team of ['team-a', 'team-b']) {
      const t = await srv.json(`/api/v1/insights/ownership?rule=link-key-conflict&team=${team}`, { token: tok.admin });
      assert.equal(t.body.findings.length, 1, team);
    }
    // the CLI check gates on it
    const c = conway(['check', 'ownership', '--db', srv.db, '--rule', 'link-key-conflict']);
    assert.equal(c.status, 1);
    assert.match(c.stdout, /^error link-key-conflict component:default\/mine: /m);
    // a conflict the team did not make does not block its other edits ...
    assert.equal((await put('mine', { ...annotated('mine', 'team-a', { 'conway.dev/service-id': 'pay-svc' }), metadata: { name: 'mine', description: 'x', annotations: { 'conway.dev/service-id': 'pay-svc' } } }, tok.a)).status, 200);
    // ... but a new one does; and fixing it links the events again
    assertProblem(await put('mine', annotated('mine', 'team-a', { 'conway.dev/service-id': 'pay-svc', 'github.com/project-slug': 'acme/pay' }), tok.a), 409, /repository id 'acme\/pay'/);
    assert.equal((await put('mine', annotated('mine', 'team-a'), tok.a)).status, 200);
    assert.equal(await componentOf('d1'), 'component:default/pay');
    assert.equal((await srv.json('/api/v1/insights/ownership?rule=link-key-conflict', { token: tok.admin })).body.findings.length, 0);
  });
});

// Issue #10 item 8: --team on ingest tokens scopes what they may send,
// --team is refused where it means nothing, tokens may be bound to
// context.source prefixes, and a known (source, id) with another body is a
// conflict, not a silent duplicate.
describe('scoped event intake', () => {
  let srv, tok;
  const ev = (id, service, { source = '/team-b/ci', type = 'dev.cdevents.service.deployed.0.3.0', artifact = '1' } = {}) => ({
    context: { specversion: '0.5.1', id, source, type, timestamp: '2026-02-01T10:00:00Z' },
    subject: { id: service, content: { environment: { id: 'production' }, artifactId: `pkg:generic/${service}@${artifact}` } },
  });
  const change = (id, repo, source = '/team-b/ci') => ({
    context: { specversion: '0.5.1', id, source, type: 'dev.cdevents.change.merged.0.3.0', timestamp: '2026-02-01T09:00:00Z' },
    subject: { id: `pr-${id}`, content: { repository: { id: repo } } },
  });
  const pipeline = (id) => ({
    context: { specversion: '0.5.1', id, source: '/team-b/ci', type: 'dev.cdevents.pipelinerun.started.0.2.0', timestamp: '2026-02-01T09:00:00Z' },
    subject: { id: `run-${id}`, content: { pipelineName: 'build', url: 'https://ci.example/run' } },
  });
  before(async () => {
    const dir = tempDir();
    const seed = join(dir, 'seed.yaml');
    const c = (name, owner, annotations) => JSON.stringify({ apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name, annotations }, spec: { type: 'service', lifecycle: 'production', owner } }) + '\n';
    writeFileSync(seed, yaml([group('team-a'), group('team-b'), c('a-svc', 'team-a', {}), c('b-svc', 'team-b', { 'github.com/project-slug': 'acme/b' })]));
    srv = await startServer({ publicRead: false, imports: [seed] });
    tok = {
      teamB: srv.token('ingest', { team: 'group:default/team-b', name: 'team-b-pipeline' }),
      sourceB: srv.token('ingest', { name: 'b-sources', sources: ['/team-b/', 'https://ci.example/b/,urn:b:'] }),
      ingest: srv.token('ingest', { name: 'any' }),
      admin: srv.token('admin', { name: 'root' }),
    };
  });
  after(async () => { await srv.stop(); });
  const post = (body, token, type = 'application/json') => srv.json('/api/v1/events', {
    method: 'POST', token, headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const stored = async (id) => (await srv.json('/api/v1/events?limit=1000', { token: tok.admin })).body.items.filter((e) => e.id === id);

  test('--team is refused where it has no meaning; --source only for the roles that send events', () => {
    for (const role of ['viewer', 'admin']) {
      const r = conway(['token', 'create', '--db', srv.db, '--role', role, '--team', 'team-a']);
      assert.equal(r.status, 2, role);
      assert.match(r.stderr, /--team applies to editor and ingest tokens only/);
      const s = conway(['token', 'create', '--db', srv.db, '--role', role, '--source', '/x/']);
      assert.equal(s.status, 2, role);
      assert.match(s.stderr, /--source applies to ingest and editor tokens only/);
    }
    const bad = conway(['token', 'create', '--db', srv.db, '--role', 'ingest', '--source', '/a/,,/b/']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--source: empty prefix/);
    const list = conway(['token', 'list', '--db', srv.db]).stdout;
    const line = list.split('\n').find((l) => l.split('\t')[1] === 'b-sources');
    assert.equal(line.split('\t')[6], '/team-b/,https://ci.example/b/,urn:b:');
    assert.equal(list.trim().split('\n').length, 4, 'no token was created by the refused commands');
    const help = conway(['token', '--help']);
    assert.match(help.stdout, /--source PREFIX/);
    assert.match(help.stdout, /Viewer and admin tokens cannot be scoped/);
  });

  test('a team-scoped ingest token sends only events that link to its team\'s components, all or nothing', async () => {
    let r = await post(ev('t1', 'b-svc'), tok.teamB);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal((await post(change('t2', 'ACME/B'), tok.teamB)).status, 202);
    // another team's component, in a batch whose first event is fine: nothing stored
    r = await post([ev('t3', 'b-svc'), ev('t4', 'a-svc')], tok.teamB);
    assertProblem(r, 403, /^events\[1\]: this token is scoped to group:default\/team-b and may send only events about that team's components; service 'a-svc' is component:default\/a-svc, owned by group:default\/team-a$/);
    assert.deepEqual(await stored('t3'), []);
    // NDJSON alike
    r = await post(`${JSON.stringify(ev('t5', 'b-svc'))}\n${JSON.stringify(change('t6', 'acme/a'))}\n`, tok.teamB, 'application/x-ndjson');
    assertProblem(r, 403, /^events\[1\]: .*repository 'acme\/a' matches no Component/);
    assert.deepEqual(await stored('t5'), []);
    // keys that match nothing, or name nothing
    assertProblem(await post(ev('t7', 'ghost'), tok.teamB), 403, /service 'ghost' matches no Component/);
    assertProblem(await post(pipeline('t8'), tok.teamB), 403, /this dev\.cdevents\.pipelinerun\.started\.0\.2\.0 event names no service or repository/);
    // an unscoped ingest token sends them all
    assert.equal((await post([ev('t3', 'b-svc'), ev('t4', 'a-svc'), pipeline('t8')], tok.ingest)).status, 202);
  });

  test('a token bound to source prefixes sends only under them', async () => {
    assert.equal((await post([ev('s1', 'a-svc', { source: '/team-b/deploy' }), ev('s2', 'a-svc', { source: 'urn:b:1' })], tok.sourceB)).status, 202);
    const r = await post([ev('s3', 'a-svc', { source: 'https://ci.example/b/x' }), ev('s4', 'a-svc', { source: '/team-a/ci' })], tok.sourceB);
    assertProblem(r, 403, /^events\[1\]\.context\.source: '\/team-a\/ci' is not one this token may send under \(its sources start with: \/team-b\/,https:\/\/ci\.example\/b\/,urn:b:\)$/);
    assert.deepEqual(await stored('s3'), []);
    // a prefix is a prefix of the text, not of a path segment: '/team-b' alone is not under '/team-b/'
    assertProblem(await post(ev('s5', 'a-svc', { source: '/team-b' }), tok.sourceB), 403, /context\.source/);
  });

  test('a known (source, id) with another body is counted as a conflict, in the answer and the audit log', async () => {
    const first = ev('c1', 'a-svc', { source: '/shared-ci' });
    let r = await post(first, tok.ingest);
    assert.deepEqual(r.body, { accepted: 1, duplicates: 0, conflicts: 0 });
    // the same event again (members in another order) is a retry
    const reordered = { subject: first.subject, context: first.context };
    r = await post(reordered, tok.ingest);
    assert.deepEqual(r.body, { accepted: 0, duplicates: 1, conflicts: 0 });
    // another pipeline's event under the same (source, id)
    r = await post(ev('c1', 'a-svc', { source: '/shared-ci', artifact: '666' }), tok.admin);
    assert.equal(r.status, 202);
    assert.deepEqual(r.body, { accepted: 0, duplicates: 0, conflicts: 1 });
    const s = await stored('c1');
    assert.equal(s.length, 1);
    assert.equal(s[0].artifactId, 'pkg:generic/a-svc@1', 'the first event stays');
    const audit = (await srv.json('/api/v1/audit?action=events.ingest&limit=1000', { token: tok.admin })).body.items;
    assert.deepEqual(audit[0].detail, { accepted: 0, duplicates: 0, conflicts: 1 });
    assert.deepEqual(audit[1].detail, { accepted: 0, duplicates: 1, conflicts: 0 });
  });
});

// Issue #10 item 16: recording a token's last use must never hold up a
// request. Another process holds the database's write lock (SQLite) or the
// token rows (PostgreSQL), as an import or a revoke would: a first read
// with a token must be answered while the lock is still held, and the
// figure must reach the database once the lock is gone.
describe('token bookkeeping never blocks a request', () => {
  // A session of the backend's own client holding the lock until release().
  function holdLock(db) {
    const child = usePostgres
      ? spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', db], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
    const held = new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => { out += c; if (out.includes('locked')) resolve(); });
      child.stderr.on('data', (c) => reject(new Error(String(c))));
    });
    child.stdin.write(usePostgres ? "BEGIN;\nSELECT id FROM tokens FOR UPDATE;\n\\echo locked\n"
      : "BEGIN IMMEDIATE;\nSELECT 'locked';\n");
    const exited = new Promise((r) => child.once('exit', r));
    return {
      held,
      async release() {
        child.stdin.end(usePostgres ? 'ROLLBACK;\n\\q\n' : 'ROLLBACK;\n.quit\n');
        await exited;
      },
    };
  }

  test('a read answers while another session holds the lock; its last use is recorded after', async () => {
    const srv = await startServer({ publicRead: false });
    try {
      const viewer = srv.token('viewer', { name: 'reader' });
      const lock = holdLock(srv.db);
      await lock.held;
      let released = false;
      const releasing = new Promise((r) => setTimeout(async () => { released = true; await lock.release(); r(); }, 3000));
      const r = await srv.json('/api/v1/entities?limit=1', { token: viewer });
      const answeredWhileLocked = !released;
      await releasing;
      assert.equal(r.status, 200);
      assert.ok(answeredWhileLocked, 'the read waited for the lock to be released');
      // the figure is not lost: written in the background once the lock is gone
      let used = '-';
      for (let i = 0; i < 100 && used === '-'; i++) {
        const line = conway(['token', 'list', '--db', srv.db]).stdout.split('\n').find((l) => l.split('\t')[1] === 'reader');
        used = line.split('\t')[5];
        if (used === '-') await new Promise((res) => setTimeout(res, 100));
      }
      assert.match(used, /^\d{4}-\d\d-\d\dT/);
    } finally {
      await srv.stop();
    }
  });
});
