// remote.test.mjs — the CLI's remote mode (issue 18) against a real `conway
// serve` holding the demo organisation and its generated delivery history:
// `conway get entities|entity|teams|findings|events`, `conway dora`,
// `conway undeployed`, `conway coupling` print what the API answers (-o
// json: the same data, keys sorted), tables with a header, YAML; --server
// and --token from flags, environment and a configuration file; errors.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, repoRoot, tempDir } from './helpers.mjs';

describe('conway get / dora / undeployed / coupling against a server', () => {
  let srv, tok, remote;
  before(async () => {
    srv = await startServer({ publicRead: false, imports: [join(repoRoot, 'demo', 'org')] });
    const dir = tempDir();
    const history = join(dir, 'history.ndjson');
    writeFileSync(history, execFileSync('node', [join(repoRoot, 'demo', 'generate-history.mjs')], { maxBuffer: 256 << 20 }));
    const ev = conway(['events', 'import', '-q', '--db', srv.db, history]);
    assert.equal(ev.status, 0, ev.stderr);
    tok = srv.token('viewer', { name: 'cli-remote' });
    remote = (args, env = {}) => conway([...args, '--server', srv.url, '--token', tok], { env });
  });
  after(async () => { await srv.stop(); });
  const api = async (path) => {
    const r = await srv.json(path, { token: tok });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const allPages = async (path) => {
    const items = [];
    let cursor = null;
    do {
      const b = await api(path + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''));
      items.push(...b.items);
      cursor = b.nextCursor;
    } while (cursor);
    return items;
  };

  test('get entities -o json is every page of the API\'s list; filters pass through', async () => {
    const r = remote(['get', 'entities', '--kind', 'component', '--owner', 'team-playback', '-o', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const want = await allPages('/api/v1/entities?kind=component&owner=team-playback&limit=1000');
    assert.ok(want.length > 0);
    assert.deepEqual(JSON.parse(r.stdout), want);
    const all = JSON.parse(remote(['get', 'entities', '-o', 'json']).stdout);
    assert.equal(all.length, 151, 'more than one page of the default size, all of them (demo/README.md: 151 entities)');
    assert.equal(JSON.parse(remote(['get', 'entities', '--limit', '7', '-o', 'json']).stdout).length, 7);
  });

  test('without -o and not on a terminal the output is JSON with sorted keys, byte for byte stable', () => {
    const name = JSON.parse(remote(['get', 'entities', '--kind', 'component', '--limit', '1']).stdout)[0].metadata.name;
    const a = remote(['get', 'entity', `component:default/${name}`]);
    const b = remote(['get', 'entity', name, '-o', 'json']);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const keys = Object.keys(JSON.parse(a.stdout));
    assert.deepEqual(keys, [...keys].sort());
  });

  test('get entity: table with a header, YAML, 404 names the entity', async () => {
    const list = JSON.parse(remote(['get', 'entities', '--kind', 'component', '--limit', '1', '-o', 'json']).stdout);
    const name = list[0].metadata.name;
    const t = remote(['get', 'entity', name, '-o', 'table']);
    assert.equal(t.status, 0, t.stderr);
    const [head, row] = t.stdout.trim().split('\n');
    assert.match(head, /^KIND\s+NAME\s+TYPE\s+OWNER\s+LIFECYCLE\s+SYSTEM\s+TITLE$/);
    assert.match(row, new RegExp(`^Component\\s+${name}\\s+${list[0].spec.type}\\s+${list[0].spec.owner}`));
    assert.ok(!t.stdout.includes('\x1b['), 'no colour when stdout is not a terminal');
    const y = remote(['get', 'entity', name, '-o', 'yaml']);
    assert.match(y.stdout, new RegExp(`^kind: "Component"$`, 'm'));
    assert.match(y.stdout, new RegExp(`^  name: "${name}"$`, 'm'));
    const missing = remote(['get', 'entity', 'api:default/no-such-api']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /answered 404 Not Found: .*API:default\/no-such-api/);
  });

  test('get teams lists the groups; get findings equals GET /api/v1/insights/ownership', async () => {
    const teams = remote(['get', 'teams', '-o', 'table']).stdout.trim().split('\n');
    assert.match(teams[0], /^NAME\s+TITLE\s+TYPE\s+PARENT\s+MEMBERS$/);
    const groups = await allPages('/api/v1/entities?kind=group&limit=1000');
    assert.equal(teams.length, groups.length + 1);
    const f = remote(['get', 'findings', '--severity', 'error', '-o', 'json']);
    assert.deepEqual(JSON.parse(f.stdout), await api('/api/v1/insights/ownership?severity=error'));
    const ft = remote(['get', 'findings', '--severity', 'error', '-o', 'table']).stdout.trim().split('\n');
    assert.match(ft[0], /^SEVERITY\s+RULE\s+ENTITY\s+DETAIL$/);
    assert.ok(ft.slice(1).every((l) => l.startsWith('error ')));
  });

  test('get events: newest first, --limit, --type', async () => {
    const r = remote(['get', 'events', '--type', 'dev.cdevents.service.deployed', '--limit', '5', '-o', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.equal(got.length, 5);
    assert.deepEqual(got, (await api('/api/v1/events?type=dev.cdevents.service.deployed&limit=5')).items);
    const t = remote(['get', 'events', '--limit', '3', '-o', 'table']).stdout.trim().split('\n');
    assert.equal(t.length, 4);
    assert.match(t[0], /^TIME\s+TYPE\s+SUBJECT\s+COMPONENT\s+SOURCE\s+ID$/);
  });

  test('dora, undeployed and coupling print the API\'s documents; dora\'s table reads in hours', async () => {
    const from = new Date(Date.now() - 90 * 86400e3).toISOString();
    const to = new Date(Date.now() + 86400e3).toISOString().slice(0, 13) + ':00:00Z';
    const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const d = remote(['dora', '--scope', 'org', '--from', from, '--to', to, '-o', 'json']);
    assert.equal(d.status, 0, d.stderr);
    const dora = JSON.parse(d.stdout);
    assert.deepEqual(dora, await api(`/api/v1/insights/dora?scope=org&${q}`));
    assert.ok(dora.deployments > 0, 'the history has deployments');
    const table = remote(['dora', '--from', from, '--to', to, '-o', 'table']).stdout;
    assert.match(table, /^METRIC\s+VALUE\s+P90\s+LEVEL$/m);
    assert.match(table, new RegExp(`^deployments\\s+${dora.deployments}\\s`, 'm'));
    const p50h = dora.leadTimeSeconds.p50 / 3600;
    assert.match(table, new RegExp(`^lead time p50 \\(hours\\)\\s+${Number(p50h.toPrecision(4))}\\s`, 'm'));
    const u = remote(['undeployed', '-o', 'json']);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(Object.keys(JSON.parse(u.stdout)).sort(), Object.keys(await api('/api/v1/insights/undeployed')).sort());
    assert.match(remote(['undeployed', '-o', 'table']).stdout, /^COMPONENT\s+CHANGES\s+OLDEST MERGE\s+AGE$/m);
    const c = remote(['coupling', '--from', from, '--to', to, '-o', 'json']);
    assert.deepEqual(JSON.parse(c.stdout), await api(`/api/v1/insights/coupling?${q}`));
    const scoped = remote(['dora', '--scope', 'group:default/no-such-team']);
    assert.equal(scoped.status, 1);
    assert.match(scoped.stderr, /answered 404/);
  });

  test('--server and --token from CONWAY_SERVER / CONWAY_TOKEN and from a configuration file', () => {
    const env = conway(['get', 'teams', '-o', 'json'], { env: { CONWAY_SERVER: srv.url, CONWAY_TOKEN: tok } });
    assert.equal(env.status, 0, env.stderr);
    const conf = join(tempDir(), 'conway.conf');
    writeFileSync(conf, `server = ${srv.url}\ntoken = ${tok}\noutput = yaml\n`, { mode: 0o600 });
    const file = conway(['get', 'teams', '--config', conf]);
    assert.equal(file.status, 0, file.stderr);
    assert.match(file.stdout, /^- apiVersion: /, 'output = yaml from the file');
    assert.equal(conway(['get', 'teams', '-c', conf, '-o', 'json']).stdout, env.stdout, 'the flag beats the file');
  });

  test('without a token, a wrong token, no server, a bad -o: clear errors, never the token', () => {
    const none = conway(['get', 'entities', '--server', srv.url]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /answered 401.*\n.*--token or CONWAY_TOKEN/);
    const wrong = conway(['get', 'entities', '--server', srv.url, '--token', 'cw_wrongsecretvalue']);
    assert.equal(wrong.status, 1);
    assert.ok(!wrong.stderr.includes('cw_wrongsecretvalue'));
    const noServer = conway(['dora']);
    assert.equal(noServer.status, 2);
    assert.match(noServer.stderr, /--server URL \(or CONWAY_SERVER\)/);
    const badUrl = conway(['dora', '--server', 'localhost:7700']);
    assert.equal(badUrl.status, 2);
    assert.match(badUrl.stderr, /http:\/\/HOST:PORT/);
    const down = conway(['undeployed', '--server', 'http://127.0.0.1:1']);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /http:\/\/127\.0\.0\.1:1: .*(refused|connect)/i);
    const fmt = remote(['get', 'teams', '-o', 'xml']);
    assert.equal(fmt.status, 2);
    assert.match(fmt.stderr, /-o: 'xml' is not table, json or yaml/);
    const misplaced = remote(['get', 'teams', '--rule', 'owner-missing']);
    assert.equal(misplaced.status, 2);
    assert.match(misplaced.stderr, /--rule does not apply here \(it takes: limit\)/);
    const notUndeployed = remote(['undeployed', '--from', '2026-01-01T00:00:00Z']);
    assert.equal(notUndeployed.status, 2);
    assert.match(notUndeployed.stderr, /--from does not apply here \(it takes: scope\)/);
    const what = remote(['get', 'widgets']);
    assert.equal(what.status, 2);
    assert.match(what.stderr, /give entities, entity REF, teams, findings or events/);
  });

  test('token list -o json|table|yaml; the tab-separated default stays', () => {
    const j = JSON.parse(conway(['token', 'list', '--db', srv.db, '-o', 'json']).stdout);
    const mine = j.find((t) => t.name === 'cli-remote');
    assert.deepEqual(Object.keys(mine).sort(), ['created', 'id', 'lastUsed', 'name', 'role', 'sources', 'status', 'team']);
    assert.equal(mine.role, 'viewer');
    assert.equal(mine.status, 'active');
    assert.ok(!JSON.stringify(j).includes(tok));
    const t = conway(['token', 'list', '--db', srv.db, '-o', 'table']).stdout.split('\n');
    assert.match(t[0], /^ID\s+NAME\s+ROLE\s+TEAM\s+CREATED\s+LAST-USED\s+SOURCES\s+STATUS$/);
    assert.equal(conway(['token', 'list', '--db', srv.db]).stdout.split('\n')[0].split('\t').length, 8);
    assert.match(conway(['token', 'list', '--db', srv.db, '-o', 'yaml']).stdout, /^- created: "/);
  });
});
