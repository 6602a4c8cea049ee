// deps.test.mjs — scripts/deps.sh, run for real against stand-ins for the
// system: dpkg-query answers from a list of installed packages, `service`
// answers status from a list of running services and records every stop,
// apt-get and sudo record what they are asked. The script must stop a
// PostgreSQL or RabbitMQ service only when this run installed its package
// and the service was not running before (issue 10, item 18).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../api/helpers.mjs';

// Every package deps.sh asks about, read from the script itself.
const script = readFileSync(join(repoRoot, 'scripts', 'deps.sh'), 'utf8');
const ALL = script.match(/DEBIAN_PACKAGES=\(([^)]*)\)/)[1].split(/\s+/).filter(Boolean);

const STUBS = {
  'dpkg-query': `#!/bin/sh
for p; do :; done   # the package is the last argument
case " $STUB_INSTALLED " in *" $p "*) printf 'install ok installed' ;; *) exit 1 ;; esac`,
  'apt-get': '#!/bin/sh\necho "apt-get $*" >> "$STUB_LOG"',
  service: `#!/bin/sh
echo "service $*" >> "$STUB_LOG"
case "$2" in
  status) case " $STUB_RUNNING " in *" $1 "*) exit 0 ;; *) exit 3 ;; esac ;;
esac`,
  sudo: '#!/bin/sh\nexec "$@"',
  node: '#!/bin/sh\nexit 0',
  npm: '#!/bin/sh\nexit 0',
};

// Runs a copy of deps.sh (in a folder without tests/, so npm is not asked).
function runDeps({ installed, running, args = [] }) {
  const dir = mkdtempSync(join(tmpdir(), 'conway-deps-'));
  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    mkdirSync(join(dir, 'scripts'));
    for (const [name, text] of Object.entries(STUBS)) {
      writeFileSync(join(bin, name), text + '\n');
      chmodSync(join(bin, name), 0o755);
    }
    copyFileSync(join(repoRoot, 'scripts', 'deps.sh'), join(dir, 'scripts', 'deps.sh'));
    const log = join(dir, 'log');
    writeFileSync(log, '');
    const r = spawnSync('bash', [join(dir, 'scripts', 'deps.sh'), ...args], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, STUB_LOG: log, STUB_INSTALLED: installed.join(' '), STUB_RUNNING: running.join(' ') },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    return {
      out: r.stdout,
      installs: calls.filter((c) => c.startsWith('apt-get install')),
      stops: calls.filter((c) => / stop$/.test(c)).map((c) => c.split(' ')[1]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const without = (...pkgs) => ALL.filter((p) => !pkgs.includes(p));

test('nothing missing: nothing installed, no service stopped', () => {
  const r = runDeps({ installed: ALL, running: ['postgresql', 'rabbitmq-server'] });
  assert.deepEqual(r.installs, []);
  assert.deepEqual(r.stops, []);
});

test('another package missing: the running PostgreSQL and RabbitMQ are left alone', () => {
  const r = runDeps({ installed: without('valgrind'), running: ['postgresql', 'rabbitmq-server'] });
  assert.equal(r.installs.length, 1);
  assert.match(r.installs[0], / valgrind$/);
  assert.deepEqual(r.stops, []);
});

test('PostgreSQL installed by this run is stopped; RabbitMQ, already there and running, is not', () => {
  const r = runDeps({ installed: without('postgresql'), running: ['rabbitmq-server'] });
  assert.match(r.installs[0], / postgresql$/);
  assert.deepEqual(r.stops, ['postgresql']);
});

test('both servers installed by this run are stopped', () => {
  const r = runDeps({ installed: without('postgresql', 'rabbitmq-server', 'curl'), running: [] });
  assert.deepEqual(r.stops.sort(), ['postgresql', 'rabbitmq-server']);
});

test('prometheus missing: installed, and its service (started by the install) stopped', () => {
  const r = runDeps({ installed: without('prometheus'), running: ['postgresql', 'rabbitmq-server'] });
  assert.match(r.installs[0], / prometheus$/);
  assert.deepEqual(r.stops, ['prometheus']);
});

test('the postgresql package missing while a PostgreSQL already runs: it keeps running', () => {
  // e.g. postgresql-15 installed without the metapackage, serving the user's data
  const r = runDeps({ installed: without('postgresql'), running: ['postgresql'] });
  assert.match(r.installs[0], / postgresql$/);
  assert.deepEqual(r.stops, []);
});

test('--run (make deps-run) installs only what building and running needs: no server, browser or test tool', () => {
  const r = runDeps({ installed: [], running: [], args: ['--run'] });
  assert.equal(r.installs.length, 1);
  const pkgs = r.installs[0].split(/\s+/).slice(4);
  for (const p of ['build-essential', 'cmake', 'libmicrohttpd-dev', 'libsqlite3-dev', 'libcurl4-openssl-dev', 'libsystemd-dev']) assert.ok(pkgs.includes(p), p);
  for (const p of ['postgresql', 'rabbitmq-server', 'chromium', 'valgrind', 'clang', 'wrk', 'nodejs', 'npm']) assert.ok(!pkgs.includes(p), p);
  // 14: libzstd-dev joined for the compressed events (issue 11)
  assert.ok(pkgs.length <= 14, `${pkgs.length} packages`);
  assert.ok(pkgs.every((p) => ALL.includes(p)), 'a subset of what make deps installs');
  assert.deepEqual(r.stops, []);
});
