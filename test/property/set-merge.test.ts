// Proves concurrent SADD/SREM on two replicas (the real commands over MemoryEngines, rows merged by Keyspace.merge, duplicated, any delivery order) converge to identical rows and replies with each member present iff its newest row is an add outside every clear, and that ZINCRBY from both origins all count when each origin's rows arrive in the order it wrote them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { compareVersions } from '../../src/core/record.js';
import { KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { clearRowKey, rowKey, RowKind } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { commandReplicas, runCommand, type Replica } from '../support/command-replicas.js';

const KEY = Buffer.from('s');
const MEMBERS = ['a', 'b', 'c'];
const NODE_IDS = ['a'.repeat(32), 'b'.repeat(32)];

function replicas(clock: { nowMs: number }): Replica[] {
  return commandReplicas(NODE_IDS, clock);
}

const run = runCommand;

function describeRows(engine: MemoryEngine): string[] {
  const rows = engine.store.scanBuckets(0, KEY_BUCKET_COUNT, Number.MAX_SAFE_INTEGER).records;
  return rows.map((row) => `${Buffer.from(row.key).toString('hex')} ${row.value === null ? '-' : Buffer.from(row.value).toString('hex')} ${row.hlc.wallMs}.${row.hlc.logical} ${row.origin}`);
}

type Op =
  | { readonly kind: 'sadd' | 'srem'; readonly replica: number; readonly members: readonly string[] }
  | { readonly kind: 'deliver'; readonly replica: number; readonly batch: number; readonly times: number }
  | { readonly kind: 'tick'; readonly ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('sadd' as const, 'srem' as const), replica: fc.integer({ min: 0, max: 1 }), members: fc.array(fc.constantFrom(...MEMBERS), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('deliver' as const), replica: fc.integer({ min: 0, max: 1 }), batch: fc.nat(), times: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 }) }),
);

function expectedMember(pair: Replica[], name: string): boolean {
  const memberKey = Buffer.from(rowKey(KEY, RowKind.Field, Buffer.from(name)));
  const clearKey = Buffer.from(clearRowKey(KEY));
  let newest: VersionedRecord | undefined;
  const clears: VersionedRecord[] = [];
  for (const replica of pair) {
    for (const batch of replica.engine.batches) {
      for (const row of batch) {
        if (memberKey.equals(row.key) && (newest === undefined || compareVersions(row, newest) > 0)) newest = row;
        if (clearKey.equals(row.key)) clears.push(row);
      }
    }
  }
  if (newest === undefined || newest.value === null) return false;
  return clears.every((clear) => compareVersions(clear, newest!) < 0);
}

test('concurrent SADD/SREM on two replicas converge whatever the delivery order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.array(fc.nat({ max: 60 }), { maxLength: 60 }), async (ops, order) => {
      const clock = { nowMs: 1_000_000 };
      const pair = replicas(clock);
      for (const step of ops) {
        if (step.kind === 'tick') clock.nowMs += step.ms;
        else if (step.kind === 'deliver') {
          const batches = pair[step.replica]!.engine.batches;
          if (batches.length === 0) continue;
          for (let time = 0; time < step.times; time++) pair[1 - step.replica]!.engine.merge(batches[step.batch % batches.length]!);
        } else await run(pair[step.replica]!, step.kind, 's', ...step.members);
      }
      for (let side = 0; side < 2; side++) {
        const batches = pair[side]!.engine.batches;
        const permuted = order.filter((index) => index < batches.length).concat(batches.map((_, index) => index));
        for (const index of permuted) pair[1 - side]!.engine.merge(batches[index]!);
      }
      assert.deepEqual(describeRows(pair[0]!.engine), describeRows(pair[1]!.engine));
      for (const command of [['smembers', 's'], ['scard', 's'], ['type', 's'], ['exists', 's'], ['dbsize']]) {
        assert.equal(await run(pair[0]!, ...command), await run(pair[1]!, ...command), command.join(' '));
      }
      const live = MEMBERS.filter((name) => expectedMember(pair, name));
      for (const replica of pair) {
        for (const name of MEMBERS) assert.equal(await run(replica, 'sismember', 's', name), live.includes(name) ? ':1\r\n' : ':0\r\n', name);
        assert.equal(await run(replica, 'scard', 's'), `:${live.length}\r\n`);
      }
    }),
    { numRuns: 200 },
  );
});

test('ZINCRBY on two replicas: every increment counts with per-origin ordered delivery and duplicates', async () => {
  const step = fc.record({
    replica: fc.integer({ min: 0, max: 1 }),
    member: fc.constantFrom('m', 'fresh'),
    amount: fc.integer({ min: -1000, max: 1000 }),
    deliver: fc.option(fc.record({ side: fc.integer({ min: 0, max: 1 }), count: fc.integer({ min: 1, max: 3 }), duplicate: fc.option(fc.nat(), { nil: undefined }) }), { nil: undefined }),
  });
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: -100, max: 100 }), fc.array(step, { maxLength: 30 }), async (base, steps) => {
      const clock = { nowMs: 1_000_000 };
      const pair = replicas(clock);
      const delivered = [0, 0];
      const deliver = (side: number, count: number, duplicate: number | undefined): void => {
        const batches = pair[side]!.engine.batches;
        const target = pair[1 - side]!.engine;
        for (let sent = 0; sent < count && delivered[side]! < batches.length; sent++) target.merge(batches[delivered[side]!++]!);
        if (duplicate !== undefined && delivered[side]! > 0) target.merge(batches[duplicate % delivered[side]!]!);
      };
      await run(pair[0]!, 'zadd', 'z', base, 'm');
      deliver(0, 1, undefined);
      const totals = new Map<string, number>([['m', base], ['fresh', 0]]);
      for (const item of steps) {
        const amount = item.amount / 4;
        assert.doesNotMatch(await run(pair[item.replica]!, 'zincrby', 'z', amount, item.member), /^-/);
        totals.set(item.member, totals.get(item.member)! + amount);
        if (item.deliver !== undefined) deliver(item.deliver.side, item.deliver.count, item.deliver.duplicate);
        clock.nowMs += item.amount & 1;
      }
      deliver(0, Number.MAX_SAFE_INTEGER, undefined);
      deliver(1, Number.MAX_SAFE_INTEGER, undefined);
      assert.deepEqual(describeRows(pair[0]!.engine), describeRows(pair[1]!.engine));
      for (const name of ['m', 'fresh']) {
        const replies = await Promise.all(pair.map((replica) => run(replica, 'zscore', 'z', name)));
        assert.equal(replies[0], replies[1]);
        if (name === 'fresh' && !steps.some((item) => item.member === name)) continue;
        const value = Number(replies[0]!.split('\r\n')[1]);
        assert.ok(Math.abs(value - totals.get(name)!) < 1e-9, `${name}: ${replies[0]} vs ${totals.get(name)}`);
      }
      assert.equal(await run(pair[0]!, 'zrange', 'z', 0, -1, 'withscores'), await run(pair[1]!, 'zrange', 'z', 0, -1, 'withscores'));
    }),
    { numRuns: 300 },
  );
});

test('regression: a member added concurrently with the clear of the last SREM never leaves a set that reads as a headerless hash', async () => {
  const clock = { nowMs: 1_000_000 };
  const pair = replicas(clock);
  await run(pair[1]!, 'sadd', 's', 'a');
  pair[0]!.engine.merge(pair[1]!.engine.batches[0]!);
  await run(pair[1]!, 'sadd', 's', 'b');
  await run(pair[0]!, 'srem', 's', 'a');
  for (let side = 0; side < 2; side++) for (const batch of pair[side]!.engine.batches) pair[1 - side]!.engine.merge(batch);
  const types = await Promise.all(pair.map((replica) => run(replica, 'type', 's')));
  assert.equal(types[0], types[1]);
  assert.notEqual(types[0], '+hash\r\n');
  assert.equal(await run(pair[0]!, 'smembers', 's'), await run(pair[1]!, 'smembers', 's'));
});
