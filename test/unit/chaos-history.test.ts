// Proves the chaos run's checker flags exactly the final states LWW forbids: a lost acknowledged SET, a deleted key back, a value no one wrote, a hot key older than its writer's acknowledged value or than the clock skew allows, a counter outside [acknowledged, attempted]; and accepts the legitimate ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHistory, type OpLine } from '../chaos/history.js';

let clock = 1_000;
function op(fields: Partial<OpLine> & Pick<OpLine, 'op' | 'k'>): OpLine {
  clock += 10;
  return { t0: clock, t1: clock + 5, c: 0, n: 0, s: 1, o: 'ok', ...fields };
}
const kinds = (ops: OpLine[], final: [string, string][]) => checkHistory(ops, new Map(final)).violations.map((violation) => violation.kind);

test('unique keys: acknowledged SETs must stay, acknowledged DELs must stay deleted, unacknowledged ones may go either way', () => {
  const ops = [
    op({ op: 'set', k: 'u:0:1', v: '0:1' }),
    op({ op: 'set', k: 'u:0:2', v: '0:2', s: 2, o: 'unknown' }),
    op({ op: 'set', k: 'u:0:3', v: '0:3', s: 3 }),
    op({ op: 'del', k: 'u:0:3', s: 4 }),
    op({ op: 'set', k: 'u:0:5', v: '0:5', s: 5 }),
    op({ op: 'del', k: 'u:0:5', s: 6, o: 'unknown' }),
  ];
  assert.deepEqual(kinds(ops, [['u:0:1', '0:1'], ['u:0:5', '0:5']]), []);
  assert.deepEqual(kinds(ops, [['u:0:1', '0:1'], ['u:0:2', '0:2']]), []);
  assert.deepEqual(kinds(ops, [['u:0:2', '0:2']]), ['lost-write']);
  assert.deepEqual(kinds(ops, [['u:0:1', '0:1'], ['u:0:3', '0:3']]), ['deleted-came-back']);
  assert.deepEqual(kinds(ops, [['u:0:1', 'garbage']]), ['wrong-value']);
  assert.deepEqual(kinds(ops, [['u:0:1', '0:1'], ['u:9:9', 'x']]), ['phantom-value']);
});

test('hot keys: any written value may win, but not one older than its own client acknowledged later', () => {
  const ops = [
    op({ op: 'set', k: 'h:0', v: '0:1', c: 0, s: 1 }),
    op({ op: 'set', k: 'h:0', v: '1:1', c: 1, n: 1, s: 1 }),
    op({ op: 'set', k: 'h:0', v: '0:2', c: 0, s: 2 }),
    op({ op: 'set', k: 'h:0', v: '1:3', c: 1, n: 1, s: 3, o: 'unknown' }),
    op({ op: 'set', k: 'h:0', v: '1:4', c: 1, n: 1, s: 4, o: 'fail' }),
  ];
  // Client 1's acknowledged write may beat client 0's later one: another node, its own stamp.
  assert.deepEqual(kinds(ops, [['h:0', '1:1']]), []);
  assert.deepEqual(kinds(ops, [['h:0', '0:2']]), []);
  assert.deepEqual(kinds(ops, [['h:0', '1:3']]), []);
  assert.deepEqual(kinds(ops, [['h:0', '0:1']]), ['stale-value']);
  assert.deepEqual(kinds(ops, [['h:0', '1:4']]), ['phantom-value'], 'a refused write never lands');
  assert.deepEqual(kinds(ops, []), ['lost-write']);
});

test('hot keys: a value that completed more than the clock skew before another acknowledged write was sent cannot win', () => {
  const early = op({ op: 'set', k: 'h:1', v: '0:1', c: 0, s: 1 });
  const late = { ...op({ op: 'set', k: 'h:1', v: '1:1', c: 1, n: 1, s: 1 }), t0: early.t1 + 3_000, t1: early.t1 + 3_010 };
  assert.deepEqual(checkHistory([early, late], new Map([['h:1', '0:1']]), 5_000).violations, []);
  assert.deepEqual(checkHistory([early, late], new Map([['h:1', '0:1']]), 2_000).violations.map((violation) => violation.kind), ['stale-value']);
  assert.deepEqual(checkHistory([early, late], new Map([['h:1', '1:1']]), 2_000).violations, []);
});

test('counters: between the acknowledged increments and those plus the unknown ones', () => {
  const ops = [
    op({ op: 'incr', k: 'c:0', r: 1 }),
    op({ op: 'incr', k: 'c:0', r: 2, c: 1, n: 1 }),
    op({ op: 'incr', k: 'c:0', o: 'unknown' }),
    op({ op: 'incr', k: 'c:0', o: 'fail' }),
  ];
  assert.deepEqual(kinds(ops, [['c:0', '2']]), []);
  assert.deepEqual(kinds(ops, [['c:0', '3']]), []);
  assert.deepEqual(kinds(ops, [['c:0', '1']]), ['lost-increment']);
  assert.deepEqual(kinds(ops, [['c:0', '4']]), ['extra-increment']);
  assert.deepEqual(kinds(ops, []), ['lost-increment']);
  const summary = checkHistory(ops, new Map([['c:0', '2']]));
  assert.deepEqual(summary.counters['c:0'], { acked: 2, attempted: 3, value: 2 });
  assert.equal(summary.ackedIncrements, 2);
});
