// filemodes.test.mjs — the files conway creates hold the audit log and the
// token hashes, so they are private to their owner: the SQLite database, its
// -wal and -shm files, the .lock file, a backup and a restored database are
// created with mode 0600 whatever the umask (022, the usual default, and
// 000, the worst case). A mode the owner set on an existing database is kept.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { conway, startServer, tempDir } from './helpers.mjs';

const mode = (p) => statSync(p).mode & 0o777;
const octal = (m) => `0${m.toString(8)}`;
function assertMode(path, want) {
  assert.ok(existsSync(path), `${path} does not exist`);
  assert.equal(octal(mode(path)), octal(want), `mode of ${path}`);
}

for (const umask of [0o022, 0o000]) {
  describe(`files conway creates under umask ${octal(umask).padStart(4, '0')}`, () => {
    let dir;
    let old;
    before(() => {
      old = process.umask(umask); // inherited by every conway this process starts
      dir = tempDir('conway-modes-');
    });
    after(() => {
      process.umask(old);
      rmSync(dir, { recursive: true, force: true });
    });

    test('a new database, its lock file, and -wal and -shm while a server has it open', async () => {
      const db = join(dir, 'conway.db');
      const r = conway(['token', 'create', '--db', db, '--role', 'admin', '--name', 'modes']);
      assert.equal(r.status, 0, r.stderr);
      assertMode(db, 0o600);
      assertMode(`${db}.lock`, 0o600);
      const srv = await startServer({ db });
      try {
        const t = srv.token('editor');
        const put = await srv.json('/api/v1/entities/group/default/team-modes', {
          method: 'PUT', token: t, headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-modes' }, spec: { type: 'team', children: [] } }),
        });
        assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.body));
        for (const f of [db, `${db}-wal`, `${db}-shm`, `${db}.lock`]) assertMode(f, 0o600);

        // an online backup, taken while the server has the database open
        const out = join(dir, 'backup.db');
        const b = conway(['backup', '--quiet', '--db', db, out]);
        assert.equal(b.status, 0, b.stderr);
        assertMode(out, 0o600);
        assert.ok(!existsSync(`${out}.tmp`));
      } finally {
        await srv.stop({ keep: true });
      }
    });

    test('a restored database is 0600, or keeps the mode its owner chose', () => {
      const out = join(dir, 'backup.db');
      const fresh = join(dir, 'restored.db');
      let r = conway(['restore', '--db', fresh, out]);
      assert.equal(r.status, 0, r.stderr);
      assertMode(fresh, 0o600);
      assertMode(`${fresh}.lock`, 0o600);

      const db = join(dir, 'conway.db');
      chmodSync(db, 0o640);
      r = conway(['restore', '--db', db, out]);
      assert.equal(r.status, 0, r.stderr);
      assertMode(db, 0o640);
      // opening an existing database does not change its mode either
      r = conway(['token', 'list', '--db', db]);
      assert.equal(r.status, 0, r.stderr);
      assertMode(db, 0o640);
    });
  });
}
