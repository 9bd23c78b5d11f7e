// Proves discovery datagrams round-trip plain and sealed, and that wrong keys, other clusters, stale timestamps, garbage and oversize datagrams are error values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { deriveClusterKeyMaterial, discoverySealer } from '../../src/net/cluster-crypto.js';
import { broadcastAddressFor } from '../../src/net/broadcast-address.js';
import {
  decodeAnnounce,
  DISCOVERY_DATAGRAM_BYTES_MAX,
  DISCOVERY_TIMESTAMP_WINDOW_MS,
  encodeAnnounce,
  type DiscoveryAnnounce,
} from '../../src/wire/discovery-codec.js';

const nowMs = 1_700_000_000_000;
const announce: DiscoveryAnnounce = {
  clusterName: 'peerkv',
  hello: { id: '0123456789abcdef0123456789abcdef', name: 'node-ä:7379', addr: '127.0.0.1:7380', incarnation: 2 ** 40 + 5 },
  timestampMs: nowMs,
  protocolVersion: 1,
};
const keyA = discoverySealer([deriveClusterKeyMaterial('correct horse battery staple')]);
const keyB = discoverySealer([deriveClusterKeyMaterial('another key of sixteen+ chars')]);
const plain = { clusterName: 'peerkv', sealer: null };

test('a plain announcement round-trips', () => {
  const datagram = encodeAnnounce(announce, plain);
  assert.ok(datagram.length <= DISCOVERY_DATAGRAM_BYTES_MAX);
  assert.deepEqual(decodeAnnounce(datagram, { ...plain, nowMs }), { ok: true, announce });
});

test('a sealed announcement round-trips and hides the node id', () => {
  const datagram = encodeAnnounce(announce, { clusterName: 'peerkv', sealer: keyA });
  assert.ok(!Buffer.from(datagram).includes(Buffer.from('127.0.0.1:7380')));
  assert.deepEqual(decodeAnnounce(datagram, { clusterName: 'peerkv', sealer: keyA, nowMs: nowMs + 1_000 }), { ok: true, announce });
});

test('rotation: a receiver holding [new, old] opens datagrams sealed with old', () => {
  const rotated = discoverySealer([deriveClusterKeyMaterial('another key of sixteen+ chars'), deriveClusterKeyMaterial('correct horse battery staple')]);
  const datagram = encodeAnnounce(announce, { clusterName: 'peerkv', sealer: keyA });
  assert.equal(decodeAnnounce(datagram, { clusterName: 'peerkv', sealer: rotated, nowMs }).ok, true);
});

test('wrong key, missing key, unexpected key, other cluster and stale timestamps are refused', () => {
  const sealed = encodeAnnounce(announce, { clusterName: 'peerkv', sealer: keyA });
  const code = (result: ReturnType<typeof decodeAnnounce>) => (result.ok ? 'ok' : result.code);
  assert.equal(code(decodeAnnounce(sealed, { clusterName: 'peerkv', sealer: keyB, nowMs })), 'auth_failed');
  assert.equal(code(decodeAnnounce(sealed, { ...plain, nowMs })), 'auth_failed');
  assert.equal(code(decodeAnnounce(encodeAnnounce(announce, plain), { clusterName: 'peerkv', sealer: keyA, nowMs })), 'auth_failed');
  assert.equal(code(decodeAnnounce(sealed, { clusterName: 'other', sealer: keyA, nowMs })), 'other_cluster');
  const late = nowMs + DISCOVERY_TIMESTAMP_WINDOW_MS + 1;
  assert.equal(code(decodeAnnounce(sealed, { clusterName: 'peerkv', sealer: keyA, nowMs: late })), 'expired');
  // The cluster name is authenticated: rewriting it in the header breaks the seal.
  const renamed = encodeAnnounce({ ...announce, clusterName: 'peerkw' }, { clusterName: 'peerkw', sealer: keyA });
  const forged = Buffer.from(renamed);
  forged.write('peerkv', 7);
  assert.equal(code(decodeAnnounce(forged, { clusterName: 'peerkv', sealer: keyA, nowMs })), 'auth_failed');
});

test('oversize, truncated and garbage datagrams are error values', () => {
  const code = (bytes: Uint8Array) => {
    const result = decodeAnnounce(bytes, { ...plain, nowMs });
    return result.ok ? 'ok' : result.code;
  };
  assert.equal(code(new Uint8Array(DISCOVERY_DATAGRAM_BYTES_MAX + 1)), 'oversize');
  assert.equal(code(new Uint8Array(0)), 'bad_datagram');
  const datagram = encodeAnnounce(announce, plain);
  for (let length = 0; length < datagram.length; length++) assert.notEqual(code(datagram.subarray(0, length)), 'ok');
  const wrongVersion = Buffer.from(datagram);
  wrongVersion[4] = 99;
  assert.equal(code(wrongVersion), 'version');
});

test('the decoder never throws on random bytes, with or without the magic prefix', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 1300 }), (withMagic, tail) => {
      const bytes = withMagic ? Buffer.concat([Buffer.from([0x50, 0x4b, 0x56, 0x44, 1]), tail]) : Buffer.from(tail);
      decodeAnnounce(bytes, { ...plain, nowMs });
      decodeAnnounce(bytes, { clusterName: 'peerkv', sealer: keyA, nowMs });
    }),
    { numRuns: 2000 },
  );
});

test('broadcastAddressFor: loopback binds announce on 127.255.255.255, unknown addresses fail clearly', () => {
  assert.equal(broadcastAddressFor('127.0.0.1'), '127.255.255.255');
  assert.equal(broadcastAddressFor('127.0.0.5'), '127.255.255.255');
  assert.throws(() => broadcastAddressFor('203.0.113.77'), /no network interface owns --bind 203\.0\.113\.77/);
  assert.throws(() => broadcastAddressFor('::1x'), /IPv4/);
});
