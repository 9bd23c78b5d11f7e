// Cursors of element scans (HSCAN) over row-ordered collections. Redis's cursor is an
// opaque integer the client hands back; ours names a remembered position (the key and
// the last row key returned), so a call resumes with one storage seek instead of
// skipping n rows. The table is per server and bounded: the oldest positions are
// forgotten first, and a forgotten or foreign cursor restarts the scan from the
// beginning, as a fresh scan would (SCAN's guarantee allows repeats, not gaps).
import { equalBytes } from '../core/bytes.js';
import type { ServerState } from './state.js';

/** Positions remembered per server; each costs a key and a row key. */
export const SCAN_CURSORS_MAX = 10_000;
/** Redis cursors are unsigned 64-bit integers. */
const CURSOR_MAX = 2n ** 64n - 1n;
const CURSOR_PATTERN = /^[+-]?[0-9]+$/;

interface Position {
  readonly key: Uint8Array;
  readonly after: Uint8Array;
}

export class ScanCursors {
  /** Cursor text -> position, oldest first (Map keeps insertion order). */
  private readonly positions = new Map<string, Position>();
  private nextCursor = 1;

  constructor(private readonly capacity = SCAN_CURSORS_MAX) {}

  /** A new cursor for the position after row `after` of `key` (both copied). */
  save(key: Uint8Array, after: Uint8Array): string {
    const cursor = String(this.nextCursor++);
    this.positions.set(cursor, { key: Uint8Array.from(key), after: Uint8Array.from(after) });
    if (this.positions.size > this.capacity) this.positions.delete(this.positions.keys().next().value!);
    return cursor;
  }

  /**
   * The row to resume after for a cursor of `key`, undefined to start from the first row
   * (cursor 0, forgotten, or saved for another key). Positions stay: a client that sends
   * the same cursor again gets the same continuation.
   */
  resume(cursor: string, key: Uint8Array): Uint8Array | undefined {
    const position = this.positions.get(cursor);
    return position !== undefined && equalBytes(position.key, key) ? position.after : undefined;
  }

  get size(): number {
    return this.positions.size;
  }
}

const tables = new WeakMap<ServerState, ScanCursors>();

/** The server's cursor table (created on first use). */
export function scanCursorsOf(server: ServerState): ScanCursors {
  let table = tables.get(server);
  if (table === undefined) {
    table = new ScanCursors();
    tables.set(server, table);
  }
  return table;
}

/**
 * Redis's parseScanCursorOrReply (strtoul): decimal digits with an optional sign, within
 * 64 bits. Returns the canonical text of the cursor, or undefined ("ERR invalid cursor").
 */
export function parseScanCursor(arg: Uint8Array): string | undefined {
  if (arg.length === 0) return '0'; // strtoul("") parses nothing and stops at the end: cursor 0
  if (arg.length > 21) return undefined;
  const text = String.fromCharCode(...arg);
  if (!CURSOR_PATTERN.test(text)) return undefined;
  const value = BigInt(text.startsWith('+') ? text.slice(1) : text);
  if (value > CURSOR_MAX || value < -CURSOR_MAX) return undefined;
  // strtoul negates a minus-signed number into the unsigned range.
  return String(value < 0n ? CURSOR_MAX + 1n + value : value);
}
