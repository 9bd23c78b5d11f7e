// Proves under random loss and delay schedules: a member that keeps answering is never declared dead by nodes that reach it, lossy clusters heal to all-alive, and random inputs keep the membership invariants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { Effect } from '../../src/core/io.js';
import { Membership, type MemberGossip, type MembershipMessage } from '../../src/core/membership.js';
import { Rng } from '../../src/core/rng.js';
import { nodeId, START_MS, World } from '../unit/membership-harness.js';

const RUNS = 60;

test('a member whose links only delay (up to 300 ms each way) is never declared dead, however lossy the rest is', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 5 }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.double({ min: 0, max: 0.3, noNaN: true }),
      fc.integer({ min: 0, max: 300 }),
      (nodes, seed, lossRate, answererDelayMaxMs) => {
        const random = new Rng(seed);
        const answerer = nodeId(0);
        const world = new World({
          seed,
          latency: (from, to) => {
            if (from === answerer || to === answerer) return 1 + random.nextInt(answererDelayMaxMs + 1);
            return random.nextFloat() < lossRate ? null : 1 + random.nextInt(100);
          },
        });
        for (let index = 0; index < nodes; index++) world.add(index);
        world.runFor(20_000);
        for (const transition of world.transitions) {
          if (transition.target !== answerer) continue;
          assert.ok(transition.state !== 'dead' && transition.state !== 'gone', `seed ${seed}: ${JSON.stringify(transition)}`);
        }
        for (let observer = 1; observer < nodes; observer++) assert.notEqual(world.view(observer, 0), undefined);
      },
    ),
    { numRuns: RUNS, seed: 20_240_601 },
  );
});

test('after a lossy period every node sees every other alive again', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      (nodes, seed, lossRate) => {
        const random = new Rng(seed);
        let lossy = false;
        const world = new World({
          seed,
          latency: () => (lossy && random.nextFloat() < lossRate ? null : 1 + random.nextInt(lossy ? 200 : 20)),
        });
        for (let index = 0; index < nodes; index++) world.add(index);
        world.runFor(2_000);
        lossy = true;
        world.runFor(15_000);
        lossy = false;
        world.runFor(10_000);
        for (let observer = 0; observer < nodes; observer++) {
          for (let target = 0; target < nodes; target++) {
            assert.equal(world.view(observer, target), 'alive', `seed ${seed}: node${observer} on node${target}`);
          }
        }
      },
    ),
    { numRuns: RUNS, seed: 20_240_602 },
  );
});

type Action =
  | { kind: 'tick'; advanceMs: number }
  | { kind: 'discovered' | 'linkUp'; peer: number; incarnation: number }
  | { kind: 'linkDown'; peer: number }
  | { kind: 'message'; from: number; message: MembershipMessage };

const peerIndex = fc.integer({ min: 0, max: 5 }); // 0 is the node under test itself
const gossipEntry: fc.Arbitrary<MemberGossip> = fc.record({
  id: peerIndex.map(nodeId),
  name: fc.constantFrom('a', 'b'),
  addr: fc.constantFrom('127.0.0.1:7380', '127.0.0.1:7390', '127.0.0.1:7400'),
  incarnation: fc.integer({ min: 0, max: 6 }),
  state: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const),
});
const message: fc.Arbitrary<MembershipMessage> = fc.oneof(
  fc.record({ type: fc.constantFrom('ping' as const, 'ack' as const), seq: fc.integer({ min: 0, max: 40 }), members: fc.array(gossipEntry, { maxLength: 6 }) }),
  fc.record({ type: fc.constantFrom('pingReq' as const, 'indirectAck' as const), seq: fc.integer({ min: 0, max: 40 }), target: peerIndex.map(nodeId) }),
);
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('tick' as const), advanceMs: fc.integer({ min: 0, max: 2_000 }) }),
  fc.record({ kind: fc.constantFrom('discovered' as const, 'linkUp' as const), peer: peerIndex, incarnation: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant('linkDown' as const), peer: peerIndex }),
  fc.record({ kind: fc.constant('message' as const), from: peerIndex, message }),
);

test('any sequence of inputs keeps the invariants: self alive, sorted views, deadlines ahead, no wakeAt', () => {
  fc.assert(
    fc.property(fc.array(action, { maxLength: 80 }), fc.integer(), (actions, seed) => {
      const self = { id: nodeId(0), name: 'self', addr: '127.0.0.1:7380', incarnation: 1 };
      const membership = new Membership(self, DEFAULT_CORE_CONFIG, new Rng(seed), START_MS);
      let nowMs = START_MS;
      let incarnation = membership.incarnation();
      for (const step of actions) {
        const out: Effect[] = [];
        if (step.kind === 'tick') {
          nowMs += step.advanceMs;
          membership.onTick(nowMs, out);
          assert.ok(membership.nextDeadlineMs() > nowMs, 'every due deadline ran');
        } else if (step.kind === 'linkDown') membership.onLinkDown(nodeId(step.peer), nowMs, out);
        else if (step.kind === 'message') membership.onMessage(nodeId(step.from), step.message, nowMs, out);
        else {
          const hello = { id: nodeId(step.peer), name: 'p', addr: `127.0.0.1:${7380 + step.peer * 10}`, incarnation: step.incarnation };
          if (step.kind === 'discovered') membership.onDiscovered(hello, nowMs, out);
          else membership.onLinkUp(hello, nowMs, out);
        }
        assert.ok(!out.some((effect) => effect.kind === 'wakeAt'));
        for (const effect of out) if (effect.kind === 'send') assert.notEqual(effect.to, self.id, 'never sends to itself');
        const views = membership.members();
        assert.deepEqual(views.map((view) => view.id), [...views.map((view) => view.id)].sort());
        assert.equal(new Set(views.map((view) => view.id)).size, views.length);
        assert.equal(membership.memberState(self.id), 'alive');
        assert.ok(membership.incarnation() >= incarnation, 'own incarnation never goes back');
        incarnation = membership.incarnation();
        const live = views.filter((view) => view.id !== self.id && view.state !== 'dead').map((view) => view.id);
        assert.deepEqual(membership.liveMembers(), live);
      }
    }),
    { numRuns: 300, seed: 20_240_603 },
  );
});
