// Proves utf8() (its own copy of short ASCII texts, TextEncoder otherwise) encodes every string as TextEncoder does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromUtf8, utf8 } from '../../src/core/bytes.js';

const encoder = new TextEncoder();

test('utf8 encodes any text, short or long, ASCII or not, as TextEncoder does', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme-ascii', minLength: 60, maxLength: 70 })), (text) => {
      const bytes = utf8(text);
      assert.ok(bytes instanceof Uint8Array);
      assert.deepEqual(Buffer.from(bytes), Buffer.from(encoder.encode(text)));
    }),
    { numRuns: 3_000 },
  );
  for (const text of ['', 'a', '0', '\x7f', '\x80', 'é', 'score:1.5', '\ud800', 'x'.repeat(64), 'x'.repeat(65), `${'x'.repeat(63)}é`]) {
    assert.deepEqual(Buffer.from(utf8(text)), Buffer.from(encoder.encode(text)), JSON.stringify(text));
  }
  assert.equal(fromUtf8(utf8('peerkv')), 'peerkv');
});
