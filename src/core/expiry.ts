// What a key's expiry does to its rows when headers race (DESIGN.md 6, README data model).
//
// A key's expiry belongs to its newest header: header H with expiry E (record.expiresAtMs)
// expires at the stamp X(H) = (E, 0, H.origin) (H's own stamp if it was written already
// expired). While H is the key's newest header and X(H) has passed, every row of the key
// stamped at or below X(H) is dead; rows stamped after it (written once the key had expired)
// are not. A newer header replaces H by plain last-writer-wins, whether it was written
// before the expiry (SET without TTL, PERSIST, EXPIRE on a node that had not seen H expire)
// or after it: H's expiry then never acts. So what is dead is a function of the rows a node
// holds, never of the order they came in: no row is removed because of an expiry that a
// header still in flight could undo.
//
// Hence nothing is physically removed at the expiry itself. The sweep turns an expired
// header into its marker: the same version as a tombstone that keeps its expiry (value
// null, expiresAtMs E; record.ts ranks it above the value it replaces, so the swap is a
// merge like any other and every node makes it). The marker reads as no key, its rows no
// longer count (liveKeys, field counts) but stay stored. Only once no newer header written
// before E can still arrive are they removed: when X(H) is older than the tombstone grace
// (a node away that long resyncs and drops everything older, node.ts beginResync), the same
// horizon after which the merge refuses old tombstones. From then on a late copy of such a
// row is dead on arrival; the marker itself goes one grace later (and a merge takes it until
// then), when no replica can still hold such a row.
//
// A write that creates the key again on a node that sees it expired starts a new
// incarnation: before its rows, the core stores the clear row stamped X(H) (expiryClear),
// the same on every node, so two nodes that create the key again concurrently keep each
// other's rows. That clear is a real clear: it also removes a header written before E by a
// node that had not seen H expire, if that header was still in flight (the one race left,
// test/sim/regressions.ts KNOWN_GAPS 'expiry-superseded': closing it needs headers that
// name the start of the life they continue, and reads that skip what a still-voidable clear
// kills instead of removing it at once).
import { compareHlc } from './hlc.js';
import { clearRowKey, RowKind, rowUserKey } from './rows.js';
import type { Hlc, NodeId, VersionedRecord } from './types.js';

/** The version at which a header's expiry acts (its expiry time, or its own stamp when written already expired). */
export function expiryStamp(header: VersionedRecord): { readonly hlc: Hlc; readonly origin: NodeId } {
  const hlc = header.expiresAtMs > header.hlc.wallMs ? { wallMs: header.expiresAtMs, logical: 0 } : header.hlc;
  return { hlc, origin: header.origin };
}

/** The clear row a write that creates an expired key again stores first (the same on every node). */
export function expiryClear(header: VersionedRecord): VersionedRecord {
  const { hlc, origin } = expiryStamp(header);
  return { key: clearRowKey(rowUserKey(header.key)!), value: null, hlc, origin, expiresAtMs: 0 };
}

/** A live header whose expiry has passed (not yet swept into its marker). */
export function isExpiredHeader(record: VersionedRecord, kind: number, nowMs: number): boolean {
  return kind === RowKind.Header && record.value !== null && record.expiresAtMs !== 0 && record.expiresAtMs <= nowMs;
}

/** The swept form of an expired header: the same version, no value, the expiry kept. */
export function isExpiryMarker(record: VersionedRecord, kind: number): boolean {
  return kind === RowKind.Header && record.value === null && record.expiresAtMs !== 0;
}

/** An expired header or its marker: the key's rows up to its expiry stamp are dead. */
export function isExpired(record: VersionedRecord, kind: number, nowMs: number): boolean {
  return isExpiryMarker(record, kind) || isExpiredHeader(record, kind, nowMs);
}

export function expiryMarker(header: VersionedRecord): VersionedRecord {
  return { key: header.key, value: null, hlc: header.hlc, origin: header.origin, expiresAtMs: header.expiresAtMs };
}

/** The time a tombstone counts from for the grace period: a marker from its expiry. */
export function tombstoneTimeMs(record: VersionedRecord): number {
  return record.expiresAtMs > record.hlc.wallMs ? record.expiresAtMs : record.hlc.wallMs;
}

/** True once no header written before the marker's expiry can still arrive: its dead rows may go. */
export function expiryFinal(marker: VersionedRecord, graceStartMs: number): boolean {
  return tombstoneTimeMs(marker) < graceStartMs;
}

/** True if the row is at or below the expiry stamp of the header: dead while that header is the key's. */
export function diesByExpiry(row: VersionedRecord, header: VersionedRecord): boolean {
  const stamp = expiryStamp(header);
  const byClock = compareHlc(row.hlc, stamp.hlc);
  return byClock < 0 || (byClock === 0 && row.origin <= stamp.origin);
}
