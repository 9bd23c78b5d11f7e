// Proves the RESP decoder frames the same commands (and the same error) however the byte stream is split, and never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { splitAtPoints } from '../support/chunks.js';
import { RespDecoder, type RespCommand, type RespDecodeError } from '../../src/wire/resp.js';

const RUNS = 200;

function encodeMultibulk(args: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) parts.push(Buffer.from(`$${arg.length}\r\n`), Buffer.from(arg), Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** Inline form: each argument double-quoted, every byte written as \xHH or a plain printable. */
function encodeInline(args: readonly Uint8Array[]): Buffer {
  const words = args.map((arg) => {
    let text = '"';
    for (const byte of arg) {
      const plain = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
      text += plain ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
    }
    return `${text}"`;
  });
  return Buffer.from(`${words.join(' ')}\r\n`, 'latin1');
}

/** Cut bytes at the given fractions into chunks (some possibly empty). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  return splitAtPoints(bytes, cuts.map((cut) => Math.floor(cut * (bytes.length + 1))));
}

type Outcome = { commands: string[][]; error: RespDecodeError | undefined };

/** Feed chunks one by one, pulling everything after each; commands as hex for comparison. */
function decodeAll(chunks: readonly Uint8Array[], preAuth = false): Outcome {
  const decoder = new RespDecoder();
  decoder.preAuth = preAuth;
  const commands: string[][] = [];
  for (const chunk of chunks) {
    decoder.feed(chunk);
    for (;;) {
      const result: RespCommand | RespDecodeError | undefined = decoder.next();
      if (result === undefined) break;
      if (!Array.isArray(result)) return { commands, error: result };
      commands.push(result.map((arg) => arg.toString('hex')));
    }
  }
  return { commands, error: undefined };
}

const argArbitrary = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 2000 }) },
);
const commandArbitrary = fc.record({
  args: fc.array(argArbitrary, { minLength: 1, maxLength: 6 }),
  inline: fc.boolean(),
});
const cutsArbitrary = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

test('any split of encoded commands decodes to the same commands', () => {
  fc.assert(
    fc.property(fc.array(commandArbitrary, { minLength: 1, maxLength: 8 }), cutsArbitrary, (commands, cuts) => {
      const stream = Buffer.concat(commands.map((command) => (command.inline ? encodeInline(command.args) : encodeMultibulk(command.args))));
      const expected = commands.map((command) => command.args.map((arg) => Buffer.from(arg).toString('hex')));
      const whole = decodeAll([stream]);
      assert.equal(whole.error, undefined);
      assert.deepEqual(whole.commands, expected);
      assert.deepEqual(decodeAll(split(stream, cuts)), whole);
    }),
    { numRuns: RUNS },
  );
});

test('byte-at-a-time feeding decodes the same commands', () => {
  fc.assert(
    fc.property(fc.array(commandArbitrary, { minLength: 1, maxLength: 3 }), (commands) => {
      const stream = Buffer.concat(commands.map((command) => (command.inline ? encodeInline(command.args) : encodeMultibulk(command.args))));
      const bytes = [...stream].map((byte) => Uint8Array.of(byte));
      assert.deepEqual(decodeAll(bytes), decodeAll([stream]));
    }),
    { numRuns: 50 },
  );
});

/** Bytes biased towards RESP syntax so random input reaches deep decoder states. */
const respishByte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Buffer.from('*$\r\n0123456789- "\'\\x')) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const garbageArbitrary = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.array(respishByte, { maxLength: 300 }).map((bytes) => Uint8Array.from(bytes)),
);

test('random bytes never throw, and the outcome does not depend on the split', () => {
  fc.assert(
    fc.property(garbageArbitrary, cutsArbitrary, fc.boolean(), (garbage, cuts, preAuth) => {
      const bytes = Buffer.from(garbage);
      const whole = decodeAll([bytes], preAuth);
      assert.deepEqual(decodeAll(split(bytes, cuts), preAuth), whole);
    }),
    { numRuns: 500 },
  );
});

test('valid commands followed by garbage: the commands come out, then at most one sticky error', () => {
  fc.assert(
    fc.property(fc.array(commandArbitrary, { maxLength: 3 }), garbageArbitrary, (commands, garbage) => {
      const prefix = Buffer.concat(commands.map((command) => encodeMultibulk(command.args)));
      const decoder = new RespDecoder();
      decoder.feed(Buffer.concat([prefix, garbage]));
      let decoded = 0;
      for (let step = 0; step < 1000; step++) {
        const result = decoder.next();
        if (result === undefined) break;
        if (!Array.isArray(result)) {
          assert.deepEqual(decoder.next(), result, 'errors are sticky');
          break;
        }
        decoded++;
      }
      assert.ok(decoded >= commands.length);
    }),
    { numRuns: RUNS },
  );
});
