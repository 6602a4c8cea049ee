// server.mjs — starts a real `conway serve` for the browser tests: a temp
// database with the demo organisation (or the Backstage examples in tests/data when
// the demo is missing), optionally ~90 days of demo delivery history and extra
// YAML files, a free port, and a wait for /healthz. Also launches Debian's
// Chromium through playwright-core with a fresh profile and records console
// errors, and saves screenshots under build/screenshots/.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const conwayBin = resolve(repoRoot, process.env.CONWAY_BIN || 'build/conway');
export const screenshotDir = join(repoRoot, 'build', 'screenshots');
const exampleBackstage = resolve(repoRoot, 'tests', 'data', 'backstage');

// Runs the CLI; returns {status, stdout, stderr}.
export function conway(args, { input } = {}) {
  const r = spawnSync(conwayBin, args, { input, encoding: 'utf8', maxBuffer: 256 << 20 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

async function waitHealthy(url, proc, getLog, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`conway serve exited with ${proc.exitCode}:\n${getLog()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`conway serve did not become healthy within ${timeoutMs} ms:\n${getLog()}`);
}

// The demo delivery history as NDJSON, or null when the generator is missing.
function demoHistory() {
  const gen = join(repoRoot, 'demo', 'generate-history.mjs');
  if (!existsSync(gen)) return null;
  return execFileSync(process.execPath, [gen], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 256 << 20 });
}

// Starts a server. Options:
//   publicRead: serve with --public-read (default true)
//   history: load the demo delivery history (default true)
//   extraYaml: {fileName: yamlText} imported after the organisation
// Returns {url, db, dir, historyLoaded, token(role), stop()}.
export async function startServer({ publicRead = true, history = true, extraYaml = {}, serveArgs = [] } = {}) {
  if (!existsSync(conwayBin)) throw new Error(`no conway binary at ${conwayBin}; build it or set CONWAY_BIN`);
  const dir = mkdtempSync(join(tmpdir(), 'conway-browser-'));
  try {
    return await startIn(dir, { publicRead, history, extraYaml, serveArgs });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function startIn(dir, { publicRead, history, extraYaml, serveArgs }) {
  const db = join(dir, 'c.db');
  const demoOrg = join(repoRoot, 'demo', 'org');
  const source = existsSync(demoOrg) ? demoOrg : exampleBackstage;
  const imp = conway(['import', '--db', db, source]);
  // The Backstage examples hold one invalid file on purpose: exit 1 is expected there.
  if (imp.status !== 0 && !(source === exampleBackstage && imp.status === 1)) {
    throw new Error(`conway import ${source} failed (${imp.status}):\n${imp.stderr}`);
  }
  for (const [name, text] of Object.entries(extraYaml)) {
    const file = join(dir, name);
    writeFileSync(file, text);
    const r = conway(['import', '--db', db, file]);
    if (r.status !== 0) throw new Error(`conway import ${name} failed (${r.status}):\n${r.stderr}`);
  }
  let ndjson = null;
  let historyLoaded = false;
  if (history) {
    ndjson = demoHistory();
    if (ndjson) {
      const r = conway(['events', 'import', '--db', db, '-'], { input: ndjson });
      historyLoaded = r.status === 0;
    }
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['serve', '--db', db, '--listen', `127.0.0.1:${port}`];
  if (publicRead) args.push('--public-read');
  args.push(...serveArgs);
  const proc = spawn(conwayBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (c) => {
    log += c;
    if (log.length > 1 << 20) log = log.slice(-(1 << 19));
  });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    await waitHealthy(url, proc, () => log);
  } catch (e) {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
    throw e;
  }

  const server = {
    url, db, dir, historyLoaded,
    get log() { return log; },
    token(role = 'viewer') {
      const r = conway(['token', 'create', '--db', db, '--role', role, '--name', `browser-${role}`]);
      if (r.status !== 0) throw new Error(`conway token create failed (${r.status}):\n${r.stderr}`);
      return r.stdout.trim();
    },
    // The paths the server documents in its OpenAPI description.
    async apiPaths(token) {
      const res = await fetch(`${url}/api/v1/openapi.json`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      if (!res.ok) return new Set();
      const doc = await res.json();
      return new Set(Object.keys(doc.paths || {}));
    },
    async getJSON(path, token) {
      const res = await fetch(url + path, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
      return res.json();
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  // Without the CLI command, send the history through the HTTP intake.
  if (history && ndjson && !historyLoaded) {
    try {
      const token = server.token('ingest');
      const res = await fetch(`${url}/api/v1/events`, {
        method: 'POST', body: ndjson,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      });
      server.historyLoaded = res.status === 202 || res.status === 200;
    } catch {
      server.historyLoaded = false;
    }
  }
  return server;
}

// ---- browser ---------------------------------------------------------------

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--disable-dev-shm-usage'];

// A fresh Chromium profile in a temp dir. Returns {context, newPage, close}.
// Every page records console errors, uncaught exceptions and dialogs.
export async function launchBrowser({ viewport = { width: 1280, height: 900 } } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'conway-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const newPage = async () => {
    const page = await context.newPage();
    page.problems = [];
    page.dialogs = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') page.problems.push(`console: ${msg.text()} @ ${msg.location()?.url ?? ''}`);
    });
    page.on('pageerror', (err) => page.problems.push(`uncaught: ${err.message}`));
    page.on('dialog', async (d) => {
      page.dialogs.push(`${d.type()}: ${d.message()}`);
      await d.dismiss().catch(() => {});
    });
    return page;
  };
  return {
    context,
    newPage,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Waits until no panel of the page is loading any more.
export async function settled(page, timeout = 10000) {
  await page.waitForFunction(() => document.querySelector('main h1') &&
    !document.querySelector('[aria-busy="true"]') && !document.querySelector('.notice-loading'), null, { timeout });
}

export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}
