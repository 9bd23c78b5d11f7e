// Proves the typed rows merge like a CRDT and encode losslessly: for every row kind, Keyspace.merge over MemoryStores gives the same stored rows and Merkle root whatever the batching, order and duplication of delivery; row keys round-trip and bucket by their user key; header, field and slot values round-trip and their decoders never throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { keyBucket, toHex } from '../../src/core/bytes.js';
import {
  decodeFieldValue,
  decodeHeader,
  decodeSlotTotal,
  encodeFieldValue,
  encodeHeader,
  encodeSlotTotal,
  encodeStringHeader,
  FLUSH_ROW_KEY,
  headerType,
  keyPrefix,
  kindPrefix,
  KeyType,
  parseRow,
  parseSlotElement,
  plainStringValue,
  rowBucket,
  rowKey,
  rowKindOf,
  RowKind,
  rowPrefixBucket,
  rowUserKey,
  slotElement,
  slotPrefix,
  type BaseValue,
  type SlotTotal,
} from '../../src/core/rows.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import { KeyspaceReplica } from '../support/keyspace-replica.js';

const NOW_MS = 1_700_000_000_000;
const ORIGINS: readonly NodeId[] = ['1'.repeat(32), '7'.repeat(32), 'e'.repeat(32)];
/** The empty user key is a key like any other. */
const USER_KEYS = [new Uint8Array(0), Uint8Array.of(0x61), Uint8Array.of(0x62, 0xff)];
const FIELDS = [Uint8Array.of(0x66), Uint8Array.of(0x67, 0)];

type Kind = 'clear' | 'header' | 'field' | 'slot' | 'flush';
const KINDS: readonly Kind[] = ['clear', 'header', 'field', 'slot', 'flush'];

const origin = fc.constantFrom(...ORIGINS);
const slotTotal: fc.Arbitrary<SlotTotal> = fc.record({ integer: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), float: fc.double({ noNaN: true }) });
const observed: fc.Arbitrary<Map<NodeId, SlotTotal>> = fc.array(fc.tuple(origin, slotTotal), { maxLength: 3 }).map((entries) => new Map(entries));
const baseValue: fc.Arbitrary<BaseValue> = fc.record({ bytes: fc.uint8Array({ maxLength: 12 }), observed });

/** One version of one row, of `kind`, near NOW_MS; expired headers and tombstones included. */
function rowVersion(kind: Kind): fc.Arbitrary<VersionedRecord> {
  return fc
    .record({
      key: fc.nat(USER_KEYS.length - 1),
      field: fc.nat(FIELDS.length - 1),
      wallMs: fc.integer({ min: 1, max: 6 }),
      logical: fc.integer({ min: 0, max: 2 }),
      origin,
      base: baseValue,
      slot: slotTotal,
      hash: fc.boolean(),
      tombstone: fc.boolean(),
      expiry: fc.constantFrom('none', 'none', 'expired', 'later'),
    })
    .map((draw): VersionedRecord => {
      const key = USER_KEYS[draw.key]!;
      const hlc = { wallMs: NOW_MS - 10 + draw.wallMs, logical: draw.logical };
      const common = { hlc, origin: draw.origin, expiresAtMs: 0 };
      switch (kind) {
        case 'clear':
          return { ...common, key: rowKey(key, RowKind.Clear), value: null };
        case 'flush':
          return { ...common, key: FLUSH_ROW_KEY, value: null };
        case 'header': {
          const value = draw.hash ? encodeHeader({ type: KeyType.Hash, base: undefined }) : encodeHeader({ type: KeyType.String, base: draw.base });
          const expiresAtMs = draw.expiry === 'none' ? 0 : draw.expiry === 'expired' ? NOW_MS - 8 + draw.wallMs : NOW_MS + 1_000;
          return { ...common, key: rowKey(key, RowKind.Header), value, expiresAtMs };
        }
        case 'field':
          return { ...common, key: rowKey(key, RowKind.Field, FIELDS[draw.field]!), value: draw.tombstone ? null : encodeFieldValue(draw.base) };
        case 'slot':
          return { ...common, key: rowKey(key, RowKind.Slot, slotElement(draw.field === 0 ? new Uint8Array(0) : FIELDS[draw.field]!, draw.origin)), value: encodeSlotTotal(draw.slot) };
      }
    });
}

/** Rows mostly of `focus`, the other kinds mixed in so that every interaction occurs. */
function rows(focus: Kind): fc.Arbitrary<VersionedRecord[]> {
  const any = fc.oneof({ weight: 3, arbitrary: rowVersion(focus) }, ...KINDS.map((kind) => ({ weight: 1, arbitrary: rowVersion(kind) })));
  return fc.array(any, { minLength: 1, maxLength: 14 }).map(canonical);
}

/** A version (row key, hlc, origin) means one content cluster-wide: keep the first drawn. */
function canonical(records: VersionedRecord[]): VersionedRecord[] {
  const byVersion = new Map<string, VersionedRecord>();
  return records.map((record) => {
    const id = `${toHex(record.key)}/${record.hlc.wallMs}.${record.hlc.logical}/${record.origin}`;
    const known = byVersion.get(id);
    if (known !== undefined) return known;
    byVersion.set(id, record);
    return record;
  });
}

/** Split records into batches at the given cut points. */
function batchesOf(records: readonly VersionedRecord[], cuts: readonly number[]): VersionedRecord[][] {
  const points = [...new Set(cuts.map((cut) => cut % (records.length + 1)))].sort((a, b) => a - b);
  const batches: VersionedRecord[][] = [];
  let start = 0;
  for (const point of [...points, records.length]) {
    if (point > start) batches.push(records.slice(start, point));
    start = Math.max(start, point);
  }
  return batches;
}

interface Outcome {
  readonly rows: string[];
  readonly root: [number, number];
}

function replay(batches: readonly (readonly VersionedRecord[])[]): Outcome {
  const replica = new KeyspaceReplica('0'.repeat(32));
  for (const batch of batches) replica.merge(batch, NOW_MS);
  assert.ok(replica.treeMatchesStore(), 'the Merkle tree equals one built from the stored rows');
  const stored = replica.rows().map((row) => `${toHex(row.key)}@${row.hlc.wallMs}.${row.hlc.logical}/${row.origin}=${row.value === null ? 'T' : toHex(row.value)}|${row.expiresAtMs}`);
  return { rows: stored.sort(), root: replica.tree.root() };
}

for (const focus of KINDS) {
  test(`merge of ${focus} rows: any batching, order and duplication gives the same rows and Merkle root`, () => {
    fc.assert(
      fc.property(rows(focus), fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 4 }), (records, cuts, order, repeats) => {
        const reference = replay([records]);
        // Commutative and associative: other batches, delivered in another order.
        const shuffled = [...records];
        for (let index = 0; index < order.length && shuffled.length > 1; index++) {
          const from = order[index]! % shuffled.length;
          const to = (order[index]! >>> 3) % shuffled.length;
          [shuffled[from], shuffled[to]] = [shuffled[to]!, shuffled[from]!];
        }
        assert.deepEqual(replay(batchesOf(shuffled, cuts)), reference);
        // Idempotent: some batches delivered again, whole and in part.
        const batches = batchesOf(records, cuts);
        const again = [...batches, ...repeats.map((repeat) => batches[repeat % batches.length]!), records.slice(0, Math.ceil(records.length / 2))];
        assert.deepEqual(replay(again), reference);
      }),
      { numRuns: 150 },
    );
  });
}

test('merge is associative: (a + b) then c equals a then (b + c), as whole batches', () => {
  fc.assert(
    fc.property(rows('clear'), rows('header'), rows('slot'), (a, b, c) => {
      [a, b, c] = splitCanonical(a, b, c);
      assert.deepEqual(replay([[...a, ...b], c]), replay([a, [...b, ...c]]));
    }),
    { numRuns: 150 },
  );
});

/** Three arrays canonical together (a version means the same row in all three). */
function splitCanonical(a: VersionedRecord[], b: VersionedRecord[], c: VersionedRecord[]): [VersionedRecord[], VersionedRecord[], VersionedRecord[]] {
  const all = canonical([...a, ...b, ...c]);
  return [all.slice(0, a.length), all.slice(a.length, a.length + b.length), all.slice(a.length + b.length)];
}

// ---- row keys ----

/** Lengths at the edges of the one-byte and four-byte length forms, and a long key. */
const EDGE_LENGTHS = [0, 1, 254, 255, 256, 65_536];
const userKey = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(...EDGE_LENGTHS).chain((length) => fc.integer({ min: 0, max: 255 }).map((fill) => new Uint8Array(length).fill(fill))),
);
const element = fc.uint8Array({ maxLength: 300 });

test('row keys round-trip and bucket by their user key, for every kind and key length', () => {
  fc.assert(
    fc.property(userKey, element, element, origin, (key, field, counted, slotOrigin) => {
      const bucket = keyBucket(key);
      const prefix = keyPrefix(key);
      assert.equal(rowPrefixBucket(prefix), bucket);
      const slot = slotElement(counted, slotOrigin);
      const cases: [RowKind, Uint8Array][] = [
        [RowKind.Clear, new Uint8Array(0)],
        [RowKind.Header, new Uint8Array(0)],
        [RowKind.Field, field],
        [RowKind.Slot, slot],
      ];
      for (const [kind, part] of cases) {
        const row = rowKey(key, kind, part);
        const parsed = parseRow(row);
        assert.ok(parsed !== undefined);
        assert.deepEqual([toHex(parsed.key), parsed.kind, toHex(parsed.element)], [toHex(key), kind, toHex(part)]);
        assert.equal(rowBucket(row), bucket);
        assert.equal(rowKindOf(row), kind);
        assert.equal(toHex(rowUserKey(row)!), toHex(key));
        assert.ok(startsWith(row, prefix) && startsWith(row, kindPrefix(key, kind)));
        assert.notEqual(toHex(row), toHex(FLUSH_ROW_KEY));
      }
      const parsedSlot = parseSlotElement(slot);
      assert.ok(parsedSlot !== undefined);
      assert.equal(toHex(parsedSlot.counted), toHex(counted));
      assert.equal(parsedSlot.origin, slotOrigin);
      assert.ok(startsWith(rowKey(key, RowKind.Slot, slot), slotPrefix(key, counted)));
    }),
    { numRuns: 200 },
  );
});

test('the flush row is no row of any key, and decoding any bytes as a row key never throws', () => {
  assert.equal(parseRow(FLUSH_ROW_KEY), undefined);
  assert.equal(rowKindOf(FLUSH_ROW_KEY), -1);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const parsed = parseRow(bytes);
      rowBucket(bytes);
      rowKindOf(bytes);
      rowUserKey(bytes);
      parseSlotElement(bytes);
      // What parses is canonical: it re-encodes to the same bytes.
      if (parsed !== undefined) assert.equal(toHex(rowKey(parsed.key, parsed.kind, parsed.element)), toHex(bytes));
    }),
    { numRuns: 2_000 },
  );
});

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, index) => bytes[index] === byte);
}

// ---- values ----

function sameTotal(a: SlotTotal | undefined, b: SlotTotal): void {
  assert.ok(a !== undefined);
  assert.equal(a.integer, b.integer);
  assert.ok(Object.is(a.float, b.float), `${a.float} vs ${b.float}`);
}

function sameBase(decoded: BaseValue | undefined, expected: BaseValue): void {
  assert.ok(decoded !== undefined);
  assert.equal(toHex(decoded.bytes), toHex(expected.bytes));
  assert.deepEqual([...decoded.observed.keys()].sort(), [...expected.observed.keys()].sort());
  for (const [id, total] of expected.observed) sameTotal(decoded.observed.get(id), total);
}

const anySlotTotal: fc.Arbitrary<SlotTotal> = fc.record({ integer: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), float: fc.double() });
const hexId = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(toHex);
const anyBase: fc.Arbitrary<BaseValue> = fc.record({
  bytes: fc.uint8Array({ maxLength: 64 }),
  observed: fc.array(fc.tuple(hexId, anySlotTotal), { maxLength: 8 }).map((entries) => new Map(entries)),
});

test('header, field and slot values round-trip', () => {
  fc.assert(
    fc.property(anyBase, anySlotTotal, fc.uint8Array({ maxLength: 64 }), (base, total, plain) => {
      const header = decodeHeader(encodeHeader({ type: KeyType.String, base }));
      assert.equal(header?.type, KeyType.String);
      sameBase(header!.base, base);
      sameBase(decodeFieldValue(encodeFieldValue(base)), base);
      sameTotal(decodeSlotTotal(encodeSlotTotal(total)), total);
      const hash = encodeHeader({ type: KeyType.Hash, base: undefined });
      assert.deepEqual(decodeHeader(hash), { type: KeyType.Hash, base: undefined });
      assert.equal(headerType(hash), KeyType.Hash);
      const plainHeader = encodeStringHeader(plain);
      assert.equal(toHex(plainStringValue(plainHeader)!), toHex(plain));
      sameBase(decodeHeader(plainHeader)!.base, { bytes: plain, observed: new Map() });
    }),
    { numRuns: 300 },
  );
});

test('value decoders never throw on any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      decodeHeader(bytes);
      decodeFieldValue(bytes);
      decodeSlotTotal(bytes);
      headerType(bytes);
      plainStringValue(bytes);
      // A header that decodes re-encodes to the same bytes when it is canonical (flags 0 or 1).
      const header = decodeHeader(bytes);
      if (header?.type === KeyType.Hash) assert.equal(bytes.length, 1);
    }),
    { numRuns: 3_000 },
  );
});
