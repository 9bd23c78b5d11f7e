// Proves the CLI reads INFO (sections, members, keyspace) and keyspace notifications as DESIGN.md describes them, whatever peers call themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAgo, formatDuration, formatTable, infoField, keyCount, parseInfo, parseMembers } from '../../src/cli/info.js';
import { keyspaceEvent, keyspacePattern } from '../../src/cli/watch.js';
import type { EngineInfo } from '../../src/server/engine.js';
import { clusterSection } from '../../src/server/info.js';
import type { RespReply } from '../../src/wire/resp-reply-parser.js';

const INFO = [
  '# Server', 'redis_version:7.2.0', 'uptime_in_seconds:3723', '',
  '# Memory', 'used_memory_human:1.50M', '',
  '# Keyspace', 'db0:keys=42,expires=3,avg_ttl=0', '',
  '# Cluster',
  'node_id:0123456789abcdef0123456789abcdef', 'node_name:alpha', 'members_alive:2', 'members_suspect:1', 'members_dead:0',
  'member1:id=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,name=beta,with,commas,addr=127.0.0.1:7480,state=suspect,last_seen_ms=1500',
  'member0:id=0123456789abcdef0123456789abcdef,name=alpha,addr=127.0.0.1:7380,state=alive,last_seen_ms=0',
  'member2:id=cccccccccccccccccccccccccccccccc,name=gamma,addr=127.0.0.1:7580,state=alive,last_seen_ms=1700000000000',
  '',
].join('\r\n');

test('INFO sections and fields are read by name', () => {
  const info = parseInfo(INFO);
  assert.equal(info.get('server')?.get('uptime_in_seconds'), '3723');
  assert.equal(infoField(info, 'node_name'), 'alpha');
  assert.equal(infoField(info, 'missing'), undefined);
  assert.equal(keyCount(info), 42);
  assert.equal(keyCount(parseInfo('# Keyspace\r\n')), 0);
});

test('member lines come out in index order, names with commas intact, last seen as an age', () => {
  const members = parseMembers(parseInfo(INFO), 1_700_000_000_250);
  assert.deepEqual(members, [
    { id: '0123456789abcdef0123456789abcdef', name: 'alpha', address: '127.0.0.1:7380', state: 'alive', lastSeenAgoMs: 0 },
    { id: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', name: 'beta,with,commas', address: '127.0.0.1:7480', state: 'suspect', lastSeenAgoMs: 1500 },
    { id: 'cccccccccccccccccccccccccccccccc', name: 'gamma', address: '127.0.0.1:7580', state: 'alive', lastSeenAgoMs: 250 },
  ]);
  assert.deepEqual(parseMembers(parseInfo('# Server\r\nx:1\r\n'), 0), []);
});

test('human formats: ages, durations, aligned tables', () => {
  assert.equal(formatAgo(120), '120 ms ago');
  assert.equal(formatAgo(45_000), '45 s ago');
  assert.equal(formatAgo(undefined), '-');
  assert.equal(formatDuration(3723), '1h 2m 3s');
  assert.equal(formatDuration(59), '59s');
  assert.equal(formatTable(['NAME', 'ID'], [['alpha', '01234567'], ['b', 'x']]), 'NAME   ID\nalpha  01234567\nb      x');
});

test('watch subscribes to a literal prefix and reads pmessages in RESP2 and RESP3 form', () => {
  assert.equal(keyspacePattern(''), '__keyspace@0__:*');
  assert.equal(keyspacePattern('user:*[1]?'), '__keyspace@0__:user:\\*\\[1\\]\\?*');
  const bulk = (text: string): RespReply => ({ type: 'bulk', value: new TextEncoder().encode(text) });
  const parts = [bulk('pmessage'), bulk('__keyspace@0__:*'), bulk('__keyspace@0__:user:1'), bulk('set')];
  assert.deepEqual(keyspaceEvent({ type: 'array', value: parts }), { event: 'set', key: 'user:1' });
  assert.deepEqual(keyspaceEvent({ type: 'push', value: parts }), { event: 'set', key: 'user:1' });
  assert.equal(keyspaceEvent({ type: 'array', value: [bulk('psubscribe'), bulk('x'), { type: 'integer', value: 1 }] }), undefined);
  assert.equal(keyspaceEvent({ type: 'simple', value: 'OK' }), undefined);
});

test('a peer name with a newline, commas and "=" stays on its own member line', () => {
  const self = '0123456789abcdef0123456789abcdef';
  const info: EngineInfo = {
    nodeId: self, nodeName: 'alpha', version: '0', startedAtMs: 0, peerAddr: '127.0.0.1:7380', dataDir: '/tmp', fsync: 'no',
    members: [
      { id: self, name: 'alpha', addr: '127.0.0.1:7380', incarnation: 1, state: 'alive', lastSeenMs: 1_000 },
      { id: 'b'.repeat(32), name: 'evil\r\nmember9:id=x,state=dead', addr: '127.0.0.1:7480', incarnation: 1, state: 'alive', lastSeenMs: 900 },
    ],
    keys: 0, keysWithExpiry: 0, merkleRoot: '0', sync: [], counters: {}, lastSaveMs: 0, storageError: undefined,
  };
  const text = ['# Cluster', ...clusterSection(info, 1_000), ''].join('\r\n');
  const members = parseMembers(parseInfo(text), 1_000);
  assert.deepEqual(members.map((member) => [member.id, member.name, member.state]), [
    [self, 'alpha', 'alive'],
    ['b'.repeat(32), 'evil??member9:id_x,state_dead', 'alive'],
  ]);
});
