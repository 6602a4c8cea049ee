// remote_write.test.mjs — the CLI's remote writes (issue 18): `conway import
// --server URL` posts catalog files and directories to /api/v1/import and
// `conway events import --server URL` posts events to /api/v1/events, with
// the token from --token or CONWAY_TOKEN; the server then holds what a local
// import would have written. Refused documents and events exit 1 and are
// named; a viewer token is refused; --server with --db or
// --delete-orphans is a usage error.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, repoRoot, tempDir } from './helpers.mjs';

describe('conway import / events import --server', () => {
  let srv, editor, viewer, dir;
  before(async () => {
    srv = await startServer({ publicRead: false });
    editor = srv.token('editor', { name: 'cli-writer' });
    viewer = srv.token('viewer', { name: 'cli-reader' });
    dir = tempDir();
  });
  after(async () => { await srv.stop(); });
  const count = async (kind) => (await srv.json(`/api/v1/entities?kind=${kind}&limit=1`, { token: viewer })).body.totalItems;

  test('a directory is imported through the API, as a local import would', async () => {
    const r = conway(['import', '--server', srv.url, '--token', editor, join(repoRoot, 'demo', 'org')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^imported (\d+) entities \(\1 created, 0 updated\), 0 unchanged, 0 rejected, from \d+ files to http:\/\/127\.0\.0\.1:\d+\n$/);
    const local = tempDir();
    const l = conway(['import', '--db', join(local, 'c.db'), join(repoRoot, 'demo', 'org')]);
    assert.equal(l.status, 0, l.stderr);
    const n = Number(/imported (\d+) entities/.exec(l.stdout)[1]);
    assert.equal(Number(/imported (\d+) entities/.exec(r.stdout)[1]), n);
    assert.ok(await count('Component') > 0);
    assert.ok(await count('Group') > 0);
    // again: every entity unchanged, from the environment's server and token
    const again = conway(['import', join(repoRoot, 'demo', 'org')], { env: { CONWAY_SERVER: srv.url, CONWAY_TOKEN: editor } });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`imported 0 entities \\(0 created, 0 updated\\), ${n} unchanged, 0 rejected`));
  });

  test('rejected documents are named and exit 1; the others are stored', async () => {
    const f = join(dir, 'mixed.yaml');
    writeFileSync(f, 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: "bad name"}\nspec: {}\n---\n'
      + 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: remote-ok}\nspec: {type: service, lifecycle: production, owner: team-playback}\n');
    const r = conway(['import', '-s', srv.url, '--token', editor, f]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /imported 1 entities \(1 created, 0 updated\), 0 unchanged, 1 rejected, from 1 file to/);
    assert.match(r.stderr, /mixed\.yaml: document 0 component:default\/bad name: metadata\.name: "bad name" is not a valid entity name/);
    assert.equal((await srv.json('/api/v1/entities/component/default/remote-ok', { token: viewer })).status, 200);
    // every document rejected: the problem's report is read the same way
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: "also bad"}\nspec: {}\n');
    const b = conway(['import', '-s', srv.url, '--token', editor, bad]);
    assert.equal(b.status, 1);
    assert.match(b.stdout, /0 unchanged, 1 rejected, from 1 file/);
    assert.match(b.stderr, /bad\.yaml: document 0 component:default\/also bad/);
  });

  test('a viewer token is refused, a directory without catalog files is an error', async () => {
    const r = conway(['import', '--server', srv.url, '--token', viewer, join(repoRoot, 'demo', 'org', 'groups.yaml')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the server answered 403/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'README.txt'), 'nothing');
    const e = conway(['import', '--server', srv.url, '--token', editor, empty]);
    assert.equal(e.status, 1);
    assert.match(e.stderr, /no catalog files/);
    const both = conway(['import', '--server', srv.url, '--db', join(dir, 'x.db'), empty]);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /not both/);
    const orphans = conway(['import', '--server', srv.url, '--delete-orphans', empty]);
    assert.equal(orphans.status, 2);
  });

  test('events are sent in NDJSON requests and counted; a bad line is named', async () => {
    const history = join(dir, 'history.ndjson');
    const text = execFileSync('node', [join(repoRoot, 'demo', 'generate-history.mjs')], { maxBuffer: 256 << 20 }).toString();
    writeFileSync(history, text);
    const lines = text.split('\n').filter((l) => l.trim()).length;
    const ingest = srv.token('ingest', { name: 'cli-ingest' });
    const r = conway(['events', 'import', '--server', srv.url, '--token', ingest, history]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^imported ${lines} events \\(${lines} new, 0 duplicates\\), 0 rejected, from 1 file to `));
    const dora = await srv.json('/api/v1/insights/dora?scope=org', { token: viewer });
    assert.ok(dora.body.deployments > 0);
    // three times over from stdin (more than one 4 MiB request): duplicates
    assert.ok(text.length * 3 > 4 << 20, 'the input needs two requests');
    const again = conway(['events', 'import', '-'], { input: text + text + text, env: { CONWAY_SERVER: srv.url, CONWAY_TOKEN: ingest } });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`\\(0 new, ${3 * lines} duplicates\\)`));
    // one JSON array file
    const arr = join(dir, 'one.json');
    writeFileSync(arr, JSON.stringify([JSON.parse(text.split('\n')[0])]));
    const one = conway(['events', 'import', '-s', srv.url, '--token', ingest, arr]);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /imported 1 events \(0 new, 1 duplicates\)/);
    // a bad line refuses its request and is named
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${text.split('\n')[0]}\n{"context":{}}\n`);
    const b = conway(['events', 'import', '-s', srv.url, '--token', ingest, bad]);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /the server answered 400 Bad Request: line 2: events\[1\]\.subject: required/);
    assert.match(b.stderr, /bad\.ndjson: lines 1-2 were not stored/);
    assert.match(b.stdout, /2 rejected/);
  });
});
