// Proves the failure-detection goals on a virtual clock: kill -9 is dead everywhere within 3 s, a 1 s SIGSTOP never is, a restart comes back alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeId, World } from './membership-harness.js';

const KILL_DEADLINE_MS = 3_000;

function converged(nodes = 3, seed = 1): World {
  const world = new World({ seed });
  for (let index = 0; index < nodes; index++) world.add(index);
  world.runFor(2_000);
  for (let observer = 0; observer < nodes; observer++) {
    for (let target = 0; target < nodes; target++) assert.equal(world.view(observer, target), 'alive', `node${observer} sees node${target}`);
  }
  return world;
}

test('three nodes find each other and stay alive without a single suspicion', () => {
  const world = converged();
  world.runFor(60_000);
  for (const node of world.nodes.values()) {
    const counters = node.membership.counters();
    assert.equal(counters.suspicions, 0);
    assert.equal(counters.deaths, 0);
    assert.ok(counters.probes_sent! > 100, 'probes keep running');
    assert.deepEqual(node.membership.liveMembers().length, 2);
  }
});

test('kill -9 is declared dead on every other node within 3 s', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const world = converged(3, seed);
    world.runFor(seed * 37); // kill at a different point of the probe cycle each time
    const killedAtMs = world.nowMs;
    world.kill(2);
    world.runFor(KILL_DEADLINE_MS);
    for (const observer of [0, 1]) {
      const deadAtMs = world.firstTime(observer, 2, 'dead', killedAtMs);
      assert.ok(deadAtMs !== undefined, `seed ${seed}: node${observer} never declared node2 dead`);
      assert.ok(deadAtMs - killedAtMs <= KILL_DEADLINE_MS, `seed ${seed}: took ${deadAtMs - killedAtMs} ms`);
    }
  }
});

test('a silent failure (no link reset) is still found by probes within 4 s', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const world = converged(3, seed);
    world.runFor(seed * 37);
    const killedAtMs = world.nowMs;
    world.kill(2, true);
    world.runFor(4_000);
    for (const observer of [0, 1]) {
      const deadAtMs = world.firstTime(observer, 2, 'dead', killedAtMs);
      assert.ok(deadAtMs !== undefined && deadAtMs - killedAtMs <= 4_000, `seed ${seed}: node${observer} dead at ${deadAtMs}`);
    }
  }
});

test('a 1 s SIGSTOP is never declared dead, and every suspicion is refuted', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const world = converged(3, seed);
    world.runFor(seed * 13);
    const pausedAtMs = world.nowMs;
    world.pause(2, 1_000);
    world.runFor(10_000);
    for (let observer = 0; observer < 3; observer++) {
      for (let target = 0; target < 3; target++) {
        if (observer === target) continue;
        const history = world.history(observer, target).filter((t) => t.atMs >= pausedAtMs);
        assert.ok(!history.some((t) => t.state === 'dead' || t.state === 'gone'), `seed ${seed}: node${observer} on node${target}: ${JSON.stringify(history)}`);
        assert.equal(world.view(observer, target), 'alive', `seed ${seed}: node${observer} on node${target} at the end`);
      }
    }
  }
});

test('the paused node does not accuse the others when it wakes up', () => {
  const world = converged(3, 5);
  world.pause(2, 1_000);
  world.runFor(5_000);
  const counters = world.node(2).membership.counters();
  assert.equal(counters.suspicions, 0);
  assert.equal(counters.stalls, 1);
});

test('a restarted node (higher incarnation) is alive again, whether or not it was declared dead', () => {
  const world = converged();
  world.kill(2);
  world.runFor(5_000);
  assert.equal(world.view(0, 2), 'dead');
  assert.equal(world.view(1, 2), 'dead');
  const restartedAtMs = world.nowMs;
  world.restart(2, 2);
  world.runFor(1_000);
  for (const observer of [0, 1]) {
    assert.equal(world.view(observer, 2), 'alive');
    const member = world.node(observer).membership.members().find((view) => view.id === nodeId(2))!;
    assert.equal(member.incarnation, 2);
    assert.ok(member.lastSeenMs >= restartedAtMs);
  }
  assert.equal(world.view(2, 0), 'alive');
  assert.equal(world.view(2, 1), 'alive');

  // A quick restart, before anyone noticed: no death at all.
  const quickAtMs = world.nowMs;
  world.restart(1, 2);
  world.runFor(3_000);
  assert.equal(world.firstTime(0, 1, 'dead', quickAtMs), undefined);
  assert.equal(world.view(0, 1), 'alive');
  assert.equal(world.node(0).membership.members().find((view) => view.id === nodeId(1))!.incarnation, 2);
});

test('a dead member is forgotten after deadReapMs and its link released', () => {
  const world = converged();
  world.kill(2);
  world.runFor(world.config.deadReapMs + 5_000);
  assert.equal(world.view(0, 2), undefined);
  assert.equal(world.node(0).membership.members().length, 2);
  assert.equal(world.node(0).membership.counters().reaped, 1);
});

test('a two-node cluster detects a kill with nobody to ask', () => {
  const world = converged(2);
  const killedAtMs = world.nowMs;
  world.kill(1);
  world.runFor(KILL_DEADLINE_MS);
  const deadAtMs = world.firstTime(0, 1, 'dead', killedAtMs);
  assert.ok(deadAtMs !== undefined && deadAtMs - killedAtMs <= KILL_DEADLINE_MS);
});

test('a member paused long enough to be declared dead refutes when it wakes and comes back', () => {
  const world = converged(2);
  world.pause(1, 10_000);
  world.runFor(12_000);
  assert.equal(world.view(0, 1), 'alive');
  assert.equal(world.view(1, 0), 'alive');
  assert.equal(world.node(0).membership.counters().revivals, 1);
  assert.equal(world.node(1).membership.counters().suspicions, 0, 'the sleeper blames nobody');
  assert.ok(world.node(1).membership.incarnation() > 1, 'node1 refuted its death');
});

test('a healed partition: members that hold each other dead on both sides refute and come back', () => {
  for (const [nodes, groups] of [
    [2, [[0], [1]]],
    [4, [[0, 1], [2, 3]]],
  ] as const) {
    const world = converged(nodes);
    world.partition(...groups.map((group) => [...group]));
    world.runFor(5_000);
    assert.equal(world.view(0, nodes - 1), 'dead');
    assert.equal(world.view(nodes - 1, 0), 'dead');
    world.heal();
    world.runFor(3_000);
    for (let observer = 0; observer < nodes; observer++) {
      for (let target = 0; target < nodes; target++) assert.equal(world.view(observer, target), 'alive', `${nodes} nodes: node${observer} on node${target}`);
    }
  }
});
