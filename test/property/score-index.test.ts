// Proves the sorted-set score index (src/core/score-indexes.ts) equals the member rows sorted (loadRowEntries) on every replica after every step, under random ZADD/ZINCRBY/ZREM/DEL/HSET/FLUSHALL on three replicas and their rows merged in any order with duplicates; and that the order-statistic tree answers rank, count-before and walks like a sorted array through splits and merges.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { bytesToMapKey } from '../../src/core/bytes.js';
import { headerRowKey, headerType, KeyType } from '../../src/core/rows.js';
import { ScoreIndex } from '../../src/core/score-indexes.js';
import { compareScoreMember, ScoreTree } from '../../src/core/score-tree.js';
import { loadRowEntries } from '../../src/server/zset-rows.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { commandReplicas, runCommand, type Replica } from '../support/command-replicas.js';

const KEYS = ['z', 'y'];
const MEMBERS = ['a', 'b', 'c', 'd', 'e'];
const NODE_IDS = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)];

function replicas(clock: { nowMs: number }): Replica[] {
  return commandReplicas(NODE_IDS, clock);
}

const run = runCommand;

/** The index of every key equals its rows sorted, and only sorted sets have one. */
function checkIndexes(engine: MemoryEngine, context: string): void {
  for (const name of KEYS) {
    const key = Buffer.from(name);
    const header = engine.get(headerRowKey(key));
    const isZset = header !== undefined && header.value !== null && headerType(header.value) === KeyType.ZSet;
    const index = engine.scoreIndex(key);
    if (!isZset) {
      assert.equal(index, undefined, `${context}: ${name} is not a sorted set but has an index`);
      continue;
    }
    assert.ok(index !== undefined, `${context}: sorted set ${name} has no index`);
    const truth = loadRowEntries(engine, key).map((entry) => ({ score: entry.score, member: bytesToMapKey(entry.member) }));
    assert.deepEqual(index.entries(), truth, `${context}: ${name}`);
    assert.equal(index.size, truth.length);
    truth.forEach((entry, rank) => assert.equal(index.rankOf(entry.member), rank));
  }
}

type Op =
  | { readonly kind: 'zadd'; readonly replica: number; readonly key: string; readonly member: string; readonly score: number }
  | { readonly kind: 'zincrby'; readonly replica: number; readonly key: string; readonly member: string; readonly score: number }
  | { readonly kind: 'zrem' | 'hset'; readonly replica: number; readonly key: string; readonly member: string }
  | { readonly kind: 'del'; readonly replica: number; readonly key: string }
  | { readonly kind: 'flushall'; readonly replica: number }
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly batch: number }
  | { readonly kind: 'tick'; readonly ms: number };

const replica = fc.integer({ min: 0, max: NODE_IDS.length - 1 });
const key = fc.constantFrom(...KEYS);
const member = fc.constantFrom(...MEMBERS);
const score = fc.integer({ min: -3, max: 3 }).map((value) => value / 2);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('zadd' as const), replica, key, member, score }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('zincrby' as const), replica, key, member, score }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('zrem' as const, 'hset' as const), replica, key, member }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('del' as const), replica, key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flushall' as const), replica }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), from: replica, to: replica, batch: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 }) }) },
);

async function apply(group: Replica[], step: Op, clock: { nowMs: number }): Promise<void> {
  switch (step.kind) {
    case 'tick':
      clock.nowMs += step.ms;
      return;
    case 'deliver': {
      const batches = group[step.from]!.engine.batches;
      if (batches.length > 0 && step.from !== step.to) group[step.to]!.engine.merge(batches[step.batch % batches.length]!);
      return;
    }
    case 'zadd':
    case 'zincrby':
      await run(group[step.replica]!, step.kind, step.key, step.score, step.member);
      return;
    case 'zrem':
      await run(group[step.replica]!, 'zrem', step.key, step.member);
      return;
    case 'hset':
      await run(group[step.replica]!, 'hset', step.key, step.member, 'v');
      return;
    case 'del':
      await run(group[step.replica]!, 'del', step.key);
      return;
    case 'flushall':
      await run(group[step.replica]!, 'flushall');
  }
}

test('the score index equals the sorted member rows on every replica after every step, whatever the merge order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 50 }), fc.array(fc.nat({ max: 80 }), { maxLength: 60 }), async (ops, order) => {
      const clock = { nowMs: 1_000_000 };
      const group = replicas(clock);
      for (const [at, step] of ops.entries()) {
        await apply(group, step, clock);
        group.forEach((each, index) => checkIndexes(each.engine, `step ${at} replica ${index}`));
      }
      // Everything to everyone, in a scrambled order with repeats: converged rows, and indexes that still match them.
      for (let from = 0; from < group.length; from++) {
        const batches = group[from]!.engine.batches;
        const permuted = order.filter((index) => index < batches.length).concat(batches.map((_, index) => index));
        for (let to = 0; to < group.length; to++) if (to !== from) for (const index of permuted) group[to]!.engine.merge(batches[index]!);
      }
      group.forEach((each, index) => checkIndexes(each.engine, `converged replica ${index}`));
      const ranges = await Promise.all(group.map((each) => run(each, 'zrange', 'z', 0, -1, 'withscores')));
      assert.equal(new Set(ranges).size, 1, `replicas disagree: ${ranges.join(' | ')}`);
    }),
    { numRuns: 150 },
  );
});

test('the order-statistic tree matches a sorted array through thousands of inserts and removes', () => {
  // A deterministic generator: big enough for three levels of branches, splits and merges.
  let seed = 12345;
  const next = (limit: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % limit;
  };
  const tree = new ScoreTree();
  const truth: { score: number; member: string }[] = [];
  const present = new Map<string, number>();
  const compare = (a: { score: number; member: string }, b: { score: number; member: string }) => compareScoreMember(a.score, a.member, b.score, b.member);
  for (let step = 0; step < 60_000; step++) {
    const grow = step < 30_000 ? next(10) < 8 : next(10) < 3;
    const member = `m${next(20_000)}`;
    const old = present.get(member);
    if (old !== undefined && (!grow || next(2) === 0)) {
      assert.ok(tree.remove(old, member));
      present.delete(member);
      truth.splice(truth.findIndex((entry) => entry.member === member), 1);
    } else if (old === undefined && grow) {
      const score = next(500) - 250;
      tree.insert(score, member);
      present.set(member, score);
      truth.push({ score, member });
    }
    if (step % 5_000 === 4_999) {
      truth.sort(compare);
      assert.equal(tree.size, truth.length);
      assert.deepEqual(tree.entries(), truth);
      for (let probe = 0; probe < 200 && truth.length > 0; probe++) {
        const rank = next(truth.length);
        const entry = truth[rank]!;
        assert.equal(tree.rankOf(entry.score, entry.member), rank);
        const bound = next(520) - 260;
        assert.equal(tree.countBefore((score) => score < bound), truth.filter((item) => item.score < bound).length);
        const walked: { score: number; member: string }[] = [];
        tree.visit(rank, probe % 2 === 0, (score, name) => walked.push({ score, member: name }) < 50);
        const expected = probe % 2 === 0 ? truth.slice(Math.max(0, rank - 49), rank + 1).reverse() : truth.slice(rank, rank + 50);
        assert.deepEqual(walked, expected);
      }
    }
  }
  for (const [member, score] of present) assert.ok(tree.remove(score, member));
  assert.equal(tree.size, 0);
  assert.deepEqual(tree.entries(), []);
});

test('a score index that holds changes back (up to 1,024) reads like a sorted map after any mix of sets, deletes and reads', () => {
  type IndexOp = { readonly kind: 'set'; readonly member: number; readonly score: number } | { readonly kind: 'delete'; readonly member: number } | { readonly kind: 'read'; readonly at: number };
  const indexOp: fc.Arbitrary<IndexOp> = fc.oneof(
    { weight: 300, arbitrary: fc.record({ kind: fc.constant('set' as const), member: fc.nat(2_999), score: fc.integer({ min: -40, max: 40 }).map((value) => value / 4) }) },
    { weight: 100, arbitrary: fc.record({ kind: fc.constant('delete' as const), member: fc.nat(2_999) }) },
    // Reads are rare, so changes pile up past the index's limit between them.
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fc.nat() }) },
  );
  fc.assert(
    fc.property(fc.array(indexOp, { minLength: 1, maxLength: 5_000, size: 'max' }), (ops) => {
      const index = new ScoreIndex();
      const model = new Map<string, number>();
      const check = (at: number) => {
        const sorted = [...model].map(([member, score]) => ({ score, member })).sort((a, b) => compareScoreMember(a.score, a.member, b.score, b.member));
        assert.equal(index.size, sorted.length);
        assert.deepEqual(index.entries(), sorted);
        if (sorted.length === 0) return;
        const rank = at % sorted.length;
        assert.equal(index.rankOf(sorted[rank]!.member), rank);
        const bound = sorted[rank]!.score;
        assert.equal(index.countBefore((score) => score < bound), sorted.findIndex((entry) => entry.score >= bound));
      };
      for (const op of ops) {
        const member = op.kind === 'read' ? '' : `m${op.member}`;
        if (op.kind !== 'read' && index.size % 997 === 0) index.rankOf(member); // now and then a read of one member settles too
        if (op.kind === 'set') {
          index.set(member, op.score);
          model.set(member, op.score);
          assert.equal(index.scoreOf(member), op.score);
        } else if (op.kind === 'delete') {
          index.delete(member);
          model.delete(member);
          assert.equal(index.scoreOf(member), undefined);
        } else {
          check(op.at);
        }
      }
      check(0);
    }),
    { numRuns: 40, endOnFailure: true }, // shrinking 5,000 operations takes minutes; the first failure is enough
  );
});
