// Proves the store's overlay of pending rows (storage/overlay.ts) answers like a plain map of row -> newest entry under any sequence of writes, replacements and commits: the same entries by row, by bucket and by bucket range, in bucket order; with buckets that outgrow their list (BUCKET_LIST_ROWS_MAX) and empty again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { BUCKET_LIST_ROWS_MAX, Overlay, overlayEntry, type OverlayEntry } from '../../src/storage/overlay.js';

type Operation = { readonly kind: 'set'; readonly row: number } | { readonly kind: 'burst'; readonly bucket: number; readonly count: number } | { readonly kind: 'commit'; readonly count: number } | { readonly kind: 'range'; readonly from: number; readonly to: number };

/** Few buckets, at both ends of the bucket space, so rows share buckets and lists grow and shrink. */
const BUCKETS = [0, 1, 2, KEY_BUCKET_COUNT - 1];
const bucketOfRow = (row: number): number => BUCKETS[row % BUCKETS.length]!;
/** Enough rows that a bucket can hold more than its list's share. */
const ROWS = BUCKETS.length * (BUCKET_LIST_ROWS_MAX + 4);
/** A row's stored key as the store makes it: its bucket in two bytes, then the row. */
const storedKeyOf = (row: number): Uint8Array => new Uint8Array([bucketOfRow(row) >>> 8, bucketOfRow(row) & 0xff, row >>> 8, row & 0xff]);
const rowKey = (row: number): Uint8Array => new Uint8Array([row >>> 8, row & 0xff]);
const rowOf = (entry: OverlayEntry): number => (entry.key[0]! << 8) | entry.key[1]!;

const operation = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), row: fc.nat(ROWS - 1) }) },
  // Many rows of one bucket at once: past its list's share, so it gets a map.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('burst' as const), bucket: fc.nat(BUCKETS.length - 1), count: fc.integer({ min: BUCKET_LIST_ROWS_MAX - 2, max: ROWS / BUCKETS.length }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), count: fc.nat(6) }) },
  // Wide ranges walk every bucket (and stop once every pending row is found), narrow ones a few.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('range' as const), from: fc.integer({ min: -1, max: KEY_BUCKET_COUNT }), to: fc.integer({ min: 0, max: KEY_BUCKET_COUNT + 1 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('range' as const), from: fc.integer({ min: -1, max: 3 }), to: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('range' as const), from: fc.constant(KEY_BUCKET_COUNT - 2), to: fc.constant(KEY_BUCKET_COUNT + 1) }) },
);

const names = (entries: Iterable<OverlayEntry>): number[] => [...entries].map(rowOf).sort((a, b) => a - b);

test('the overlay equals a map of each row\'s newest entry, by row, bucket and range', () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
      const overlay = new Overlay();
      const newest = new Map<number, OverlayEntry>();
      const uncommitted: OverlayEntry[] = []; // in write order, as transactions settle them
      for (const step of operations) {
        if (step.kind === 'set' || step.kind === 'burst') {
          const rows = step.kind === 'set' ? [step.row] : Array.from({ length: step.count }, (_, index) => step.bucket + index * BUCKETS.length);
          for (const row of rows) {
            const entry = overlayEntry(storedKeyOf(row), bucketOfRow(row), rowKey(row), null);
            overlay.set(entry);
            newest.set(row, entry);
            uncommitted.push(entry);
          }
        } else if (step.kind === 'commit') {
          for (const entry of uncommitted.splice(0, step.count)) {
            overlay.deleteIfCurrent(entry);
            if (newest.get(rowOf(entry)) === entry) newest.delete(rowOf(entry));
          }
        } else {
          const found = overlay.inRange(step.from, step.to);
          const expected = [...newest.values()].filter((entry) => entry.bucket >= step.from && entry.bucket < step.to);
          assert.deepEqual(names(found), names(expected));
          for (let index = 1; index < found.length; index++) assert.ok(found[index - 1]!.bucket <= found[index]!.bucket, 'in bucket order');
        }
        assert.equal(overlay.size, newest.size);
        for (let row = 0; row < ROWS; row++) assert.equal(overlay.get(storedKeyOf(row), bucketOfRow(row)), newest.get(row));
        for (const entry of newest.values()) assert.ok(overlay.isCurrent(entry));
        assert.deepEqual(names(overlay.inRange(0, KEY_BUCKET_COUNT)), names(newest.values()));
        for (const bucket of BUCKETS) {
          assert.deepEqual(names(overlay.ofBucket(bucket)), names([...newest.values()].filter((entry) => entry.bucket === bucket)));
        }
      }
    }),
    { numRuns: 300 },
  );
});
