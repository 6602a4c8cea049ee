// helpers.mjs — starts a real `conway serve` on a temporary database for the
// black-box API tests, and runs the conway CLI. No mocks: every test talks
// HTTP to the real binary.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const testData = resolve(repoRoot, 'tests', 'data');
export const conwayBin = process.env.CONWAY_BIN || join(repoRoot, 'build', 'conway');

// Runs the CLI synchronously; returns {status, stdout, stderr}.
export function conway(args, { env = {}, input } = {}) {
  try {
    const stdout = execFileSync(conwayBin, args, {
      env: { ...process.env, ...env }, input, encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20,
    });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    return { status: e.status ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function tempDir(prefix = 'conway-test-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

// ---- PostgreSQL -------------------------------------------------------------
// With CONWAY_TEST_DB_BACKEND=postgres, every server without an explicit db
// gets a fresh database on the test PostgreSQL (CONWAY_TEST_PG_URL, started
// by scripts/services.sh), dropped when it stops.
export const pgBaseUrl = process.env.CONWAY_TEST_PG_URL || '';
export const usePostgres = process.env.CONWAY_TEST_DB_BACKEND === 'postgres';

// Runs SQL on the test server's maintenance database with psql.
export function pgAdmin(sql, url = pgBaseUrl) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtX', '-c', sql], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

// The URL of database `name` on the server `base` points at.
export function pgDbUrl(name, base = pgBaseUrl) {
  return base.replace(/^(postgres(?:ql)?:\/\/[^/?]*)(\/[^?]*)?/, `$1/${name}`);
}

// A fresh, empty database; returns {url, drop()}.
export function pgCreateDb(prefix = 'conway_test') {
  if (!pgBaseUrl) throw new Error('CONWAY_TEST_PG_URL is not set (scripts/services.sh start)');
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  pgAdmin(`CREATE DATABASE ${name}`);
  return {
    name,
    url: pgDbUrl(name),
    drop() { pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); },
  };
}

// Starts a server. Options: db (path; default a fresh temp file), publicRead
// (default true), args (extra CLI args), imports (paths imported before
// start). Resolves once /healthz answers.
export async function startServer({ db, publicRead = true, args = [], imports = [], env = {} } = {}) {
  const pgDb = !db && usePostgres ? pgCreateDb() : null;
  const dir = db || pgDb ? null : tempDir();
  const dbPath = db || (pgDb ? pgDb.url : join(dir, 'conway.db'));
  for (const p of imports) {
    const r = conway(['import', '--db', dbPath, '--quiet', p]);
    if (r.status !== 0 && r.status !== 1) throw new Error(`import ${p} failed: ${r.stderr}`);
  }
  const serveArgs = ['serve', '--db', dbPath, '--listen', '127.0.0.1:0', ...args];
  if (publicRead) serveArgs.push('--public-read');
  const proc = spawn(conwayBin, serveArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let started = false;
  const port = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 10000);
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (started) return;
      for (const line of stderr.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const obj = JSON.parse(line);
          if (obj.msg === 'listening') { started = true; clearTimeout(timer); resolvePort(obj.port); }
        } catch { /* partial line */ }
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (pgDb) pgDb.drop();
      reject(new Error(`server exited ${code}: ${stderr}`));
    });
  });
  proc.removeAllListeners('exit');
  const url = `http://127.0.0.1:${port}`;
  const server = {
    url, port, db: dbPath, dir, proc, pgDb,
    get stderr() { return stderr; },
    async stop({ keep = false, signal = 'SIGTERM' } = {}) {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill(signal);
        await exited;
      }
      if (dir && !keep) rmSync(dir, { recursive: true, force: true });
      if (pgDb && !keep) pgDb.drop();
    },
    // Everything the database holds, as bytes: the SQLite file (and its
    // WAL), or a pg_dump of the PostgreSQL database.
    rawDatabase() {
      if (pgDb || /^postgres(ql)?:\/\//.test(dbPath)) {
        return Buffer.from(execFileSync('pg_dump', ['--no-owner', dbPath], { maxBuffer: 256 << 20 }));
      }
      const parts = [readFileSync(dbPath)];
      if (existsSync(`${dbPath}-wal`)) parts.push(readFileSync(`${dbPath}-wal`));
      return Buffer.concat(parts);
    },
    // Creates a token with the CLI (works while the server runs).
    token(role, { team, name, sources = [] } = {}) {
      const a = ['token', 'create', '--db', dbPath, '--role', role];
      if (team) a.push('--team', team, '--allow-missing-team');
      if (name) a.push('--name', name);
      for (const s of sources) a.push('--source', s);
      const r = conway(a);
      if (r.status !== 0) throw new Error(`token create failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    async fetch(path, { token, headers = {}, ...opts } = {}) {
      const h = { ...headers };
      if (token) h.authorization = `Bearer ${token}`;
      return fetch(url + path, { ...opts, headers: h });
    },
    async json(path, opts = {}) {
      const res = await server.fetch(path, opts);
      const text = await res.text();
      let body;
      try { body = text ? JSON.parse(text) : null; } catch { body = text; }
      return { status: res.status, headers: res.headers, body };
    },
  };
  return server;
}
