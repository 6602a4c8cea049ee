// ping-heartbeats.mjs — pings the demo's heartbeats (demo/heartbeats.yaml)
// through a running conway, as the jobs would with healthchecks.io's URLs:
// mints each heartbeat's ping key with the admin token, then every backup
// runs (/start, then the end with ?rid= and its log as the body) and every
// restore drill succeeds, except the deliberate cases the YAML's header
// lists (a failed backup, one still running, a check that will be late).
// Prints one line per heartbeat.
//
// usage: node demo/ping-heartbeats.mjs URL TOKEN
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node demo/ping-heartbeats.mjs URL TOKEN');
  process.exit(2);
}
const names = [...readFileSync(new URL('./heartbeats.yaml', import.meta.url), 'utf8')
  .matchAll(/^ {2}name: (\S+)$/gm)].map((m) => m[1]);

async function mint(name) {
  const r = await fetch(`${url}/api/v1/heartbeats/default/${name}/ping-key`,
    { method: 'POST', body: '', headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  if (r.status !== 201) throw new Error(`${name}: ping key: HTTP ${r.status} ${text}`);
  return JSON.parse(text).pingKey;
}

async function ping(key, path = '', body = undefined) {
  const r = await fetch(`${url}/ping/${key}${path}`, body === undefined ? {} : { method: 'POST', body });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`/ping/…${path}: HTTP ${r.status} ${text}`);
}

let failed = 0;
for (const name of names) {
  try {
    const key = await mint(name);
    const rid = randomUUID();
    let what;
    if (name === 'royalties-db-backup') {
      await ping(key, `/start?rid=${rid}`);
      await ping(key, `/1?rid=${rid}`, 'pg_dump: error: connection to server at "royalties-db.internal" (10.0.4.12), port 5432 failed: timeout expired\n');
      what = 'failed (exit status 1)';
    } else if (name === 'listening-history-db-backup') {
      await ping(key, `/start?rid=${rid}`);
      what = 'started, still running';
    } else if (name.endsWith('-backup')) {
      await ping(key, `/start?rid=${rid}`);
      await ping(key, `/0?rid=${rid}`, `backup of ${name.replace(/-backup$/, '')} complete, checksum verified\n`);
      what = 'ran and succeeded';
    } else if (name.endsWith('-restore-test')) {
      await ping(key, '', `restored ${name.replace(/-restore-test$/, '')} into a scratch instance; row counts match\n`);
      what = 'restore drill succeeded';
    } else {
      await ping(key);
      what = 'pinged once';
    }
    console.log(`demo: heartbeat ${name}: ${what}`);
  } catch (e) {
    failed++;
    console.error(`demo: heartbeat ${name}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
