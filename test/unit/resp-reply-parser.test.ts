// Proves the RESP2/RESP3 reply parser reads every reply type in any chunk split and never throws on garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { splitAtPoints } from '../support/chunks.js';
import {
  REPLY_DEPTH_MAX,
  REPLY_LINE_BYTES_MAX,
  RespReplyParser,
  replyText,
  type RespReply,
} from '../../src/wire/resp-reply-parser.js';

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

function join(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.length)));
}

/** Wire form of a reply; `variant` picks among equivalent encodings (null forms, blob errors). */
function encode(reply: RespReply, variant = 0): Uint8Array {
  const blob = (prefix: string, value: Uint8Array) => join([bytes(`${prefix}${value.length}\r\n`), value, bytes('\r\n')]);
  const aggregate = (prefix: string, items: readonly RespReply[]) => join([bytes(`${prefix}${items.length}\r\n`), ...items.map((item, index) => encode(item, variant + index))]);
  switch (reply.type) {
    case 'simple': return bytes(`+${reply.value}\r\n`);
    case 'error': return variant % 2 === 0 ? bytes(`-${reply.value}\r\n`) : blob('!', bytes(reply.value));
    case 'integer': return bytes(`:${reply.value}\r\n`);
    case 'bulk': return blob('$', reply.value);
    case 'null': return bytes(['$-1\r\n', '*-1\r\n', '_\r\n'][variant % 3]!);
    case 'array': return aggregate('*', reply.value);
    case 'boolean': return bytes(`#${reply.value ? 't' : 'f'}\r\n`);
    case 'double': {
      const text = Number.isNaN(reply.value) ? 'nan' : reply.value === Infinity ? 'inf' : reply.value === -Infinity ? '-inf' : Object.is(reply.value, -0) ? '-0' : String(reply.value);
      return bytes(`,${text}\r\n`);
    }
    case 'bignumber': return bytes(`(${reply.value}\r\n`);
    case 'verbatim': return blob('=', join([bytes(`${reply.format}:`), reply.value]));
    case 'map': return join([bytes(`%${reply.value.length}\r\n`), ...reply.value.flatMap(([key, value], index) => [encode(key, variant + index), encode(value, variant + index + 1)])]);
    case 'set': return aggregate('~', reply.value);
    case 'push': return aggregate('>', reply.value);
  }
}

const simpleText = fc.string({ maxLength: 20 }).filter((text) => !/[\r\n]/.test(text));

const replyArbitrary: fc.Arbitrary<RespReply> = fc.letrec<{ reply: RespReply }>((tie) => ({
  reply: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    simpleText.map((value): RespReply => ({ type: 'simple', value })),
    simpleText.map((value): RespReply => ({ type: 'error', value })),
    fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }))
      .map((value): RespReply => ({ type: 'integer', value: typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value })),
    fc.uint8Array({ maxLength: 40 }).map((value): RespReply => ({ type: 'bulk', value })),
    fc.constant<RespReply>({ type: 'null' }),
    fc.boolean().map((value): RespReply => ({ type: 'boolean', value })),
    fc.double().map((value): RespReply => ({ type: 'double', value })),
    fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map((value): RespReply => ({ type: 'bignumber', value })),
    fc.tuple(fc.constantFrom('txt', 'mkd'), fc.uint8Array({ maxLength: 20 })).map(([format, value]): RespReply => ({ type: 'verbatim', format, value })),
    fc.array(tie('reply'), { maxLength: 4 }).map((value): RespReply => ({ type: 'array', value })),
    fc.array(tie('reply'), { maxLength: 4 }).map((value): RespReply => ({ type: 'set', value })),
    fc.array(tie('reply'), { maxLength: 4 }).map((value): RespReply => ({ type: 'push', value })),
    fc.array(fc.tuple(tie('reply'), tie('reply')), { maxLength: 3 }).map((value): RespReply => ({ type: 'map', value })),
  ),
})).reply;

/** Splits bytes at the given cut points (taken modulo the length), in order. */
function split(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  return splitAtPoints(data, [...new Set(cuts.map((cut) => (data.length === 0 ? 0 : cut % (data.length + 1))))]);
}

function parseAll(chunks: readonly Uint8Array[]): { replies: RespReply[]; error: string | undefined } {
  const parser = new RespReplyParser();
  const replies: RespReply[] = [];
  let error: string | undefined;
  for (const chunk of chunks) {
    const batch = parser.feed(chunk);
    replies.push(...batch.replies);
    error = batch.error?.code;
  }
  return { replies, error };
}

test('any sequence of replies parses back identically under any chunk split', () => {
  fc.assert(
    fc.property(fc.array(replyArbitrary, { maxLength: 5 }), fc.nat(), fc.array(fc.nat(), { maxLength: 12 }), (replies, variant, cuts) => {
      const wire = join(replies.map((reply, index) => encode(reply, variant + index)));
      const result = parseAll(split(wire, cuts));
      assert.equal(result.error, undefined);
      assert.deepEqual(result.replies, replies);
    }),
    { numRuns: 500, seed: 0x7e5b },
  );
});

test('byte-at-a-time feeding gives the same replies as one chunk', () => {
  const wire = bytes('+OK\r\n:-42\r\n$5\r\nhello\r\n*2\r\n$1\r\na\r\n*-1\r\n%1\r\n+k\r\n#t\r\n>3\r\n$8\r\npmessage\r\n$1\r\n*\r\n$3\r\nset\r\n');
  const whole = parseAll([wire]);
  const bytewise = parseAll([...wire].map((byte) => Uint8Array.of(byte)));
  assert.equal(whole.replies.length, 6);
  assert.deepEqual(bytewise, whole);
});

test('random bytes never throw, and a broken stream stays broken', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
      const parser = new RespReplyParser();
      let firstError: string | undefined;
      for (const chunk of chunks) {
        const batch = parser.feed(chunk);
        if (firstError !== undefined) {
          assert.equal(batch.error?.code, firstError);
          assert.equal(batch.replies.length, 0);
        }
        firstError ??= batch.error?.code;
      }
    }),
    { numRuns: 2000, seed: 0xbad },
  );
});

test('plausible garbage (valid prefixes, bad lengths and numbers) never throws', () => {
  const pieces = ['+', '-', ':', '$', '*', '%', '~', '>', '|', '_', '#', ',', '(', '=', '!', '-1', '?', '0', '1', '99999999999999999', 'x', 'inf', '\r\n', '\r', '\n', 't'];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 5 }), (tokens, cuts) => {
      parseAll(split(bytes(tokens.join('')), cuts));
    }),
    { numRuns: 3000, seed: 0x9a7b },
  );
});

test('protocol errors come back as values with stable codes', () => {
  const cases: [string, string][] = [
    ['@x\r\n', 'RESP_BAD_TYPE'],
    [':12a\r\n', 'RESP_BAD_NUMBER'],
    ['$-2\r\n', 'RESP_BAD_LENGTH'],
    ['$3\r\nabcXY', 'RESP_BAD_TERMINATOR'],
    ['+OK\rX', 'RESP_BAD_TERMINATOR'],
    ['#x\r\n', 'RESP_BAD_NUMBER'],
    [',1.2.3\r\n', 'RESP_BAD_NUMBER'],
    ['%-1\r\n', 'RESP_BAD_LENGTH'],
    ['$?\r\n', 'RESP_UNSUPPORTED'],
    ['=2\r\nab\r\n', 'RESP_BAD_LENGTH'],
    ['_x\r\n', 'RESP_BAD_TERMINATOR'],
  ];
  for (const [wire, code] of cases) assert.equal(parseAll([bytes(wire)]).error, code, wire);
});

test('nesting deeper than the limit is an error, not a stack overflow', () => {
  assert.equal(parseAll([bytes('*1\r\n'.repeat(REPLY_DEPTH_MAX + 2) + ':1\r\n')]).error, 'RESP_TOO_DEEP');
  assert.equal(parseAll([bytes('|0\r\n'.repeat(100_000) + ':1\r\n')]).error, 'RESP_TOO_DEEP');
  assert.equal(parseAll([bytes('*1\r\n'.repeat(REPLY_DEPTH_MAX) + ':1\r\n')]).replies.length, 1);
});

test('a line without CRLF beyond the limit is an error; below it the parser waits', () => {
  const parser = new RespReplyParser();
  assert.equal(parser.feed(bytes('+' + 'a'.repeat(1000))).error, undefined);
  assert.equal(parser.feed(new Uint8Array(REPLY_LINE_BYTES_MAX).fill(0x61)).error?.code, 'RESP_LINE_TOO_LONG');
});

test('a large bulk string in small chunks is parsed once, quickly, and copied out', () => {
  const value = new Uint8Array(8 << 20).fill(7);
  const wire = join([bytes(`$${value.length}\r\n`), value, bytes('\r\n:1\r\n')]);
  const parser = new RespReplyParser();
  const replies: RespReply[] = [];
  const startedMs = Date.now();
  for (let offset = 0; offset < wire.length; offset += 4096) replies.push(...parser.feed(wire.subarray(offset, offset + 4096)).replies);
  assert.ok(Date.now() - startedMs < 5_000, 'quadratic re-parsing would take far longer');
  assert.equal(replies.length, 2);
  assert.deepEqual(replies[0], { type: 'bulk', value });
  assert.notEqual((replies[0] as { value: Uint8Array }).value.buffer, wire.buffer);
});

test('RESP2 nulls, RESP3 attributes, big integers and special doubles', () => {
  const { replies } = parseAll([bytes('$-1\r\n*-1\r\n_\r\n|1\r\n+ttl\r\n:3\r\n+after\r\n:9223372036854775807\r\n,inf\r\n,-inf\r\n,1e+21\r\n')]);
  assert.deepEqual(replies, [
    { type: 'null' }, { type: 'null' }, { type: 'null' },
    { type: 'simple', value: 'after' },
    { type: 'integer', value: 9223372036854775807n },
    { type: 'double', value: Infinity }, { type: 'double', value: -Infinity }, { type: 'double', value: 1e21 },
  ]);
});

test('replyText reads simple, bulk, verbatim and error replies', () => {
  const { replies } = parseAll([bytes('+PONG\r\n$2\r\nhi\r\n=8\r\ntxt:info\r\n-ERR no\r\n:1\r\n')]);
  assert.deepEqual(replies.map(replyText), ['PONG', 'hi', 'info', 'ERR no', undefined]);
});
