// cli.test.mjs — the conway command as a newcomer meets it (issue 18): error
// messages that say what to do, no password in any message, configuration
// from flags, environment and a file in that order, short flags.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as helpers from './helpers.mjs';
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

  test('a directory emptied since its last import: exit 1 with the message, and its entities are orphaned', () => {
    const dir = tempDir();
    const db = join(dir, 'c.db');
    mkdirSync(join(dir, 'cat'));
    const file = join(dir, 'cat', 'catalog-info.yaml');
    writeFileSync(file, 'apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-x\nspec:\n  type: team\n  children: []\n');
    assert.equal(conway(['import', '-q', '--db', db, join(dir, 'cat')]).status, 0);
    rmSync(file);
    const r = conway(['import', '-q', '--db', db, join(dir, 'cat')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no catalog files .* found/);
    assert.match(r.stdout, /1 entities no file holds any more marked orphan/);
  });

  test('restore documents exit status 3, check its filters, in --help and the man page', () => {
    const help = conway(['restore', '--help']).stdout;
    assert.match(help, /3 the database is in use/);
    assert.match(readFileSync(join(repoRoot, 'docs', 'conway.1'), 'utf8'), /\(exit status 3: stop the server/);
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

describe('help, completion, doctor', () => {
  test('conway help CMD is the command\'s --help; the command list names every command', () => {
    for (const cmd of ['serve', 'import', 'token', 'get', 'dora', 'doctor', 'restore']) {
      const h = conway(['help', cmd]);
      assert.equal(h.status, 0, cmd);
      assert.equal(h.stdout, conway([cmd, '--help']).stdout, cmd);
      assert.equal(h.stdout, conway([cmd, '-h']).stdout, cmd);
    }
    const list = conway(['--help']).stdout;
    for (const cmd of ['serve', 'import', 'token', 'hook', 'events', 'get', 'dora', 'undeployed', 'coupling', 'check', 'codeowners', 'backup', 'restore', 'doctor', 'help', 'completion', 'version']) {
      assert.match(list, new RegExp(`^  ${cmd} `, 'm'), cmd);
    }
    assert.equal(conway(['help', 'nope']).status, 2);
  });

  test('completion scripts for bash and zsh name the commands and their options, and load', () => {
    const bash = conway(['completion', 'bash']);
    assert.equal(bash.status, 0);
    assert.match(bash.stdout, /complete -F _conway conway/);
    // bash completes "conway get --se" to --server, "conway d" to dora and doctor
    const run = (words, cword) => execFileSync('bash', ['-c', `${bash.stdout}\nCOMP_WORDS=(${words}); COMP_CWORD=${cword}; _conway; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim();
    assert.equal(run('conway get --se', 2), '--server --severity --service');
    assert.equal(run('conway do', 1), 'dora doctor');
    const zsh = conway(['completion', 'zsh']);
    assert.match(zsh.stdout, /^#compdef conway/);
    assert.match(zsh.stdout, /get\) w="entities entity teams findings events --server/);
    assert.equal(conway(['completion', 'fish']).status, 2);
  });

  test('doctor: database facts, a missing database fails, a bad scheme fails, never a password', () => {
    const dir = tempDir();
    const db = join(dir, 'c.db');
    assert.equal(conway(['import', '-q', '--db', db, org]).status, 0);
    const ok = conway(['doctor', '--db', db, '--listen', '127.0.0.1:0', '-o', 'json']);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const checks = Object.fromEntries(JSON.parse(ok.stdout).checks.map((c) => [c.check, c]));
    assert.match(checks.database.detail, /SQLite, schema version \d+, integrity and foreign keys ok, .* \d+ tables, \d+ rows/);
    assert.equal(checks.database.status, 'ok');
    assert.match(checks.config.detail, /no configuration file; --db from command line, --listen from command line/);
    assert.equal(checks.listen.status, 'ok');
    const env = conway(['doctor', '-o', 'json'], { env: { CONWAY_DB: db } });
    assert.match(JSON.parse(env.stdout).checks[0].detail, /--db from environment, --listen from default/);
    const missing = conway(['doctor', '--db', join(dir, 'absent.db'), '-o', 'table']);
    assert.equal(missing.status, 1);
    assert.match(missing.stdout, /^fail\s+database\s+.*absent\.db: No such file/m);
    assert.ok(!existsSync(join(dir, 'absent.db')), 'doctor creates nothing');
    const pg = conway(['doctor', '--db', 'postgres://u:topsecret@127.0.0.1:1/x']);
    assert.equal(pg.status, 1);
    assert.ok(!pg.stdout.includes('topsecret') && !pg.stderr.includes('topsecret'));
  });

  test('doctor sees a conway server on the listen address', async () => {
    const { startServer } = await import('./helpers.mjs');
    const srv = await startServer({ imports: [org] });
    try {
      const r = conway(['doctor', '--db', srv.db, '--listen', `127.0.0.1:${srv.port}`, '-o', 'json']);
      const listen = JSON.parse(r.stdout).checks.find((c) => c.check === 'listen');
      assert.equal(listen.status, 'ok');
      assert.match(listen.detail, /in use by a conway server that is ready/);
    } finally { await srv.stop(); }
  });
});

describe('colour and tables on a terminal', () => {
  // script(1) gives the command a pseudo-terminal as its standard output
  const onTty = (args, env = {}) => spawnSync('script', ['-qec', args.map((a) => `'${a}'`).join(' '), '/dev/null'], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm', ...env } }).stdout;
  test('a terminal gets colour and a table by default; NO_COLOR and pipes get none', (t) => {
    if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) { t.skip('script(1) is not installed'); return; }
    const dir = tempDir();
    const db = join(dir, 'c.db');
    assert.equal(conway(['import', '-q', '--db', db, org]).status, 0);
    const { conwayBin } = helpers;
    const check = onTty([conwayBin, 'check', 'ownership', '--db', db]);
    assert.match(check, /\x1b\[31merror\x1b\[0m no-accountable /);
    assert.ok(!onTty([conwayBin, 'check', 'ownership', '--db', db], { NO_COLOR: '1' }).includes('\x1b['));
    assert.ok(!conway(['check', 'ownership', '--db', db]).stdout.includes('\x1b['), 'a pipe gets no colour');
    conway(['token', 'create', '--db', db, '--role', 'viewer', '--name', 'tty']);
    const table = onTty([conwayBin, 'token', 'list', '--db', db, '-o', 'table']);
    assert.match(table, /\x1b\[1mID\s+NAME\s+ROLE/, 'a bold header');
    const doctor = onTty([conwayBin, 'doctor', '--db', db, '--listen', '127.0.0.1:0']);
    assert.match(doctor, /STATUS\s+CHECK\s+DETAIL/, 'a table without -o on a terminal');
    assert.ok(!onTty([conwayBin, 'doctor', '--db', db, '--listen', '127.0.0.1:0'], { NO_COLOR: 'yes' }).includes('\x1b['));
  });
});

describe('documentation', () => {
  test('every option in a command\'s --help is in the man page, and every command is', () => {
    const man = readFileSync(join(repoRoot, 'docs', 'conway.1'), 'utf8').replace(/\\-/g, '-').replace(/\\f[BIRP]/g, '');
    const missing = [];
    for (const cmd of ['serve', 'import', 'token', 'hook', 'events', 'get', 'dora', 'undeployed', 'coupling', 'check', 'codeowners', 'backup', 'restore', 'doctor', 'completion', 'snapshot']) {
      if (!new RegExp(`^\\.(B|TP)?\\s*.*\\b${cmd}\\b`, 'm').test(man)) missing.push(cmd);
      const help = conway([cmd, '--help']).stdout;
      for (const opt of new Set(help.match(/--[a-z][a-z-]+/g) || [])) {
        if (!man.includes(opt)) missing.push(`${cmd} ${opt}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
