// cli.test.mjs — the conway command as a newcomer meets it (issue 18): error
// messages that say what to do, no password in any message, configuration
// from flags, environment and a file in that order, short flags.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { conway, tempDir, repoRoot } from './helpers.mjs';

const org = join(repoRoot, 'demo', 'org');

describe('CLI errors', () => {
  test('an unknown database scheme names the supported ones and creates no file', () => {
    const dir = tempDir();
    for (const url of ['mysql://app:hunter2@db/app', 'sqlite:///tmp/x.db']) {
      const r = conway(['import', '--db', url, org], { env: { HOME: dir } });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /unsupported URL scheme '(mysql|sqlite)'.*SQLite file path.*postgres:\/\//);
      assert.ok(!r.stderr.includes('hunter2'), r.stderr);
    }
    const t = conway(['token', 'list', '--db', 'mysql://x@y/z']);
    assert.equal(t.status, 1);
    assert.match(t.stderr, /unsupported URL scheme 'mysql'/);
  });

  test('a PostgreSQL password never reaches the output', () => {
    for (const url of ['postgres://conway:s3cretpw@127.0.0.1:1/conway', 'postgresql://u@127.0.0.1:1/db?password=s3cretpw&sslmode=disable']) {
      for (const args of [['import', '--db', url, org], ['token', 'list', '--db', url], ['check', 'ownership', '--db', url]]) {
        const r = conway(args);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /cannot open database/);
        assert.ok(!(r.stdout + r.stderr).includes('s3cretpw'), r.stderr);
        assert.match(r.stderr, /\*\*\*/);
      }
    }
  });

  test('token create --team refuses a team that is not in the catalog', () => {
    const dir = tempDir();
    const db = join(dir, 'c.db');
    assert.equal(conway(['import', '-q', '--db', db, org]).status, 0);
    const r = conway(['token', 'create', '--db', db, '--role', 'editor', '--team', 'no-such-team']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /group:default\/no-such-team is not in the catalog/);
    assert.equal(r.stdout, '');
    const ok = conway(['token', 'create', '--db', db, '--role', 'editor', '--team', 'tunewave']);
    assert.equal(ok.status, 0, ok.stderr);
    const later = conway(['token', 'create', '--db', db, '--role', 'ingest', '--team', 'future-team', '--allow-missing-team']);
    assert.equal(later.status, 0, later.stderr);
    const list = conway(['token', 'list', '--db', db]).stdout.trim().split('\n');
    assert.equal(list.length, 2, 'the refused token was not created');
  });

  test('importing paths without catalog files exits 1 with a message', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty', 'README.md'), '# not a catalog\n');
    const r = conway(['import', '--db', join(dir, 'c.db'), join(dir, 'empty')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no catalog files .* found/);
  });

  test('restore documents exit status 3, check its filters, in --help and the man page', () => {
    const help = conway(['restore', '--help']).stdout;
    assert.match(help, /3 the database is in use/);
    const check = conway(['check', '--help']).stdout;
    for (const o of ['--rule', '--severity', '--team', '--json']) assert.match(check, new RegExp(`^  ${o} `, 'm'), o);
    const serve = conway(['serve', '--help']).stdout;
    for (const o of ['--amqp', '--db-pool', '--activities', '--config']) assert.match(serve, new RegExp(o), o);
    for (const cmd of ['import', 'events', 'backup']) assert.match(conway([cmd, '--help']).stdout, /-q, --quiet/, cmd);
  });

  test('unknown short flags are refused by name', () => {
    const r = conway(['token', 'list', '-q']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option '-q'/);
  });
});

describe('configuration: flag, then environment, then file', () => {
  test('--config, CONWAY_* and the flag, in that order of precedence', () => {
    const dir = tempDir();
    const fileDb = join(dir, 'file.db');
    const envDb = join(dir, 'env.db');
    const flagDb = join(dir, 'flag.db');
    const conf = join(dir, 'conway.conf');
    writeFileSync(conf, `# test\ndb = "${fileDb}"\npublic-read = true\n`);
    assert.equal(conway(['import', '-q', '--config', conf, org]).status, 0);
    assert.ok(existsSync(fileDb), 'the file chose the database');
    assert.equal(conway(['import', '-q', '-c', conf, org], { env: { CONWAY_DB: envDb } }).status, 0);
    assert.ok(existsSync(envDb), 'the environment beats the file');
    assert.equal(conway(['import', '-q', '--db', flagDb, org], { env: { CONWAY_DB: envDb, CONWAY_CONFIG: conf } }).status, 0);
    assert.ok(existsSync(flagDb), 'the flag beats both');
  });

  test('a bad configuration file is refused naming the line; a missing one too when named', () => {
    const dir = tempDir();
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, 'listen = 127.0.0.1:0\nlisen = typo\n');
    const r = conway(['token', 'list', '--config', conf]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.conf: line 2: unknown key 'lisen'/);
    const m = conway(['token', 'list', '--config', join(dir, 'absent.conf')]);
    assert.equal(m.status, 2);
    assert.match(m.stderr, /absent\.conf: No such file/);
    const b = conway(['token', 'list', '--db', join(dir, 'x.db')], { env: { CONWAY_CONFIG: conf } });
    assert.equal(b.status, 2, 'CONWAY_CONFIG names a file too');
  });

  test('every setting has an environment variable: CONWAY_PUBLIC_READ, CONWAY_LOG_LEVEL', () => {
    const r = conway(['serve', '--db', join(tempDir(), 'c.db'), '--listen', '127.0.0.1:0'], { env: { CONWAY_LOG_LEVEL: 'loud' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--log-level: 'loud'/);
    const p = conway(['serve', '--listen', '127.0.0.1:0'], { env: { CONWAY_PUBLIC_READ: 'perhaps' } });
    assert.equal(p.status, 2);
    assert.match(p.stderr, /CONWAY_PUBLIC_READ: 'perhaps' is not true or false/);
  });
});
