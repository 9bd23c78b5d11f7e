// Proves src/core stays pure: no node:* imports, clocks, randomness, timers or process.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const FORBIDDEN: ReadonlyArray<[RegExp, string]> = [
  [/from\s+['"]node:/, 'node:* import'],
  [/from\s+['"](fs|net|dgram|os|crypto|path|child_process|timers|events|buffer)['"]/, 'Node built-in import'],
  [/\brequire\(/, 'require()'],
  [/\bDate\.now\b|\bnew Date\b/, 'wall clock read'],
  [/\bMath\.random\b/, 'unseeded randomness'],
  [/\bset(Timeout|Interval|Immediate)\b/, 'timer'],
  [/\bprocess\./, 'process access'],
  [/\bBuffer\./, 'Buffer (use Uint8Array)'],
  [/\bperformance\.now\b/, 'clock read'],
];

test('no file in src/core reaches outside the pure core', () => {
  const dir = join(process.cwd(), 'src', 'core');
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts'));
  assert.ok(files.length >= 8, 'expected the core sources to be found');
  const problems: string[] = [];
  for (const name of files) {
    const lines = readFileSync(join(dir, name), 'utf8').split('\n');
    lines.forEach((line, index) => {
      const code = line.replace(/\/\/.*$/, '');
      for (const [pattern, what] of FORBIDDEN) if (pattern.test(code)) problems.push(`${name}:${index + 1}: ${what}: ${line.trim()}`);
    });
  }
  assert.deepEqual(problems, []);
});

test('src/core imports only core modules and storage types', () => {
  const dir = join(process.cwd(), 'src', 'core');
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.ts'))) {
    const source = readFileSync(join(dir, name), 'utf8');
    for (const match of source.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
      const target = match[1]!;
      const allowed = target.startsWith('./') || target === '../storage/store.js';
      assert.ok(allowed, `${name} imports ${target}`);
    }
  }
});
