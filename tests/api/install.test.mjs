// install.test.mjs — `make install` (cmake --install with a prefix and
// DESTDIR, as the Makefile runs it): the binary, the man page, bash and zsh
// completion, the systemd unit with its sandboxing, checked with
// `systemd-analyze verify` where systemd-analyze is installed, and the
// example configuration. The build directory is the one CONWAY_BIN lives in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { conwayBin, tempDir } from './helpers.mjs';

const buildDir = dirname(conwayBin);
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function install(prefix, destdir) {
  const env = { ...process.env };
  if (destdir) env.DESTDIR = destdir;
  const r = spawnSync('cmake', ['--install', buildDir, '--prefix', prefix], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return (destdir || '') + prefix;
}

test('DESTDIR install: every file in its place; the unit runs the installed binary', (t) => {
  if (!existsSync(join(buildDir, 'cmake_install.cmake'))) { t.skip(`${buildDir} is not a CMake build directory`); return; }
  const root = install('/usr/local', tempDir('conway-destdir-'));
  const bin = join(root, 'bin', 'conway');
  assert.ok(statSync(bin).mode & 0o111, 'executable');
  assert.match(execFileSync(bin, ['version'], { encoding: 'utf8' }), /^conway \d+\.\d+\.\d+/);
  assert.match(readFileSync(join(root, 'share/man/man1/conway.1'), 'utf8'), /^\.TH CONWAY 1/);
  assert.match(readFileSync(join(root, 'share/bash-completion/completions/conway'), 'utf8'), /complete -F _conway conway/);
  assert.match(readFileSync(join(root, 'share/zsh/vendor-completions/_conway'), 'utf8'), /^#compdef conway/);
  assert.match(readFileSync(join(root, 'share/doc/conway/conway.conf.example'), 'utf8'), /# listen = 127\.0\.0\.1:7700/);
  const unit = readFileSync(join(root, 'lib/systemd/system/conway.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/conway serve /m, 'the path without DESTDIR');
  for (const line of ['Type=notify', 'DynamicUser=yes', 'StateDirectory=conway', 'ProtectSystem=strict',
    'NoNewPrivileges=yes', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'UMask=0077',
    'SystemCallFilter=@system-service', 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6']) {
    assert.ok(unit.split('\n').includes(line), line);
  }
});

test('the unit passes systemd-analyze verify (and its security score is OK)', (t) => {
  if (!existsSync(join(buildDir, 'cmake_install.cmake'))) { t.skip('no CMake build directory'); return; }
  if (!have('systemd-analyze')) { t.skip('systemd-analyze is not installed (Debian package systemd)'); return; }
  // a real prefix, so that ExecStart names a binary that exists
  const root = install(tempDir('conway-prefix-'));
  const unit = join(root, 'lib/systemd/system/conway.service');
  const v = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(v.stderr.trim(), '', 'no warning');
  const s = spawnSync('systemd-analyze', ['security', '--offline=yes', unit], { encoding: 'utf8' });
  const m = /Overall exposure level for conway\.service: ([\d.]+)/.exec(s.stdout + s.stderr);
  assert.ok(m, s.stdout + s.stderr);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}`);
});

test('conway serve tells systemd it is ready (sd_notify READY=1) once it listens, and STOPPING=1', async (t) => {
  const py = ['python3', 'python'].find(have);
  if (!py) { t.skip('no python to listen on a datagram socket'); return; }
  const { spawn } = await import('node:child_process');
  const dir = tempDir('conway-notify-');
  const sock = join(dir, 'notify.sock');
  // a stand-in for systemd's notification socket: prints every datagram
  const listener = spawn(py, ['-u', '-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let got = '';
  const waitFor = (re) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${re} in: ${got}`)), 10000);
    const check = () => { if (re.test(got)) { clearTimeout(timer); resolve(); } };
    listener.stdout.on('data', (c) => { got += c; check(); });
    check();
  });
  try {
    await waitFor(/bound/);
    const srv = spawn(conwayBin, ['serve', '--db', join(dir, 'c.db'), '--listen', '127.0.0.1:0'], { env: { ...process.env, NOTIFY_SOCKET: sock }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    srv.stderr.on('data', (c) => { log += c; });
    await waitFor(/READY=1\|STATUS=serving: --listen 127\.0\.0\.1:0, port \d+, sqlite/);
    assert.match(log, /"msg":"listening"/, 'READY comes after the server listens');
    const exited = new Promise((r) => srv.once('exit', r));
    srv.kill('SIGTERM');
    await waitFor(/STOPPING=1/);
    assert.equal(await exited, 0);
  } finally {
    listener.kill();
  }
});
