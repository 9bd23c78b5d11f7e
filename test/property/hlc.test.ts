// Proves the hybrid logical clock never goes backwards and refuses stamps too far ahead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareHlc, createHlcClock, nextHlc, observeHlc } from '../../src/core/hlc.js';

const event = fc.oneof(
  fc.record({ kind: fc.constant('local' as const), advanceMs: fc.integer({ min: -2_000, max: 2_000 }) }),
  fc.record({
    kind: fc.constant('remote' as const),
    advanceMs: fc.integer({ min: -2_000, max: 2_000 }),
    remoteAheadMs: fc.integer({ min: -5_000, max: 1_000 }),
    remoteLogical: fc.integer({ min: 0, max: 1_000 }),
  }),
);

test('stamps strictly increase over any mix of local and remote events, even when wall time jumps back', () => {
  fc.assert(
    fc.property(fc.array(event, { maxLength: 200 }), fc.integer({ min: 0, max: 2 ** 40 }), (events, startMs) => {
      const clock = createHlcClock({ wallMs: startMs, logical: 0 }, 500);
      let nowMs = startMs;
      let previous = clock.last;
      for (const item of events) {
        nowMs = Math.max(0, nowMs + item.advanceMs);
        if (item.kind === 'local') {
          const stamp = nextHlc(clock, nowMs);
          assert.ok(compareHlc(stamp, previous) > 0, 'local stamp must exceed every earlier one');
        } else {
          const remote = { wallMs: Math.max(0, nowMs + item.remoteAheadMs), logical: item.remoteLogical };
          const result = observeHlc(clock, remote, nowMs);
          if (result.ok) {
            assert.ok(compareHlc(clock.last, remote) > 0, 'clock must pass an observed stamp');
            assert.ok(compareHlc(clock.last, previous) > 0);
          } else {
            assert.equal(compareHlc(clock.last, previous), 0, 'a refused stamp leaves the clock unchanged');
          }
        }
        previous = clock.last;
      }
    }),
    { numRuns: 300 },
  );
});

test('a remote stamp beyond the max offset is refused with its distance', () => {
  const clock = createHlcClock({ wallMs: 1_000, logical: 0 }, 500);
  const result = observeHlc(clock, { wallMs: 1_000 + 501, logical: 0 }, 1_000);
  assert.deepEqual(result, { ok: false, code: 'clock_offset', aheadMs: 501 });
  assert.ok(observeHlc(clock, { wallMs: 1_500, logical: 7 }, 1_000).ok);
  assert.deepEqual(clock.last, { wallMs: 1_500, logical: 8 });
});
