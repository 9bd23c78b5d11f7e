// Proves parseLongDouble reads integer texts (its fast path) as the general float parse does, and still refuses what Redis refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8 } from '../../src/core/bytes.js';
import { parseLongDouble } from '../../src/core/counters.js';

test('a signed or unsigned digit string reads as its number, -0 and leading zeros included, at any length', () => {
  fc.assert(
    fc.property(fc.constantFrom('', '-', '+'), fc.stringMatching(/^[0-9]{1,24}$/), (sign, digits) => {
      const text = sign + digits;
      assert.ok(Object.is(parseLongDouble(utf8(text)), Number(text)), text);
    }),
    { numRuns: 2_000 },
  );
  assert.ok(Object.is(parseLongDouble(utf8('-0')), -0));
  assert.equal(parseLongDouble(utf8('000000000000000000000042')), 42);
});

test('texts that are not plain integers keep the general reading', () => {
  const cases: [string, number | undefined][] = [
    ['1.5', 1.5], ['-2.25', -2.25], ['1e3', 1000], ['.5', 0.5], ['inf', Infinity], ['-INFINITY', -Infinity], ['0x10', 16],
    ['-', undefined], ['+', undefined], ['', undefined], [' 1', undefined], ['1 ', undefined], ['--1', undefined], ['+-1', undefined],
    ['1a', undefined], ['nan', undefined], ['12345678901234567890', 12345678901234567890],
  ];
  for (const [text, expected] of cases) assert.ok(Object.is(parseLongDouble(utf8(text)), expected), `${JSON.stringify(text)} -> ${parseLongDouble(utf8(text))}`);
});
