// Proves concurrent HSET/HDEL/HINCRBY/HINCRBYFLOAT on two replicas (the real commands over MemoryEngines, rows merged by Keyspace.merge, duplicated) converge to identical rows and replies in any delivery order, a removed field returns only when re-set with a later stamp, and increments from every origin count when each origin's rows arrive in the order it wrote them (as replication links deliver).
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

const KEY = Buffer.from('h');
const FIELDS = ['a', 'b', 'c'];
const NODE_IDS = ['a'.repeat(32), 'b'.repeat(32)];

function replicas(clock: { nowMs: number }): Replica[] {
  return commandReplicas(NODE_IDS, clock);
}

const run = runCommand;

function allRows(engine: MemoryEngine): VersionedRecord[] {
  return engine.store.scanBuckets(0, KEY_BUCKET_COUNT, Number.MAX_SAFE_INTEGER).records;
}

function describeRows(rows: readonly VersionedRecord[]): string[] {
  return rows.map((row) => `${Buffer.from(row.key).toString('hex')} ${row.value === null ? '-' : Buffer.from(row.value).toString('hex')} ${row.hlc.wallMs}.${row.hlc.logical} ${row.origin} ${row.expiresAtMs}`);
}

type Op =
  | { readonly kind: 'hset' | 'hdel' | 'hincrby' | 'hincrbyfloat'; readonly replica: number; readonly fields: readonly string[]; readonly amount: number }
  | { readonly kind: 'deliver'; readonly replica: number; readonly batch: number; readonly times: number }
  | { readonly kind: 'tick'; readonly ms: number };

const field = fc.constantFrom(...FIELDS);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('hset' as const, 'hdel' as const, 'hincrby' as const, 'hincrbyfloat' as const), replica: fc.integer({ min: 0, max: 1 }), fields: fc.array(field, { minLength: 1, maxLength: 3 }), amount: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ kind: fc.constant('deliver' as const), replica: fc.integer({ min: 0, max: 1 }), batch: fc.nat(), times: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 }) }),
);

async function apply(pair: Replica[], clock: { nowMs: number }, step: Op): Promise<void> {
  if (step.kind === 'tick') {
    clock.nowMs += step.ms;
    return;
  }
  if (step.kind === 'deliver') {
    const batches = pair[step.replica]!.engine.batches;
    if (batches.length === 0) return;
    const batch = batches[step.batch % batches.length]!;
    for (let time = 0; time < step.times; time++) pair[1 - step.replica]!.engine.merge(batch);
    return;
  }
  const replica = pair[step.replica]!;
  if (step.kind === 'hset') await run(replica, 'hset', 'h', ...step.fields.flatMap((name) => [name, `${name}${step.amount}`]));
  else if (step.kind === 'hdel') await run(replica, 'hdel', 'h', ...step.fields);
  else if (step.kind === 'hincrby') await run(replica, 'hincrby', 'h', step.fields[0]!, step.amount);
  else await run(replica, 'hincrbyfloat', 'h', step.fields[0]!, step.amount / 2);
}

/** Every batch of each replica delivered to the other in the given order, twice. */
function deliverAll(pair: Replica[], order: readonly number[]): void {
  for (let side = 0; side < 2; side++) {
    const batches = pair[side]!.engine.batches;
    const permuted = order.filter((index) => index < batches.length).concat(batches.map((_, index) => index));
    for (const index of permuted) pair[1 - side]!.engine.merge(batches[index]!);
  }
}

/** LWW over every stamped row: a field is live iff its newest field row is a value and no clear of the key is at or above it. */
function expectedLive(pair: Replica[], name: string): boolean {
  const fieldKey = Buffer.from(rowKey(KEY, RowKind.Field, Buffer.from(name)));
  const clearKey = Buffer.from(clearRowKey(KEY));
  let newest: VersionedRecord | undefined;
  const clears: VersionedRecord[] = [];
  for (const replica of pair) {
    for (const batch of replica.engine.batches) {
      for (const row of batch) {
        if (fieldKey.equals(row.key) && (newest === undefined || compareVersions(row, newest) > 0)) newest = row;
        if (clearKey.equals(row.key)) clears.push(row);
      }
    }
  }
  if (newest === undefined || newest.value === null) return false;
  return clears.every((clear) => compareVersions(clear, newest!) < 0);
}

test('concurrent hash writes on two replicas converge whatever the delivery order, and removed fields stay removed', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.array(fc.nat({ max: 60 }), { maxLength: 60 }), async (ops, order) => {
      const clock = { nowMs: 1_000_000 };
      const pair = replicas(clock);
      for (const step of ops) await apply(pair, clock, step);
      deliverAll(pair, order);
      assert.deepEqual(describeRows(allRows(pair[0]!.engine)), describeRows(allRows(pair[1]!.engine)));
      const replies = await Promise.all(pair.map((replica) => run(replica, 'hgetall', 'h')));
      assert.equal(replies[0], replies[1]);
      for (const command of [['hlen', 'h'], ['type', 'h'], ['exists', 'h'], ['dbsize']]) {
        assert.equal(await run(pair[0]!, ...command), await run(pair[1]!, ...command), command.join(' '));
      }
      for (const name of FIELDS) {
        const live = expectedLive(pair, name);
        for (const replica of pair) assert.equal(await run(replica, 'hexists', 'h', name), live ? ':1\r\n' : ':0\r\n', name);
      }
      // The derived field count agrees with the rows.
      const liveFields = FIELDS.filter((name) => expectedLive(pair, name)).length;
      assert.equal(await run(pair[0]!, 'hlen', 'h'), `:${liveFields}\r\n`);
      assert.equal(await run(pair[0]!, 'exists', 'h'), liveFields > 0 ? ':1\r\n' : ':0\r\n');
    }),
    { numRuns: 200 },
  );
});

/**
 * Replication as links carry it: each origin's batches arrive in the order it wrote them
 * (a field's base "0" before the slot rows that count on it), interleaved arbitrarily
 * with the other direction, an older batch sometimes again (duplicates).
 */
class FifoLinks {
  private readonly delivered = [0, 0];
  constructor(private readonly pair: Replica[]) {}

  /** Deliver up to `count` of side's next batches to the other side, then one older batch again. */
  deliver(side: number, count: number, duplicate: number | undefined): void {
    const batches = this.pair[side]!.engine.batches;
    const target = this.pair[1 - side]!.engine;
    for (let sent = 0; sent < count && this.delivered[side]! < batches.length; sent++) target.merge(batches[this.delivered[side]!++]!);
    if (duplicate !== undefined && this.delivered[side]! > 0) target.merge(batches[duplicate % this.delivered[side]!]!);
  }

  deliverAll(): void {
    for (let side = 0; side < 2; side++) this.deliver(side, Number.MAX_SAFE_INTEGER, undefined);
  }
}

test('HINCRBY and HINCRBYFLOAT on two replicas: every increment counts, with per-origin ordered delivery and duplicates', async () => {
  // n and fresh (created by the increments themselves) count integers, x floats.
  const increment = fc.record({
    replica: fc.integer({ min: 0, max: 1 }),
    field: fc.constantFrom('n', 'fresh', 'x'),
    amount: fc.integer({ min: -1000, max: 1000 }),
    deliver: fc.option(fc.record({ side: fc.integer({ min: 0, max: 1 }), count: fc.integer({ min: 1, max: 3 }), duplicate: fc.option(fc.nat(), { nil: undefined }) }), { nil: undefined }),
  });
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: -100, max: 100 }), fc.array(increment, { maxLength: 30 }), async (base, steps) => {
      const clock = { nowMs: 1_000_000 };
      const pair = replicas(clock);
      const links = new FifoLinks(pair);
      await run(pair[0]!, 'hset', 'h', 'n', base, 'x', base);
      links.deliver(0, 1, undefined); // both start from the same base
      const totals = new Map<string, number>([['n', base], ['fresh', 0], ['x', base]]);
      for (const step of steps) {
        const float = step.field === 'x';
        const amount = float ? step.amount / 4 : step.amount;
        assert.doesNotMatch(await run(pair[step.replica]!, float ? 'hincrbyfloat' : 'hincrby', 'h', step.field, amount), /^-/);
        totals.set(step.field, totals.get(step.field)! + amount);
        if (step.deliver !== undefined) links.deliver(step.deliver.side, step.deliver.count, step.deliver.duplicate);
        clock.nowMs += step.amount & 1;
      }
      links.deliverAll();
      assert.deepEqual(describeRows(allRows(pair[0]!.engine)), describeRows(allRows(pair[1]!.engine)));
      for (const name of ['n', 'fresh', 'x']) {
        const replies = await Promise.all(pair.map((replica) => run(replica, 'hget', 'h', name)));
        assert.equal(replies[0], replies[1]);
        if (name === 'fresh' && !steps.some((step) => step.field === name)) continue;
        const value = Number(replies[0]!.split('\r\n')[1]);
        assert.ok(Math.abs(value - totals.get(name)!) < 1e-9, `${name}: ${replies[0]} vs ${totals.get(name)}`);
      }
    }),
    { numRuns: 300 },
  );
});
