// Proves the store's overlay of pending rows (storage/overlay.ts) answers like a plain map of row -> newest entry under any sequence of writes, replacements and commits: the same entries by row, by bucket and by bucket range, in bucket order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { Overlay, overlayEntry, type OverlayEntry } from '../../src/storage/overlay.js';

type Operation = { readonly kind: 'set'; readonly row: number } | { readonly kind: 'commit'; readonly count: number } | { readonly kind: 'range'; readonly from: number; readonly to: number };

/** Few buckets, at both ends of the bucket space, so rows share buckets and lists grow and shrink. */
const BUCKETS = [0, 1, 2, KEY_BUCKET_COUNT - 1];
const bucketOfRow = (row: number): number => BUCKETS[row % BUCKETS.length]!;

const operation = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), row: fc.nat(24) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), count: fc.nat(6) }) },
  // Wide ranges look at the rows, narrow ones (fewer buckets than pending rows) walk the buckets.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('range' as const), from: fc.integer({ min: -1, max: KEY_BUCKET_COUNT }), to: fc.integer({ min: 0, max: KEY_BUCKET_COUNT + 1 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('range' as const), from: fc.integer({ min: -1, max: 3 }), to: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('range' as const), from: fc.constant(KEY_BUCKET_COUNT - 2), to: fc.constant(KEY_BUCKET_COUNT + 1) }) },
);

const names = (entries: Iterable<OverlayEntry>): string[] => [...entries].map((entry) => entry.mapKey).sort();

test('the overlay equals a map of each row\'s newest entry, by row, bucket and range', () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 120 }), (operations) => {
      const overlay = new Overlay();
      const newest = new Map<string, OverlayEntry>();
      const uncommitted: OverlayEntry[] = []; // in write order, as transactions settle them
      for (const step of operations) {
        if (step.kind === 'set') {
          const mapKey = `row${step.row}`;
          const entry = overlayEntry(mapKey, bucketOfRow(step.row), new Uint8Array([step.row]), null);
          overlay.set(entry);
          newest.set(mapKey, entry);
          uncommitted.push(entry);
        } else if (step.kind === 'commit') {
          for (const entry of uncommitted.splice(0, step.count)) {
            overlay.deleteIfCurrent(entry);
            if (newest.get(entry.mapKey) === entry) newest.delete(entry.mapKey);
          }
        } else {
          const found = overlay.inRange(step.from, step.to);
          const expected = [...newest.values()].filter((entry) => entry.bucket >= step.from && entry.bucket < step.to);
          assert.deepEqual(names(found), names(expected));
          for (let index = 1; index < found.length; index++) assert.ok(found[index - 1]!.bucket <= found[index]!.bucket, 'in bucket order');
        }
        assert.equal(overlay.size, newest.size);
        for (const [mapKey, entry] of newest) assert.equal(overlay.get(mapKey), entry);
        for (const bucket of BUCKETS) {
          assert.deepEqual(names(overlay.ofBucket(bucket)), names([...newest.values()].filter((entry) => entry.bucket === bucket)));
          assert.equal(overlay.hasBucket(bucket), [...newest.values()].some((entry) => entry.bucket === bucket));
        }
      }
    }),
    { numRuns: 300 },
  );
});
