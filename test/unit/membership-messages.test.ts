// Proves isMembershipMessage accepts exactly the documented shapes within their bounds, and that Membership never throws on hostile input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { Effect } from '../../src/core/io.js';
import {
  GOSSIP_MEMBERS_MAX,
  INCARNATION_MAX,
  MEMBER_ADDR_LENGTH_MAX,
  MEMBER_NAME_LENGTH_MAX,
  Membership,
  isMembershipMessage,
  type MembershipMessage,
} from '../../src/core/membership.js';
import { Rng } from '../../src/core/rng.js';
import { nodeId, START_MS } from './membership-harness.js';

const entry = { id: nodeId(1), name: 'n1', addr: '127.0.0.1:7390', incarnation: 1, state: 'alive' };

test('valid messages pass', () => {
  assert.ok(isMembershipMessage({ type: 'ping', seq: 0, members: [] }));
  assert.ok(isMembershipMessage({ type: 'ack', seq: 3, members: [entry] }));
  assert.ok(isMembershipMessage({ type: 'pingReq', seq: 3, target: nodeId(2) }));
  assert.ok(isMembershipMessage({ type: 'indirectAck', seq: 3, target: nodeId(2) }));
  assert.ok(isMembershipMessage({ type: 'ping', seq: 1, members: Array(GOSSIP_MEMBERS_MAX).fill(entry) }));
  assert.ok(isMembershipMessage({ type: 'ping', seq: 1, members: [{ ...entry, incarnation: INCARNATION_MAX, name: '' }] }));
});

test('each broken field or bound fails', () => {
  const broken: unknown[] = [
    null,
    [],
    'ping',
    { type: 'ping', seq: 1 },
    { type: 'ping', seq: -1, members: [] },
    { type: 'ping', seq: 1.5, members: [] },
    { type: 'ping', seq: 2 ** 53, members: [] },
    { type: 'ack', seq: 1, members: {} },
    { type: 'ack', seq: 1, members: Array(GOSSIP_MEMBERS_MAX + 1).fill(entry) },
    { type: 'ack', seq: 1, members: [{ ...entry, id: 'ABC' }] },
    { type: 'ack', seq: 1, members: [{ ...entry, id: nodeId(1).toUpperCase().replace('0', 'G') }] },
    { type: 'ack', seq: 1, members: [{ ...entry, name: 'x'.repeat(MEMBER_NAME_LENGTH_MAX + 1) }] },
    { type: 'ack', seq: 1, members: [{ ...entry, addr: 'x'.repeat(MEMBER_ADDR_LENGTH_MAX + 1) }] },
    { type: 'ack', seq: 1, members: [{ ...entry, addr: '' }] },
    { type: 'ack', seq: 1, members: [{ ...entry, incarnation: INCARNATION_MAX + 1 }] },
    { type: 'ack', seq: 1, members: [{ ...entry, state: 'zombie' }] },
    { type: 'ack', seq: 1, members: [{ ...entry, name: 7 }] },
    { type: 'pingReq', seq: 1 },
    { type: 'pingReq', seq: 1, target: 'nobody' },
    { type: 'indirectAck', seq: '1', target: nodeId(2) },
    { type: 'replicate', seq: 1, records: [] },
    { type: 'PING', seq: 1, members: [] },
  ];
  for (const value of broken) assert.equal(isMembershipMessage(value), false, JSON.stringify(value));
});

test('random values are rejected unless they are well formed', () => {
  fc.assert(
    fc.property(fc.anything(), (value) => {
      if (!isMembershipMessage(value)) return true;
      return ['ping', 'ack', 'pingReq', 'indirectAck'].includes((value as { type: string }).type);
    }),
    { numRuns: 2_000, seed: 7 },
  );
});

test('garbage fed straight into Membership never throws and never changes the member list', () => {
  const garbage = fc.oneof(
    fc.anything(),
    fc.record({ type: fc.constantFrom('ping', 'ack', 'pingReq', 'indirectAck'), seq: fc.anything(), members: fc.anything(), target: fc.anything() }),
  );
  fc.assert(
    fc.property(fc.array(garbage, { maxLength: 20 }), (values) => {
      const membership = new Membership({ id: nodeId(0), name: 'n0', addr: '127.0.0.1:7380', incarnation: 1 }, DEFAULT_CORE_CONFIG, new Rng(1), START_MS);
      const out: Effect[] = [];
      membership.onLinkUp({ id: nodeId(1), name: 'n1', addr: '127.0.0.1:7390', incarnation: 1 }, START_MS, out);
      for (const value of values) {
        membership.onMessage(nodeId(1), value as MembershipMessage, START_MS + 1, out);
        membership.onDiscovered(value as never, START_MS + 1, out);
        membership.onLinkUp(value as never, START_MS + 1, out);
      }
      return membership.members().length === 2;
    }),
    { numRuns: 500, seed: 11 },
  );
});
