// Proves the RESP decoder's limits, error values and inline quoting match Redis, it stays linear on large split bulks, and the encoder writes RESP2/RESP3 correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  INLINE_BYTES_MAX,
  PREAUTH_BULK_BYTES_MAX,
  RespDecoder,
  RespOutput,
  appendArrayHeader,
  appendBoolean,
  appendBulk,
  appendDouble,
  appendError,
  appendInteger,
  appendMapHeader,
  appendNull,
  appendNullArray,
  appendPushHeader,
  appendSimple,
  splitInlineArgs,
} from '../../src/wire/resp.js';

function decode(input: string | Buffer, preAuth = false): (string[] | string)[] {
  const decoder = new RespDecoder();
  decoder.preAuth = preAuth;
  decoder.feed(typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
  const results: (string[] | string)[] = [];
  for (;;) {
    const result = decoder.next();
    if (result === undefined) return results;
    if (!Array.isArray(result)) {
      results.push(`${result.code}: ${result.message}`);
      return results;
    }
    results.push(result.map((arg) => arg.toString('latin1')));
  }
}

test('multibulk and inline commands decode; empty commands are skipped', () => {
  assert.deepEqual(decode('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*0\r\n*-1\r\n\r\nPING\r\nset a  b\n'), [['GET', 'k'], ['PING'], ['set', 'a', 'b']]);
  assert.deepEqual(decode('*1\r\n$0\r\n\r\n'), [['']]);
});

test('framing errors are values with Redis messages', () => {
  assert.deepEqual(decode('*1\r\n$99999999999\r\n'), ['invalid_bulk_length: Protocol error: invalid bulk length']);
  assert.deepEqual(decode('*1\r\n$-5\r\n'), ['invalid_bulk_length: Protocol error: invalid bulk length']);
  assert.deepEqual(decode('*1\r\n$67108865\r\n'), ['invalid_bulk_length: Protocol error: invalid bulk length']);
  assert.deepEqual(decode('*3000000\r\n'), ['invalid_multibulk_length: Protocol error: invalid multibulk length']);
  assert.deepEqual(decode('*x\r\n'), ['invalid_multibulk_length: Protocol error: invalid multibulk length']);
  assert.deepEqual(decode('*1\r\nx\r\n'), ["expected_dollar: Protocol error: expected '$', got 'x'"]);
  assert.deepEqual(decode('*1\r\n$3\r\nabcXY'), ['expected_crlf: Protocol error: expected CRLF after bulk data']);
  assert.deepEqual(decode('GET "abc\r\n'), ['unbalanced_quotes: Protocol error: unbalanced quotes in request']);
  assert.deepEqual(decode('GET "a"b\r\n'), ['unbalanced_quotes: Protocol error: unbalanced quotes in request']);
});

test('oversized lines fail without waiting for a newline', () => {
  assert.deepEqual(decode(Buffer.alloc(INLINE_BYTES_MAX + 1, 'a')), ['inline_too_big: Protocol error: too big inline request']);
  assert.deepEqual(decode(Buffer.concat([Buffer.from('*'), Buffer.alloc(70_000, '1')])), ['header_too_big: Protocol error: too big mbulk count string']);
  assert.deepEqual(decode(Buffer.concat([Buffer.from('*1\r\n$'), Buffer.alloc(70_000, '1')])), ['header_too_big: Protocol error: too big bulk count string']);
  // Exactly at the limit an inline command is still accepted.
  const atLimit = Buffer.concat([Buffer.from('ECHO '), Buffer.alloc(INLINE_BYTES_MAX - 5, 'b'), Buffer.from('\n')]);
  assert.equal(decode(atLimit).length, 1);
});

test('errors are sticky and later input is ignored', () => {
  const decoder = new RespDecoder();
  decoder.feed(Buffer.from('*1\r\n$x\r\n'));
  const error = decoder.next();
  assert.ok(error !== undefined && !Array.isArray(error));
  decoder.feed(Buffer.from('PING\r\n'));
  assert.deepEqual(decoder.next(), error);
  assert.equal(decoder.bufferedBytes(), 0);
});

test('pre-AUTH limits: at most 10 args of 16 KiB', () => {
  const elevenArgs = `*11\r\n${'$1\r\na\r\n'.repeat(11)}`;
  assert.deepEqual(decode(elevenArgs, true), ['unauthenticated_multibulk_length: Protocol error: unauthenticated multibulk length']);
  assert.equal(decode(elevenArgs, false).length, 1);
  assert.deepEqual(decode(`*1\r\n$${PREAUTH_BULK_BYTES_MAX + 1}\r\n`, true), ['unauthenticated_bulk_length: Protocol error: unauthenticated bulk length']);
  assert.deepEqual(decode(`${'a '.repeat(11)}\r\n`, true), ['unauthenticated_multibulk_length: Protocol error: unauthenticated multibulk length']);
});

test('inline quoting follows redis sdssplitargs', () => {
  const args = splitInlineArgs(Buffer.from(`set "a b" 'c\\'d' "\\x41\\n\\t" plain"quoted part" ''`, 'latin1'));
  assert.deepEqual(args?.map((arg) => arg.toString('latin1')), ['set', 'a b', "c'd", 'A\n\t', 'plainquoted part', '']);
  assert.equal(splitInlineArgs(Buffer.from("'open")), undefined);
});

test('a large bulk arriving in many small chunks decodes in linear time', () => {
  const size = 8 * 1024 * 1024;
  const value = Buffer.alloc(size, 7);
  const stream = Buffer.concat([Buffer.from(`*2\r\n$3\r\nSET\r\n$${size}\r\n`), value, Buffer.from('\r\n')]);
  const decoder = new RespDecoder();
  const started = performance.now();
  let command;
  for (let offset = 0; offset < stream.length; offset += 1024) {
    // Plain Uint8Array views, as a non-Node caller would feed.
    const chunk = stream.subarray(offset, offset + 1024);
    decoder.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    command = decoder.next() ?? command;
  }
  const elapsedMs = performance.now() - started;
  assert.ok(Array.isArray(command));
  assert.equal(command[1]!.length, size);
  assert.ok(command[1]!.equals(value));
  assert.equal(decoder.bufferedBytes(), 0);
  assert.ok(elapsedMs < 2_000, `took ${elapsedMs} ms`);
});

function encoded(write: (out: RespOutput) => void): string {
  const out = new RespOutput(4);
  write(out);
  return out.take().toString('latin1');
}

test('encoder: RESP2 and RESP3 forms', () => {
  assert.equal(encoded((out) => appendSimple(out, 'OK')), '+OK\r\n');
  assert.equal(encoded((out) => appendError(out, 'ERR bad\r\nthing')), '-ERR bad thing\r\n');
  assert.equal(encoded((out) => appendInteger(out, 0)), ':0\r\n');
  assert.equal(encoded((out) => appendInteger(out, -12)), ':-12\r\n');
  assert.equal(encoded((out) => appendInteger(out, 1234567890123)), ':1234567890123\r\n');
  assert.equal(encoded((out) => appendBulk(out, Buffer.from([0, 13, 10, 255]))), '$4\r\n\x00\r\n\xff\r\n');
  assert.equal(encoded((out) => appendNull(out, 2)), '$-1\r\n');
  assert.equal(encoded((out) => appendNull(out, 3)), '_\r\n');
  assert.equal(encoded((out) => appendNullArray(out, 2)), '*-1\r\n');
  assert.equal(encoded((out) => appendMapHeader(out, 2, 2)), '*4\r\n');
  assert.equal(encoded((out) => appendMapHeader(out, 2, 3)), '%2\r\n');
  assert.equal(encoded((out) => appendPushHeader(out, 3, 2)), '*3\r\n');
  assert.equal(encoded((out) => appendPushHeader(out, 3, 3)), '>3\r\n');
  assert.equal(encoded((out) => appendBoolean(out, true, 3)), '#t\r\n');
  assert.equal(encoded((out) => appendBoolean(out, false, 2)), ':0\r\n');
  assert.equal(encoded((out) => appendDouble(out, 1.5, 3)), ',1.5\r\n');
  assert.equal(encoded((out) => appendDouble(out, 1.5, 2)), '$3\r\n1.5\r\n');
  assert.equal(encoded((out) => appendDouble(out, -Infinity, 3)), ',-inf\r\n');
  assert.equal(encoded((out) => appendArrayHeader(out, 12)), '*12\r\n');
});

test('encoder output survives growth and big replies are handed over without copying', () => {
  const out = new RespOutput(8);
  const big = Buffer.alloc(200_000, 1);
  appendBulk(out, big);
  const bytes = out.take();
  assert.equal(bytes.length, big.length + '$200000\r\n\r\n'.length);
  appendSimple(out, 'PONG');
  assert.equal(out.take().toString(), '+PONG\r\n');
});
