// Proves membership gossip and identity rules: SWIM precedence, refutation, spreading members learned over links, duplicate ids, stale acks, relays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { Effect, PeerHello } from '../../src/core/io.js';
import { Membership, type MemberGossip, type MembershipMessage } from '../../src/core/membership.js';
import { Rng } from '../../src/core/rng.js';
import { nodeId, START_MS, World } from './membership-harness.js';

function hello(index: number, incarnation = 1, addr = `127.0.0.1:${7380 + index * 10}`): PeerHello {
  return { id: nodeId(index), name: `node${index}`, addr, incarnation };
}

function gossip(index: number, incarnation: number, state: MemberGossip['state']): MemberGossip {
  return { ...hello(index, incarnation), state };
}

function member(index = 0): Membership {
  return new Membership(hello(index), DEFAULT_CORE_CONFIG, new Rng(42), START_MS);
}

function sends(out: Effect[]): Array<{ to: string; message: MembershipMessage }> {
  return out.flatMap((effect) => (effect.kind === 'send' ? [{ to: effect.to, message: effect.message as MembershipMessage }] : []));
}

test('members learned over links spread, so nodes joined only through seeds find each other', () => {
  const world = new World({ broadcast: false });
  for (let index = 0; index < 3; index++) world.add(index);
  world.seedWith(1, 0);
  world.seedWith(2, 0);
  world.runFor(2_000);
  for (let observer = 0; observer < 3; observer++) {
    for (let target = 0; target < 3; target++) assert.equal(world.view(observer, target), 'alive', `node${observer} on node${target}`);
  }
});

test('with room for only a few entries per message, every member still reaches every node', () => {
  const world = new World({ broadcast: false, config: { gossipMembersMax: 3 } });
  for (let index = 0; index < 8; index++) world.add(index);
  for (let index = 1; index < 8; index++) world.seedWith(index, 0);
  world.runFor(20_000);
  for (let observer = 0; observer < 8; observer++) assert.equal(world.node(observer).membership.liveMembers().length, 7, `node${observer}`);
});

test('SWIM precedence: higher incarnation wins, at equal incarnation dead > suspect > alive', () => {
  const a = member(0);
  const out: Effect[] = [];
  a.onLinkUp(hello(1), START_MS, out);
  const ping = (members: MemberGossip[]): void => a.onMessage(nodeId(1), { type: 'ping', seq: 9, members }, START_MS + 1, out);
  ping([gossip(1, 1, 'suspect')]);
  assert.equal(a.memberState(nodeId(1)), 'suspect');
  ping([gossip(1, 1, 'alive')]);
  assert.equal(a.memberState(nodeId(1)), 'suspect', 'an alive claim at the same incarnation does not refute');
  ping([gossip(1, 2, 'alive')]);
  assert.equal(a.memberState(nodeId(1)), 'alive');
  ping([gossip(1, 2, 'dead')]);
  assert.equal(a.memberState(nodeId(1)), 'dead');
  ping([gossip(1, 2, 'suspect'), gossip(1, 1, 'alive')]);
  assert.equal(a.memberState(nodeId(1)), 'dead');
  a.onLinkUp(hello(1, 2), START_MS + 2, out);
  assert.equal(a.memberState(nodeId(1)), 'dead', 'a hello at the same incarnation does not revive');
  a.onDiscovered(hello(1, 3), START_MS + 3, out);
  assert.equal(a.memberState(nodeId(1)), 'alive', 'a higher incarnation is a restart');
  assert.equal(a.members().find((view) => view.id === nodeId(1))!.incarnation, 3);
});

test('a member that hears itself suspected refutes with a higher incarnation, first in its answer', () => {
  const a = member(0);
  const out: Effect[] = [];
  a.onLinkUp(hello(1), START_MS, out);
  out.length = 0;
  a.onMessage(nodeId(1), { type: 'ping', seq: 5, members: [gossip(1, 1, 'alive'), gossip(0, 1, 'suspect')] }, START_MS + 1, out);
  assert.equal(a.incarnation(), 2);
  const [ack] = sends(out);
  assert.deepEqual(ack!.message.type, 'ack');
  const members = (ack!.message as Extract<MembershipMessage, { type: 'ack' }>).members;
  assert.deepEqual(members[0], gossip(0, 2, 'alive'));
  assert.equal(a.counters().refutations, 1);
  // An old suspicion, already refuted, changes nothing.
  a.onMessage(nodeId(1), { type: 'ping', seq: 6, members: [gossip(0, 1, 'dead')] }, START_MS + 2, out);
  assert.equal(a.incarnation(), 2);
  assert.equal(a.members().find((view) => view.id === nodeId(0))!.state, 'alive');
});

test('a hello with our own id from another address is a duplicate: logged, never merged', () => {
  const a = member(0);
  const out: Effect[] = [];
  a.onDiscovered(hello(0, 1), START_MS, out);
  assert.equal(out.length, 0, 'our own broadcast echo is ignored silently');
  a.onDiscovered(hello(0, 7, '10.9.9.9:7380'), START_MS, out);
  a.onLinkUp(hello(0, 7, '10.9.9.9:7380'), START_MS, out);
  assert.equal(a.members().length, 1);
  assert.equal(a.incarnation(), 1);
  const errors = out.filter((effect) => effect.kind === 'log' && effect.level === 'error');
  assert.equal(errors.length, 1, 'logged once per conflicting address');
  assert.match((errors[0] as Extract<Effect, { kind: 'log' }>).message, /duplicate node id/);
  assert.ok(!out.some((effect) => effect.kind === 'connect'));
  assert.equal(a.counters().duplicate_ids, 2);
});

test('two other nodes claiming one id: the second address is ignored; a restart elsewhere replaces the entry', () => {
  const a = member(0);
  const out: Effect[] = [];
  a.onDiscovered(hello(1, 4), START_MS, out);
  out.length = 0;
  a.onDiscovered(hello(1, 4, '127.0.0.9:7000'), START_MS, out);
  assert.equal(a.members().find((view) => view.id === nodeId(1))!.addr, hello(1).addr);
  assert.ok(out.some((effect) => effect.kind === 'log' && effect.level === 'warn' && /duplicate node id/.test(effect.message)));
  out.length = 0;
  a.onDiscovered(hello(1, 5, '127.0.0.9:7000'), START_MS, out);
  assert.equal(a.members().find((view) => view.id === nodeId(1))!.addr, '127.0.0.9:7000');
  assert.deepEqual(out.filter((effect) => effect.kind === 'connect'), [{ kind: 'connect', peer: nodeId(1), addr: '127.0.0.9:7000' }]);
});

test('an unknown member is dialled and answered with an announcement; a known one only once', () => {
  const a = member(0);
  const out: Effect[] = [];
  a.onDiscovered(hello(1), START_MS, out);
  assert.deepEqual(
    out.filter((effect) => effect.kind !== 'log'),
    [{ kind: 'connect', peer: nodeId(1), addr: hello(1).addr }, { kind: 'announce' }],
  );
  out.length = 0;
  a.onDiscovered(hello(1), START_MS + 10, out);
  assert.equal(out.length, 0);
  assert.equal(a.members().find((view) => view.id === nodeId(1))!.lastSeenMs, START_MS + 10);
});

test('acks with an unknown seq or from the wrong member are ignored', () => {
  const a = member(0);
  const out: Effect[] = [];
  a.onLinkUp(hello(1), START_MS, out);
  a.onLinkUp(hello(2), START_MS, out);
  const ping = sends(out).find((sent) => sent.to === nodeId(1) && sent.message.type === 'ping')!;
  const seq = (ping.message as { seq: number }).seq;
  a.onMessage(nodeId(1), { type: 'ack', seq: seq + 1000, members: [] }, START_MS + 1, out);
  a.onMessage(nodeId(2), { type: 'ack', seq, members: [] }, START_MS + 1, out);
  a.onMessage(nodeId(1), { type: 'indirectAck', seq, target: nodeId(1) }, START_MS + 1, out);
  assert.equal(a.counters().acks, 0);
  assert.equal(a.counters().stale_acks, 3);
  a.onMessage(nodeId(1), { type: 'ack', seq, members: [] }, START_MS + 2, out);
  assert.equal(a.counters().acks, 1);
});

test('a pingReq is relayed with our own seq and the answer goes back with the requester seq', () => {
  const a = member(0);
  const out: Effect[] = [];
  a.onLinkUp(hello(1), START_MS, out);
  a.onLinkUp(hello(2), START_MS, out);
  out.length = 0;
  a.onMessage(nodeId(1), { type: 'pingReq', seq: 777, target: nodeId(2) }, START_MS + 1, out);
  const relayed = sends(out);
  assert.equal(relayed.length, 1);
  assert.equal(relayed[0]!.to, nodeId(2));
  assert.equal(relayed[0]!.message.type, 'ping');
  out.length = 0;
  a.onMessage(nodeId(2), { type: 'ack', seq: (relayed[0]!.message as { seq: number }).seq, members: [] }, START_MS + 2, out);
  assert.deepEqual(sends(out), [{ to: nodeId(1), message: { type: 'indirectAck', seq: 777, target: nodeId(2) } }]);
});

test('messages from unknown senders change nothing and are counted', () => {
  const a = member(0);
  const out: Effect[] = [];
  a.onMessage(nodeId(5), { type: 'ping', seq: 1, members: [gossip(6, 1, 'alive')] }, START_MS, out);
  a.onMessage(nodeId(5), { type: 'pingReq', seq: 1, target: nodeId(0) }, START_MS, out);
  assert.equal(out.length, 0);
  assert.equal(a.members().length, 1);
  assert.equal(a.counters().unknown_sender_messages, 2);
});

test('sends carry the zero stamp for the node core to fill in, and no wakeAt is pushed', () => {
  const world = new World();
  for (let index = 0; index < 3; index++) world.add(index);
  const effects: Effect[] = [];
  const a = member(0);
  a.onLinkUp(hello(1), START_MS, effects);
  for (let nowMs = START_MS; nowMs < START_MS + 5_000; nowMs += 50) a.onTick(nowMs, effects);
  assert.ok(effects.some((effect) => effect.kind === 'send'));
  for (const effect of effects) {
    assert.notEqual(effect.kind, 'wakeAt');
    if (effect.kind === 'send') assert.deepEqual(effect.hlc, { wallMs: 0, logical: 0 });
  }
});

test('the same seed replays the same messages and transitions', () => {
  const trace = (seed: number): string => {
    const world = new World({ seed });
    for (let index = 0; index < 4; index++) world.add(index);
    world.runFor(3_000);
    world.kill(3);
    world.pause(2, 800);
    world.runFor(5_000);
    return JSON.stringify([world.sent, world.transitions]);
  };
  assert.equal(trace(3), trace(3));
  assert.notEqual(trace(3), trace(4));
});
