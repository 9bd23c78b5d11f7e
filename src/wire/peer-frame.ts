// Peer link framing: every frame is a 4-byte big-endian payload length followed by the
// payload, a msgpack value (or, on an authenticated link, the sealed bytes of one).
// Decoding is sans-I/O: feed socket chunks in, get frames or error values out; bad bytes
// never throw, they come back as a value with a stable code.
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { isPeerMessage, PEER_PROTOCOL_VERSION, type PeerMessage } from '../core/messages.js';
import type { Hlc } from '../core/types.js';
import { isHlc, isObject } from '../core/validate.js';
import { decodeRecordBatch, encodeRecordBatch } from './record-batch-codec.js';

/** Largest payload on the wire (DESIGN.md limits); a value of 64 MiB plus its key fits. */
export const PEER_FRAME_BYTES_MAX = 80 * 1024 * 1024;
export const FRAME_HEADER_BYTES = 4;

/** What travels in every data frame: protocol version, sender's clock at send time, message. */
export interface PeerEnvelope {
  readonly v: number;
  readonly hlc: Hlc;
  readonly message: PeerMessage;
}

export type FrameErrorCode = 'frame_too_large' | 'bad_frame' | 'bad_message';

/**
 * Operating error of the decoder. fatal: the byte stream can no longer be trusted and the
 * link must close (too large, undecodable); bad_message is a well-formed frame holding a
 * message we do not understand, so the caller counts it and the link stays.
 */
export interface FrameError {
  readonly code: FrameErrorCode;
  readonly detail: string;
  readonly fatal: boolean;
}

export function isFrameError(value: unknown): value is FrameError {
  return isObject(value) && typeof value.code === 'string' && typeof value.fatal === 'boolean';
}

const packr = new Packr({ useRecords: false });
// useRecords false + mapsAsObjects: plain msgpack maps become plain objects (msgpackr renames
// a __proto__ key); structuredClone false refuses the cyclic-reference extensions;
// int64AsType 'number' keeps every integer a number, never a BigInt the validators reject;
// copyBuffers: decoded byte strings own their memory instead of pinning the whole frame
// (a small key must not keep a 64 KiB socket chunk or a 20 MiB frame alive).
// msgpackr itself bounds array preallocation by the bytes left in the input.
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  int64AsType: 'number',
  copyBuffers: true,
});

/** msgpack bytes of a value (no frame header). */
export function encodePayload(value: unknown): Buffer {
  return packr.pack(value);
}

/** The value in a payload, or a bad_frame error; never throws. */
export function decodePayload(payload: Uint8Array): { readonly value: unknown } | FrameError {
  if (payload.length === 0) return { code: 'bad_frame', detail: 'empty payload', fatal: true };
  try {
    return { value: unpackr.unpack(payload) };
  } catch (error) {
    return { code: 'bad_frame', detail: `undecodable payload: ${(error as Error).message}`, fatal: true };
  }
}

/** Peer messages whose `records` travel as one byte string (see record-batch-codec.ts). */
const RECORD_BATCH_MESSAGES: ReadonlySet<string> = new Set(['replicate', 'repair', 'purge', 'aeRecords']);
/** More records than any of those messages may carry (their validators apply the exact bound). */
const RECORD_BATCH_RECORDS_MAX = 100_000;

/** The payload of a data frame: version, clock and message, record arrays as byte strings. */
export function encodeEnvelopePayload(hlc: Hlc, message: PeerMessage): Buffer {
  return packr.pack({ v: PEER_PROTOCOL_VERSION, hlc, message: wireMessage(message) });
}

function wireMessage(message: PeerMessage): unknown {
  if (!RECORD_BATCH_MESSAGES.has(message.type) || !('records' in message)) return message;
  return { ...message, records: encodeRecordBatch(message.records) };
}

/** A whole frame (header and payload) around already-encoded payload bytes. */
export function frameFromPayload(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** A whole plaintext frame; packs straight after a reserved header, so no second copy. */
export function encodeFrame(envelope: PeerEnvelope): Buffer {
  const frame = packr.pack({ ...envelope, message: wireMessage(envelope.message) }, RESERVE_START_SPACE | FRAME_HEADER_BYTES);
  frame.writeUInt32BE(frame.length - FRAME_HEADER_BYTES, 0);
  return frame;
}

/** The envelope in a plaintext payload; bad_frame if undecodable, bad_message if not ours. */
export function decodeEnvelope(payload: Uint8Array): PeerEnvelope | FrameError {
  const decoded = decodePayload(payload);
  if ('code' in decoded) return decoded;
  const value = decoded.value;
  if (!isObject(value) || value.v !== PEER_PROTOCOL_VERSION || !isHlc(value.hlc)) {
    return { code: 'bad_frame', detail: 'not a peer envelope of this protocol version', fatal: true };
  }
  let message: unknown = value.message;
  if (isObject(message) && message.records instanceof Uint8Array && RECORD_BATCH_MESSAGES.has(String(message.type))) {
    const records = decodeRecordBatch(message.records, RECORD_BATCH_RECORDS_MAX);
    if (records === undefined) return { code: 'bad_message', detail: `malformed record batch (type ${String(message.type).slice(0, 64)})`, fatal: false };
    message = { ...message, records };
  }
  if (!isPeerMessage(message)) {
    const type = isObject(message) ? String((message as Record<string, unknown>).type).slice(0, 64) : typeof message;
    return { code: 'bad_message', detail: `unknown or malformed message (type ${type})`, fatal: false };
  }
  return { v: value.v, hlc: { wallMs: value.hlc.wallMs, logical: value.hlc.logical }, message };
}

/**
 * Cuts a byte stream into frame payloads. Chunks are kept in a list until a frame is
 * complete and copied once, so a big frame arriving in thousands of chunks costs linear
 * time. After a fatal error it stays failed: the stream has lost its frame boundaries.
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private failure: FrameError | null = null;

  constructor(private frameBytesMax: number = PEER_FRAME_BYTES_MAX) {}

  /** Lower or raise the limit for frames not yet started (e.g. after a handshake). */
  setFrameBytesMax(frameBytesMax: number): void {
    this.frameBytesMax = frameBytesMax;
  }

  /** Adds received bytes; take frames out with next(). */
  push(chunk: Uint8Array): void {
    if (this.failure !== null || chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.bufferedBytes += chunk.length;
  }

  /**
   * The next complete payload, null when more bytes are needed, or the fatal error (again on
   * every later call). One at a time, so a caller can change the limit between frames.
   */
  next(): Buffer | FrameError | null {
    if (this.failure !== null) return this.failure;
    if (this.bufferedBytes < FRAME_HEADER_BYTES) return null;
    const length = this.peekLength();
    if (length > this.frameBytesMax) {
      this.failure = { code: 'frame_too_large', detail: `frame of ${length} bytes exceeds ${this.frameBytesMax}`, fatal: true };
      this.chunks = [];
      this.bufferedBytes = 0;
      return this.failure;
    }
    if (this.bufferedBytes < FRAME_HEADER_BYTES + length) return null;
    this.take(FRAME_HEADER_BYTES);
    return this.take(length);
  }

  /** Bytes held waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    return this.take(FRAME_HEADER_BYTES, false).readUInt32BE(0);
  }

  /** The next byteCount bytes (a view when they sit in one chunk), consumed unless peeking. */
  private take(byteCount: number, consume = true): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= byteCount) {
      const bytes = first.subarray(0, byteCount);
      if (consume) this.dropFront(byteCount);
      return bytes;
    }
    const bytes = Buffer.allocUnsafe(byteCount);
    let filled = 0;
    for (const chunk of this.chunks) {
      if (filled === byteCount) break;
      const count = Math.min(chunk.length, byteCount - filled);
      chunk.copy(bytes, filled, 0, count);
      filled += count;
    }
    if (consume) this.dropFront(byteCount);
    return bytes;
  }

  private dropFront(byteCount: number): void {
    this.bufferedBytes -= byteCount;
    let remaining = byteCount;
    let index = 0;
    while (remaining > 0) {
      const chunk = this.chunks[index]!;
      if (chunk.length <= remaining) {
        remaining -= chunk.length;
        index++;
      } else {
        this.chunks[index] = chunk.subarray(remaining);
        remaining = 0;
      }
    }
    if (index > 0) this.chunks.splice(0, index);
  }
}

/** Turns a sealed payload into plaintext, or null when it fails authentication. */
export type PayloadOpener = (payload: Uint8Array) => Uint8Array | null;

/**
 * Sans-I/O decoder of data frames: feed(chunk) returns, in stream order, each envelope or
 * error value. An opener (set after an authenticated handshake) unseals each payload first.
 */
export class FrameDecoder {
  private readonly splitter: FrameSplitter;
  private readonly open: PayloadOpener | null;
  private failed = false;

  constructor(options: { readonly frameBytesMax?: number; readonly open?: PayloadOpener } = {}) {
    this.splitter = new FrameSplitter(options.frameBytesMax ?? PEER_FRAME_BYTES_MAX);
    this.open = options.open ?? null;
  }

  feed(chunk: Uint8Array): Array<PeerEnvelope | FrameError> {
    if (this.failed) return [];
    this.splitter.push(chunk);
    const results: Array<PeerEnvelope | FrameError> = [];
    for (let payload = this.splitter.next(); payload !== null; payload = this.splitter.next()) {
      if (!(payload instanceof Uint8Array)) {
        this.failed = true;
        results.push(payload);
        return results;
      }
      const plaintext = this.open === null ? payload : this.open(payload);
      const result: PeerEnvelope | FrameError =
        plaintext === null ? { code: 'bad_frame', detail: 'frame failed authentication', fatal: true } : decodeEnvelope(plaintext);
      results.push(result);
      if (isFrameError(result) && result.fatal) {
        this.failed = true;
        return results;
      }
    }
    return results;
  }
}
