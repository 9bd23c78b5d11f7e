// Proves the stored ACL user table round-trips: any user built from any sequence of valid rules, encoded as the replicated row's text and decoded by another node, has the same permissions (same allowed commands, first args, key and channel patterns, passwords, flags) and describes itself the same; decoding arbitrary bytes never throws.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import fc from 'fast-check';
import { ACL_CATEGORIES } from '../../src/server/acl-categories.js';
import { decodeUsers, encodeUsers } from '../../src/server/acl-store.js';
import { AclRegistry } from '../../src/server/acl-store.js';
import { AclUser } from '../../src/server/acl-users.js';
import { buildCommandTable } from '../../src/server/commands.js';
import { MemoryEngine } from '../support/memory-engine.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
const commands = new AclRegistry(new MemoryEngine(), undefined, buildCommandTable().all(), silent).commands;
const commandNames = [...commands.keys()];
const patternText = fc.stringMatching(/^[a-z:*?]{0,6}$/);

const rule = fc.oneof(
  fc.constantFrom('on', 'off', 'nopass', 'resetpass', 'reset', 'allkeys', 'resetkeys', 'allchannels', 'resetchannels', 'allcommands', 'nocommands', 'sanitize-payload'),
  fc.stringMatching(/^[a-z0-9]{1,8}$/).map((password) => `>${password}`),
  fc.tuple(fc.constantFrom('+', '-'), fc.constantFrom(...commandNames)).map(([sign, name]) => `${sign}${name}`),
  fc.tuple(fc.constantFrom('+', '-'), fc.constantFrom(...ACL_CATEGORIES)).map(([sign, name]) => `${sign}@${name}`),
  fc.tuple(fc.constantFrom('~', '%R~', '%W~', '%RW~'), patternText).map(([prefix, pattern]) => `${prefix}${pattern}`),
  patternText.map((pattern) => `&${pattern}`),
  fc.constantFrom('+select|0', '+select|1'),
);

/** What decides a user's permissions, comparable with deepEqual. */
function permissions(user: AclUser): unknown {
  return {
    enabled: user.enabled,
    noPass: user.noPass,
    passwords: user.passwords,
    allCommands: user.allCommands,
    allowed: [...user.allowed].sort(),
    firstArgs: [...user.firstArgs].map(([name, args]) => [name, [...args].sort()]),
    allKeys: user.allKeys,
    keys: user.keyPatterns.map(({ pattern, access }) => [pattern.toString('latin1'), access]),
    allChannels: user.allChannels,
    channels: user.channels.map((channel) => channel.toString('latin1')),
  };
}

test('a user table survives encode and decode with the same permissions', () => {
  fc.assert(
    fc.property(fc.array(fc.array(rule, { maxLength: 12 }), { minLength: 1, maxLength: 4 }), (ruleLists) => {
      const users = ruleLists.map((rules, index) => {
        const user = new AclUser(`user${index}`);
        for (const text of rules) user.applyRule(Buffer.from(text), commands); // invalid ones change nothing that matters here
        return user;
      });
      const skipped: string[] = [];
      const decoded = decodeUsers(encodeUsers(users, commands), commands, (_, text, error) => skipped.push(`${text}: ${error}`));
      assert.deepEqual(skipped, []);
      assert.equal(decoded.length, users.length);
      for (const user of users) {
        const twin = decoded.find((candidate) => candidate.name === user.name)!;
        assert.deepEqual(permissions(twin), permissions(user));
        assert.equal(twin.describe(commands), user.describe(commands));
      }
    }),
    { numRuns: 200 },
  );
});

test('decoding arbitrary bytes never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      decodeUsers(bytes, commands, () => undefined);
    }),
  );
});
