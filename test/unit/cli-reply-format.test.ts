// Proves the demo shell splits command lines and prints replies the way redis-cli does (quotes, escapes, nil, integers, nested arrays).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReply, splitCommandLine } from '../../src/cli/reply-format.js';

test('command lines split on spaces, with double quotes (escapes) and single quotes (verbatim)', () => {
  assert.deepEqual(splitCommandLine('set k v'), ['set', 'k', 'v']);
  assert.deepEqual(splitCommandLine('  set "two words" \'it\'\'s\'  '), ['set', 'two words', 'its']);
  assert.deepEqual(splitCommandLine('set k "a\\nb\\"c\\x41"'), ['set', 'k', 'a\nb"cA']);
  assert.deepEqual(splitCommandLine('set k ""'), ['set', 'k', '']);
  assert.equal(splitCommandLine('set k "open'), undefined);
  assert.deepEqual(splitCommandLine(''), []);
});

test('replies print as redis-cli prints them', () => {
  const bulk = (text: string) => ({ type: 'bulk' as const, value: Buffer.from(text) });
  assert.equal(formatReply({ type: 'simple', value: 'OK' }), 'OK');
  assert.equal(formatReply({ type: 'null' }), '(nil)');
  assert.equal(formatReply({ type: 'integer', value: 3 }), '(integer) 3');
  assert.equal(formatReply({ type: 'error', value: 'ERR nope' }), '(error) ERR nope');
  assert.equal(formatReply(bulk('say "hi"\n')), '"say \\"hi\\"\\n"');
  assert.equal(formatReply({ type: 'bulk', value: Uint8Array.of(0x61, 0xff) }), '"a\\xff"');
  assert.equal(formatReply({ type: 'array', value: [] }), '(empty array)');
  assert.equal(formatReply({ type: 'array', value: [bulk('a'), { type: 'array', value: [bulk('b'), bulk('c')] }] }), '1) "a"\n2) 1) "b"\n   2) "c"');
});
