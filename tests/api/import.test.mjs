// import.test.mjs — `conway import` against hostile catalog trees (the
// table hostileImportCases in hostile.cases.mjs): Location targets and
// symbolic links that lead out of the imported tree are refused unless
// --allow-outside, and nothing of a file that is not a catalog file reaches
// the output — checked against a secret planted next to the tree and
// against every line of /etc/passwd.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { conway, tempDir } from './helpers.mjs';
import { hostileImportCases, IMPORT_SECRET } from './hostile.cases.mjs';

const passwdLines = readFileSync('/etc/passwd', 'utf8').split('\n').filter((l) => l.length > 8);

function build(root, files) {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof content === 'string') writeFileSync(path, content);
    else symlinkSync(content.link, path);
  }
}

describe('conway import: hostile catalog trees', () => {
  for (const c of hostileImportCases()) {
    test(c.name, () => {
      const dir = tempDir('conway-import-');
      try {
        build(dir, { 'outside/secret.yaml': `${IMPORT_SECRET}: yes\nanother-line: ${IMPORT_SECRET}\n` });
        build(join(dir, 'tree'), c.tree);
        const args = (c.args || ['tree']).map((a) => (a.startsWith('--') ? a : join(dir, a)));
        const r = conway(['import', '--quiet', '--db', join(dir, 'c.db'), ...args]);
        const out = r.stdout + r.stderr;
        assert.equal(r.status, c.status, out);
        if (c.stderr) assert.match(r.stderr, c.stderr);
        if (c.stdout) assert.match(r.stdout, c.stdout);
        assert.match(r.stdout, new RegExp(`from ${c.files} file${c.files === 1 ? "" : "s"}\\b`), out);
        assert.ok(!out.includes(IMPORT_SECRET), `the secret reached the output:\n${out}`);
        for (const line of passwdLines) assert.ok(!out.includes(line), `a line of /etc/passwd reached the output: ${line}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a document that declares itself an entity keeps its detailed message', () => {
    const dir = tempDir('conway-import-');
    try {
      build(dir, { 'c.yaml': 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad name\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n' });
      const r = conway(['import', '--quiet', '--db', join(dir, 'c.db'), join(dir, 'c.yaml')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /c\.yaml:0: .*metadata\.name.*"bad name"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
