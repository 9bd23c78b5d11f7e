// Runs every compiled test file under dist/test with Node's own test runner.
// Node 20's --test takes no globs, so the files are listed here. PEERKV_TEST_FILTER
// (a substring) narrows the run while developing.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function listTests(dir) {
  let found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found = found.concat(listTests(path));
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const filter = process.env.PEERKV_TEST_FILTER ?? '';
const files = listTests('dist/test').filter((file) => file.includes(filter));
if (files.length === 0) {
  console.error(`no test files match '${filter}' under dist/test`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
