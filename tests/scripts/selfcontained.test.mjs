// selfcontained.test.mjs — a clone of the repository alone must pass
// `make test`: nothing the build, the tests, the benchmarks, the fuzzers or
// the scripts run may read the machine's shared folder next to the
// repository (parent folder, then shared/) or any absolute /work path,
// and every example file the tests read lives in tests/data
// with its origin and licence named in tests/data/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot, testData } from '../api/helpers.mjs';

const self = fileURLToPath(import.meta.url);
const SKIP_DIRS = new Set(['node_modules', '.git', 'data']);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(name) && !name.startsWith('build')) yield* walk(path);
    } else if (st.isFile() && st.size < 4 << 20) {
      yield path;
    }
  }
}

test('no build, test, bench, fuzz or script file reads the shared folder next to the repository or /work', () => {
  const up = ['\\.\\.', 'shared'];
  const patterns = [
    new RegExp(`${up[0]}/${up[1]}\\b`),                 // parent folder, then shared
    new RegExp(`'${up[0]}',\\s*'${up[1]}'`),            // resolve(root, '..', 'shared')
    new RegExp(`/${'work'}/`),                          // an absolute path of this machine
  ];
  const roots = ['CMakeLists.txt', 'Makefile', '.ci', 'scripts', 'tests', 'bench', 'fuzz', 'cmake'];
  const hits = [];
  for (const r of roots) {
    const top = join(repoRoot, r);
    let files;
    try {
      files = statSync(top).isDirectory() ? [...walk(top)] : [top];
    } catch {
      continue;
    }
    for (const f of files) {
      if (f === self || /\/fuzz\/corpus\//.test(f) || /RESULTS\.md$/.test(f)) continue;
      const lines = readFileSync(f, 'latin1').split('\n');
      lines.forEach((line, i) => {
        if (patterns.some((p) => p.test(line))) hits.push(`${relative(repoRoot, f)}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(hits, []);
});

test('every example folder under tests/data is named in its README with origin and licence', () => {
  const readme = readFileSync(join(testData, 'README.md'), 'utf8');
  const folders = readdirSync(testData).filter((n) => statSync(join(testData, n)).isDirectory());
  for (const f of ['backstage', 'cdevents', 'codeowners', 'alertmanager', 'prometheus']) {
    assert.ok(folders.includes(f), `tests/data/${f} is missing`);
  }
  for (const f of folders) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${f}/`));
    assert.ok(row, `tests/data/README.md has no row for ${f}/`);
    assert.match(row, /Apache-2\.0|MIT|CC BY-SA 4\.0/, `the row for ${f}/ names no licence`);
    assert.match(row, /https:\/\/github\.com\//, `the row for ${f}/ names no origin`);
    assert.ok(readdirSync(join(testData, f)).length > 0, `tests/data/${f} is empty`);
  }
});
