// Proves, with the real commands over MemoryEngines and rows merged by Keyspace.merge: concurrent RPUSH/LPUSH/LINSERT on three replicas, delivered in any order and duplicated, read as one list in one order everywhere (each replica's own pushes in the order it made them), and a sorted-set member's score is the winning ZADD's base plus every ZINCRBY that base did not observe.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { compareVersions } from '../../src/core/record.js';
import { rowKey, RowKind } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { commandReplicas, runCommand, type Replica } from '../support/command-replicas.js';

const NODE_IDS = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)];

function replicas(count: number, clock: { nowMs: number }): Replica[] {
  return commandReplicas(NODE_IDS.slice(0, count), clock);
}

const run = runCommand;

function describeRows(engine: MemoryEngine): string[] {
  const rows = engine.store.scanBuckets(0, KEY_BUCKET_COUNT, Number.MAX_SAFE_INTEGER).records;
  return rows.map((row) => `${Buffer.from(row.key).toString('hex')} ${row.value === null ? '-' : Buffer.from(row.value).toString('hex')} ${row.hlc.wallMs}.${row.hlc.logical} ${row.origin}`);
}

/** LRANGE's elements from its RESP2 reply. */
function elements(reply: string): string[] {
  return reply.split('\r\n').filter((line, index) => index > 0 && line !== '' && !line.startsWith('$'));
}

type ListOp =
  | { readonly kind: 'rpush' | 'lpush'; readonly replica: number; readonly count: number }
  | { readonly kind: 'linsert'; readonly replica: number; readonly before: boolean; readonly pivot: number }
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly batch: number; readonly times: number }
  | { readonly kind: 'tick'; readonly ms: number };

const replicaIndex = fc.integer({ min: 0, max: 2 });
const listOp: fc.Arbitrary<ListOp> = fc.oneof(
  fc.record({ kind: fc.constantFrom('rpush' as const, 'lpush' as const), replica: replicaIndex, count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('linsert' as const), replica: replicaIndex, before: fc.boolean(), pivot: fc.nat() }),
  fc.record({ kind: fc.constant('deliver' as const), from: replicaIndex, to: replicaIndex, batch: fc.nat(), times: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3 }) }),
);

test('concurrent pushes and inserts on three replicas read as one list in one order, whatever the delivery order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(listOp, { maxLength: 40 }), fc.array(fc.nat({ max: 80 }), { maxLength: 80 }), async (ops, order) => {
      const clock = { nowMs: 1_000_000 };
      const trio = replicas(3, clock);
      let unique = 0;
      /** Per replica: its RPUSHed elements in push order, and its LPUSHed ones. */
      const pushed = trio.map(() => ({ right: [] as string[], left: [] as string[] }));
      for (const step of ops) {
        if (step.kind === 'tick') clock.nowMs += step.ms;
        else if (step.kind === 'deliver') {
          const batches = trio[step.from]!.engine.batches;
          if (step.from === step.to || batches.length === 0) continue;
          for (let time = 0; time < step.times; time++) trio[step.to]!.engine.merge(batches[step.batch % batches.length]!);
        } else if (step.kind === 'linsert') {
          const replica = trio[step.replica]!;
          const current = elements(await run(replica, 'lrange', 'l', 0, -1));
          if (current.length === 0) continue;
          assert.match(await run(replica, 'linsert', 'l', step.before ? 'before' : 'after', current[step.pivot % current.length]!, `i${++unique}`), /^:\d+\r\n$/);
        } else {
          const values = Array.from({ length: step.count }, () => `${step.kind[0]}${step.replica}.${++unique}`);
          assert.match(await run(trio[step.replica]!, step.kind, 'l', ...values), /^:\d+\r\n$/);
          pushed[step.replica]![step.kind === 'rpush' ? 'right' : 'left'].push(...values);
        }
      }
      // Every replica gets every batch of the others, in an order of the property's choosing.
      for (let from = 0; from < 3; from++) {
        const batches = trio[from]!.engine.batches;
        const permuted = order.filter((index) => index < batches.length).concat(batches.map((_, index) => index));
        for (let to = 0; to < 3; to++) if (to !== from) for (const index of permuted) trio[to]!.engine.merge(batches[index]!);
      }
      const rows = describeRows(trio[0]!.engine);
      const lists = await Promise.all(trio.map((replica) => run(replica, 'lrange', 'l', 0, -1)));
      for (let index = 1; index < 3; index++) {
        assert.deepEqual(describeRows(trio[index]!.engine), rows);
        assert.equal(lists[index], lists[0]);
        assert.equal(await run(trio[index]!, 'llen', 'l'), await run(trio[0]!, 'llen', 'l'));
      }
      const list = elements(lists[0]!);
      assert.equal(new Set(list).size, list.length, 'no element twice');
      assert.equal(list.length, unique, 'every pushed and inserted element is there');
      for (const own of pushed) {
        const rightOrder = list.filter((value) => own.right.includes(value));
        const leftOrder = list.filter((value) => own.left.includes(value));
        assert.deepEqual(rightOrder, own.right, 'a replica\'s RPUSHes keep their order');
        assert.deepEqual(leftOrder, [...own.left].reverse(), 'a replica\'s LPUSHes keep their order');
      }
    }),
    { numRuns: 200 },
  );
});

const MEMBER_ROW = Buffer.from(rowKey(Buffer.from('z'), RowKind.Field, Buffer.from('m')));

/** What a batch did, for the model: a new base (ZADD) with what its writer had seen of each origin, or an increment. */
type BatchNote = { readonly kind: 'base'; readonly score: number; readonly observed: number[]; readonly row: VersionedRecord } | { readonly kind: 'increment'; readonly amount: number };

test('ZADD and ZINCRBY on two replicas: score = the winning ZADD base + the increments it did not observe', async () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('zincrby' as const), replica: fc.integer({ min: 0, max: 1 }), amount: fc.integer({ min: -1000, max: 1000 }) }),
    fc.record({ kind: fc.constant('zadd' as const), replica: fc.integer({ min: 0, max: 1 }), score: fc.integer({ min: -1000, max: 1000 }) }),
    fc.record({ kind: fc.constant('deliver' as const), side: fc.integer({ min: 0, max: 1 }), count: fc.integer({ min: 1, max: 3 }), duplicate: fc.option(fc.nat(), { nil: undefined }) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
      const clock = { nowMs: 1_000_000 };
      const pair = replicas(2, clock);
      const notes: BatchNote[][] = [[], []];
      /** seen[replica][origin]: the sum of origin's increments the replica has merged (its own at once). */
      const seen = [
        [0, 0],
        [0, 0],
      ];
      const delivered = [0, 0];
      const totals = [0, 0];
      const deliver = (side: number, count: number, duplicate: number | undefined): void => {
        const batches = pair[side]!.engine.batches;
        const target = 1 - side;
        for (let sent = 0; sent < count && delivered[side]! < batches.length; sent++) {
          const note = notes[side]![delivered[side]!]!;
          pair[target]!.engine.merge(batches[delivered[side]!++]!);
          if (note.kind === 'increment') seen[target]![side]! += note.amount;
        }
        if (duplicate !== undefined && delivered[side]! > 0) pair[target]!.engine.merge(batches[duplicate % delivered[side]!]!);
      };
      /** Run a write and note its batch, if it wrote one. */
      const write = async (replica: number, note: (batch: readonly VersionedRecord[]) => BatchNote, ...args: (string | number)[]): Promise<void> => {
        const before = pair[replica]!.engine.batches.length;
        assert.doesNotMatch(await run(pair[replica]!, ...args), /^-/);
        const batches = pair[replica]!.engine.batches;
        assert.ok(batches.length <= before + 1);
        if (batches.length > before) notes[replica]!.push(note(batches[before]!));
      };
      const baseNote = (replica: number, score: number) => (batch: readonly VersionedRecord[]): BatchNote => ({
        kind: 'base',
        score,
        observed: [...seen[replica]!],
        row: batch.find((row) => MEMBER_ROW.equals(row.key))!,
      });
      await write(0, baseNote(0, 0), 'zadd', 'z', 0, 'm');
      deliver(0, 1, undefined);
      for (const item of steps) {
        if (item.kind === 'tick') clock.nowMs += item.ms;
        else if (item.kind === 'deliver') deliver(item.side, item.count, item.duplicate);
        else if (item.kind === 'zadd') await write(item.replica, baseNote(item.replica, item.score), 'zadd', 'z', item.score, 'm');
        else {
          const amount = item.amount / 4;
          await write(item.replica, () => ({ kind: 'increment', amount }), 'zincrby', 'z', amount, 'm');
          seen[item.replica]![item.replica]! += amount;
          totals[item.replica]! += amount;
        }
      }
      deliver(0, Number.MAX_SAFE_INTEGER, undefined);
      deliver(1, Number.MAX_SAFE_INTEGER, undefined);
      assert.deepEqual(describeRows(pair[0]!.engine), describeRows(pair[1]!.engine));
      const bases = notes.flat().filter((note): note is Extract<BatchNote, { kind: 'base' }> => note.kind === 'base');
      const winner = bases.reduce((best, note) => (compareVersions(note.row, best.row) > 0 ? note : best));
      const expected = winner.score + (totals[0]! - winner.observed[0]!) + (totals[1]! - winner.observed[1]!);
      for (const replica of pair) {
        const reply = await run(replica, 'zscore', 'z', 'm');
        const score = Number(reply.split('\r\n')[1]);
        assert.ok(Math.abs(score - expected) < 1e-9, `ZSCORE ${reply.trim()} but the winning base ${winner.score} (observed ${winner.observed.join(',')}) + increments ${totals.join(',')} make ${expected}`);
      }
      assert.equal(await run(pair[0]!, 'zrange', 'z', 0, -1, 'withscores'), await run(pair[1]!, 'zrange', 'z', 0, -1, 'withscores'));
    }),
    { numRuns: 300 },
  );
});
