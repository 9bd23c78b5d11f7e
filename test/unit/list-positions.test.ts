// Proves list position ids: a position made between any two sorts strictly between them, concurrent inserts at one place from two origins never collide and sort the same everywhere, and pushes from two replicas delivered in any order end in the same order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { comparePositions, encodeSortableInt, fractionBetween, positionBetween, POSITION_SUFFIX_BYTES } from '../../src/core/list-positions.js';

function suffix(origin: number, sequence: number): Uint8Array {
  const bytes = new Uint8Array(POSITION_SUFFIX_BYTES);
  bytes.fill(origin, 0, 16);
  new DataView(bytes.buffer).setBigUint64(16, BigInt(sequence));
  return bytes;
}

test('sortable integers sort as numbers', () => {
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), (a, b) => {
      const order = Math.sign(comparePositions(encodeSortableInt(a), encodeSortableInt(b)));
      assert.equal(order, Math.sign(a - b));
    }),
  );
});

test('fractions between bounds', () => {
  assert.deepEqual(fractionBetween(new Uint8Array(0), undefined), [128]);
  const f = Uint8Array.from(fractionBetween(new Uint8Array(0), Uint8Array.of(2)));
  assert.ok(comparePositions(f, Uint8Array.of(2)) < 0 && f.length > 0);
});

/** Insert ops: [origin, slot] picks a gap of the current list (0 = head). */
test('a position made between two sorts strictly between them, whatever the history', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.nat()), { minLength: 1, maxLength: 200 }), (ops) => {
      const list: Uint8Array[] = [];
      let sequence = 0;
      for (const [origin, pick] of ops) {
        const gap = pick % (list.length + 1);
        const before = gap === 0 ? undefined : list[gap - 1];
        const after = gap === list.length ? undefined : list[gap];
        const position = positionBetween(before, after, suffix(origin, ++sequence));
        if (before !== undefined) assert.ok(comparePositions(before, position) < 0);
        if (after !== undefined) assert.ok(comparePositions(position, after) < 0);
        list.splice(gap, 0, position);
      }
    }),
  );
});

test('concurrent inserts at one place from two origins never collide and sort between, then between each other', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(), { minLength: 2, maxLength: 30 }), fc.nat(), (picks, which) => {
      const list: Uint8Array[] = [];
      let sequence = 0;
      for (const pick of picks) {
        const gap = pick % (list.length + 1);
        list.splice(gap, 0, positionBetween(gap === 0 ? undefined : list[gap - 1], gap === list.length ? undefined : list[gap], suffix(1, ++sequence)));
      }
      const gap = which % (list.length + 1);
      const before = gap === 0 ? undefined : list[gap - 1];
      const after = gap === list.length ? undefined : list[gap];
      // Same neighbours, same sequence, two origins: same digits, different suffixes.
      const a = positionBetween(before, after, suffix(2, 1000));
      const b = positionBetween(before, after, suffix(3, 1000));
      assert.notDeepEqual(a, b);
      const [low, high] = comparePositions(a, b) < 0 ? [a, b] : [b, a];
      for (const p of [low, high]) {
        if (before !== undefined) assert.ok(comparePositions(before, p) < 0);
        if (after !== undefined) assert.ok(comparePositions(p, after) < 0);
      }
      // And there is room between the two (made from either replica).
      const mid = positionBetween(low, high, suffix(4, 1));
      assert.ok(comparePositions(low, mid) < 0 && comparePositions(mid, high) < 0);
    }),
  );
});

test('pushes from two replicas delivered in any order end in the same order on both', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.boolean()), { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 40 }), (ops, shuffleSeed) => {
      // Each replica pushes at its own view's ends; rows are sets of positions sorted by byte order.
      const made: Uint8Array[] = [];
      const views: Uint8Array[][] = [[], []];
      let sequence = 0;
      for (const [replica, left] of ops) {
        const view = views[replica ? 1 : 0]!;
        const position = left ? positionBetween(undefined, view[0], suffix(replica ? 2 : 1, ++sequence)) : positionBetween(view[view.length - 1], undefined, suffix(replica ? 2 : 1, ++sequence));
        view.push(position);
        view.sort(comparePositions);
        made.push(position);
      }
      const orderA = [...made].sort(comparePositions);
      const shuffled = [...made];
      for (let index = shuffled.length - 1; index > 0; index--) {
        const other = (shuffleSeed[index % Math.max(1, shuffleSeed.length)] ?? 0) % (index + 1);
        [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
      }
      const orderB = shuffled.sort(comparePositions);
      assert.deepEqual(orderA, orderB);
      for (let index = 1; index < orderA.length; index++) assert.ok(comparePositions(orderA[index - 1]!, orderA[index]!) < 0);
    }),
  );
});
