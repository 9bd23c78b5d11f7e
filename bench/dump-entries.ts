// The mixed keys of the import benchmark and of the 100,000-key export/import round trip test.
import type { DumpEntry } from '../src/cli/transfer.js';

/** Deterministic mixed keys: 40% strings, 15% each hash, set, zset, list; a third with a TTL. */
export function syntheticEntry(index: number, nowMs: number): DumpEntry {
  const key = `key:${index}`;
  const expiry = index % 3 === 0 ? { expireAtMs: nowMs + 3_600_000 + index } : {};
  const kind = index % 20;
  const items = 4 + (index % 5);
  if (kind < 8) return { key, type: 'string', value: `value-${index}-${'x'.repeat(index % 40)}`, ...expiry };
  if (kind < 11) return { key, type: 'hash', value: Array.from({ length: items }, (_, n) => [`field${n}`, `v${index}.${n}`] as const), ...expiry };
  if (kind < 14) return { key, type: 'set', value: Array.from({ length: items }, (_, n) => `m${n}-${index % 97}`), ...expiry };
  if (kind < 17) return { key, type: 'zset', value: Array.from({ length: items }, (_, n) => [`z${n}`, n * 1.5 - index % 7] as const), ...expiry };
  return { key, type: 'list', value: Array.from({ length: items }, (_, n) => `e${n}`), ...expiry };
}
