// The write-ahead log in front of LMDB. Random-key LMDB commits rewrite many B-tree pages
// each and cannot keep up with a Redis client, so a write is acknowledged once it is
// appended here (one write(2) per event-loop turn, plus fdatasync with fsync 'always')
// and LMDB catches up in the background. A segment file is deleted once every group in
// it is applied to LMDB and LMDB is synced, so the log holds exactly what LMDB may lack.
//
// Segment file: [magic 'PKVWAL' + version u16 BE] then frames, one per group:
//   [body length u32 LE][crc32 of body u32 LE][body]
// Body: entries [kind u8][key length u32 LE][value length u32 LE][key][value].
// A group is all or nothing on replay: its callers were acknowledged only after the whole
// frame was written, so a torn or damaged last frame holds nothing anybody was promised.
import { closeSync, fdatasync, fsyncSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DATA_FILE_MODE } from './data-dir.js';

export type LogFsyncMode = 'always' | 'everysec' | 'no';

/** An entry's kind; append-only numbering (it is on disk). */
export const LOG_ENTRY_RECORD = 1; // key: stored key, value: encoded record value
export const LOG_ENTRY_PURGE = 2; // key: stored key, no value
export const LOG_ENTRY_META = 3; // key: meta name (UTF-8), value: meta value
export type LogEntryKind = typeof LOG_ENTRY_RECORD | typeof LOG_ENTRY_PURGE | typeof LOG_ENTRY_META;

export interface LogEntry {
  readonly kind: LogEntryKind;
  readonly key: Buffer;
  readonly value: Buffer;
}

/** A segment is rotated once it passes this size: big enough to be rare, small enough to free disk soon. */
export const LOG_SEGMENT_BYTES_TARGET = 64 * 1024 * 1024;
/** fsync 'everysec': at most this much acknowledged data is lost on power loss (as Redis). */
export const LOG_SYNC_INTERVAL_MS = 1_000;
const SEGMENT_MAGIC = Buffer.from([0x50, 0x4b, 0x56, 0x57, 0x41, 0x4c, 0x00, 0x01]); // 'PKVWAL' v1
const FRAME_HEADER_BYTES = 8;
const ENTRY_HEADER_BYTES = 9;
const ENCODER_INITIAL_BYTES = 64 * 1024;
const SEGMENT_NAME_PATTERN = /^wal-(\d{12})\.log$/;

function segmentName(sequence: number): string {
  return `wal-${String(sequence).padStart(12, '0')}.log`;
}

/** Builds one group's frame; entries are copied in as they are appended. */
export class GroupEncoder {
  private bytes = Buffer.allocUnsafe(ENCODER_INITIAL_BYTES);
  private used = FRAME_HEADER_BYTES;
  entryCount = 0;

  append(kind: LogEntryKind, key: Uint8Array, value: Uint8Array | undefined): void {
    const valueBytes = value === undefined ? 0 : value.length;
    const needed = ENTRY_HEADER_BYTES + key.length + valueBytes;
    if (this.used + needed > this.bytes.length) this.grow(needed);
    const bytes = this.bytes;
    let offset = this.used;
    bytes[offset] = kind;
    bytes.writeUInt32LE(key.length, offset + 1);
    bytes.writeUInt32LE(valueBytes, offset + 5);
    offset += ENTRY_HEADER_BYTES;
    bytes.set(key, offset);
    offset += key.length;
    if (value !== undefined) bytes.set(value, offset);
    this.used = offset + valueBytes;
    this.entryCount++;
  }

  /** The finished frame (a view; the encoder must not be used afterwards). */
  finish(): Buffer {
    const frame = this.bytes.subarray(0, this.used);
    const body = frame.subarray(FRAME_HEADER_BYTES);
    frame.writeUInt32LE(body.length, 0);
    frame.writeUInt32LE(crc32(body), 4);
    return frame;
  }

  private grow(needed: number): void {
    let size = this.bytes.length * 2;
    while (size < this.used + needed) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.bytes.copy(bigger, 0, 0, this.used);
    this.bytes = bigger;
  }
}

export type SegmentProblem = 'bad_magic' | 'torn_frame' | 'checksum_mismatch' | 'bad_entry';

export interface DecodedSegment {
  /** Every intact group, in order, up to the first problem. */
  readonly groups: LogEntry[][];
  /** Why decoding stopped early; undefined when the whole file was intact. */
  readonly problem: SegmentProblem | undefined;
}

function decodeBody(body: Buffer): LogEntry[] | undefined {
  const entries: LogEntry[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + ENTRY_HEADER_BYTES > body.length) return undefined;
    const kind = body[offset]!;
    const keyBytes = body.readUInt32LE(offset + 1);
    const valueBytes = body.readUInt32LE(offset + 5);
    offset += ENTRY_HEADER_BYTES;
    if (kind !== LOG_ENTRY_RECORD && kind !== LOG_ENTRY_PURGE && kind !== LOG_ENTRY_META) return undefined;
    if (offset + keyBytes + valueBytes > body.length) return undefined;
    const key = body.subarray(offset, offset + keyBytes);
    offset += keyBytes;
    entries.push({ kind, key, value: body.subarray(offset, offset + valueBytes) });
    offset += valueBytes;
  }
  return entries;
}

/** The groups of one segment file's bytes (views into them). Never throws. */
export function decodeSegment(bytes: Buffer): DecodedSegment {
  const groups: LogEntry[][] = [];
  if (bytes.length < SEGMENT_MAGIC.length) return { groups, problem: bytes.length === 0 ? undefined : 'torn_frame' };
  if (!bytes.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) return { groups, problem: 'bad_magic' };
  let offset = SEGMENT_MAGIC.length;
  while (offset < bytes.length) {
    if (offset + FRAME_HEADER_BYTES > bytes.length) return { groups, problem: 'torn_frame' };
    const bodyBytes = bytes.readUInt32LE(offset);
    const checksum = bytes.readUInt32LE(offset + 4);
    const start = offset + FRAME_HEADER_BYTES;
    if (start + bodyBytes > bytes.length) return { groups, problem: 'torn_frame' };
    const body = bytes.subarray(start, start + bodyBytes);
    if (crc32(body) !== checksum) return { groups, problem: 'checksum_mismatch' };
    const entries = decodeBody(body);
    if (entries === undefined) return { groups, problem: 'bad_entry' };
    groups.push(entries);
    offset = start + bodyBytes;
  }
  return { groups, problem: undefined };
}

/** Segment files in dir, oldest first. */
export function listSegments(dir: string): { readonly sequence: number; readonly path: string }[] {
  const segments: { sequence: number; path: string }[] = [];
  for (const name of readdirSync(dir)) {
    const match = SEGMENT_NAME_PATTERN.exec(name);
    if (match !== null) segments.push({ sequence: Number(match[1]), path: join(dir, name) });
  }
  return segments.sort((a, b) => a.sequence - b.sequence);
}

/**
 * Feed every intact group of the segments in dir to applyGroup, oldest first. A damaged
 * frame ends its segment: in the last one that is a crash mid-append (nothing in it was
 * acknowledged); in an earlier one it is reported through onDamage, as data may be lost.
 * Returns the highest segment sequence seen (0 if none).
 */
export async function replayLog(
  dir: string,
  applyGroup: (entries: LogEntry[]) => Promise<void>,
  onDamage: (message: string) => void,
): Promise<number> {
  const segments = listSegments(dir);
  for (const [index, segment] of segments.entries()) {
    const decoded = decodeSegment(await readFile(segment.path));
    for (const group of decoded.groups) await applyGroup(group);
    const last = index === segments.length - 1;
    if (decoded.problem !== undefined && (!last || decoded.problem === 'bad_magic')) {
      onDamage(`write-ahead log segment ${segment.path} is damaged (${decoded.problem}) after ${decoded.groups.length} groups: the rest of it is skipped`);
    }
  }
  return segments.length === 0 ? 0 : segments[segments.length - 1]!.sequence;
}

/** Delete the segment files in dir (after replay, once LMDB holds and has synced them). */
export function deleteSegments(dir: string): void {
  for (const segment of listSegments(dir)) unlinkSync(segment.path);
  syncDirectory(dir);
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** One open segment file and how many of its groups LMDB has not committed yet. */
export interface LogSegment {
  readonly sequence: number;
  readonly path: string;
  readonly fd: number;
  bytes: number;
  unappliedGroups: number;
  syncsInFlight: number;
  rotated: boolean;
  deleted: boolean;
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));
}

export interface WriteAheadLogOptions {
  readonly dir: string;
  readonly fsync: LogFsyncMode;
  /** The first segment gets this sequence number; later ones count up. */
  readonly firstSequence: number;
  /** Rotate past this many bytes; default LOG_SEGMENT_BYTES_TARGET (tests use small ones). */
  readonly segmentBytesTarget?: number;
  /** Make everything LMDB committed so far durable; runs before a segment is deleted. */
  readonly syncStore: () => Promise<void>;
  /** A background sync or deletion failed. */
  readonly onError: (error: Error) => void;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The open segments: appends, group-commit fdatasync, rotation and deletion once applied. */
export class WriteAheadLog {
  private readonly segments: LogSegment[] = [];
  private current: LogSegment;
  private nextSequence: number;
  private syncRunning = false;
  private syncWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private deletion: Promise<void> = Promise.resolve();
  private readonly syncTimer: NodeJS.Timeout | undefined;
  private unsynced = new Set<LogSegment>();

  constructor(private readonly options: WriteAheadLogOptions) {
    this.nextSequence = options.firstSequence;
    this.current = this.openSegment();
    if (options.fsync === 'everysec') {
      this.syncTimer = setInterval(() => {
        if (this.unsynced.size > 0) this.whenSynced().catch((error: unknown) => options.onError(asError(error)));
      }, LOG_SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
  }

  /** Write one group's frame (synchronously: it is in the page cache, safe from kill -9). Throws on I/O errors. */
  append(frame: Buffer): LogSegment {
    const segment = this.current;
    let written = 0;
    while (written < frame.length) written += writeSync(segment.fd, frame, written, frame.length - written);
    segment.bytes += frame.length;
    segment.unappliedGroups++;
    this.unsynced.add(segment);
    if (segment.bytes >= (this.options.segmentBytesTarget ?? LOG_SEGMENT_BYTES_TARGET)) this.rotate();
    return segment;
  }

  /** Resolves once everything appended before this call is fdatasync'ed (one sync serves many callers). */
  whenSynced(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      if (!this.syncRunning) this.runSync();
    });
  }

  /** One group of segment is committed in LMDB; a rotated segment with none left is deleted. */
  markApplied(segment: LogSegment): void {
    assertState(segment.unappliedGroups > 0, 'markApplied without an unapplied group');
    segment.unappliedGroups--;
    this.maybeDelete(segment);
  }

  /**
   * Stop the log. With deleteAll (every group applied), LMDB is synced and the segments
   * deleted; otherwise they stay for the next open to replay.
   */
  async close(deleteAll: boolean): Promise<void> {
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    if (this.unsynced.size > 0 || this.syncRunning) await this.whenSynced();
    await this.deletion;
    if (deleteAll) await this.options.syncStore();
    for (const segment of this.segments) {
      closeSync(segment.fd);
      if (deleteAll) unlinkSync(segment.path);
      segment.deleted = true;
    }
    this.segments.length = 0;
    if (deleteAll) syncDirectory(this.options.dir);
  }

  /** Open segments (for tests and metrics). */
  segmentCount(): number {
    return this.segments.length;
  }

  private openSegment(): LogSegment {
    const sequence = this.nextSequence++;
    const path = join(this.options.dir, segmentName(sequence));
    const fd = openSync(path, 'ax', DATA_FILE_MODE);
    writeSync(fd, SEGMENT_MAGIC);
    // A new file's name must reach the disk too, or a power loss could drop the whole file.
    if (this.options.fsync !== 'no') {
      fsyncSync(fd);
      syncDirectory(this.options.dir);
    }
    const segment: LogSegment = { sequence, path, fd, bytes: SEGMENT_MAGIC.length, unappliedGroups: 0, syncsInFlight: 0, rotated: false, deleted: false };
    this.segments.push(segment);
    return segment;
  }

  private rotate(): void {
    const old = this.current;
    this.current = this.openSegment();
    old.rotated = true;
    this.maybeDelete(old);
  }

  private runSync(): void {
    this.syncRunning = true;
    const waiters = this.syncWaiters.splice(0);
    const segments = [...this.unsynced];
    this.unsynced.clear();
    for (const segment of segments) segment.syncsInFlight++;
    Promise.all(segments.map((segment) => fdatasyncAsync(segment.fd)))
      .then(
        () => {
          for (const waiter of waiters) waiter.resolve();
        },
        (error: unknown) => {
          for (const segment of segments) this.unsynced.add(segment);
          for (const waiter of waiters) waiter.reject(asError(error));
        },
      )
      .finally(() => {
        this.syncRunning = false;
        for (const segment of segments) {
          segment.syncsInFlight--;
          this.maybeDelete(segment);
        }
        if (this.syncWaiters.length > 0) this.runSync();
      })
      .catch((error: unknown) => this.options.onError(asError(error)));
  }

  private maybeDelete(segment: LogSegment): void {
    if (!segment.rotated || segment.unappliedGroups > 0 || segment.syncsInFlight > 0 || segment.deleted) return;
    segment.deleted = true; // from here on no sync touches its fd
    this.unsynced.delete(segment);
    this.deletion = this.deletion
      .then(() => this.options.syncStore())
      .then(() => {
        closeSync(segment.fd);
        unlinkSync(segment.path);
        this.segments.splice(this.segments.indexOf(segment), 1);
      })
      .catch((error: unknown) => this.options.onError(asError(error)));
  }
}

function assertState(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`write-ahead log invariant broken: ${message}`);
}
