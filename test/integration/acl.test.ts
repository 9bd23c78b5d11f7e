// Proves ACL users are cluster-wide on real nodes: ACL SETUSER on node A lets the user AUTH on node B with A's rules (the table is one replicated row), and ACL DELUSER on A closes the user's connections on B and refuses its AUTH there.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { cleanupAll, waitFor } from '../support/processes.js';
import { Clients, startCluster } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

describe('ACL users on a loopback cluster', { concurrency: false }, () => {
  test('SETUSER on A, AUTH and NOPERM on B; DELUSER on A disconnects the user on B', async () => {
    const [a, b] = await startCluster(2);
    const admin = client(a!);
    assert.equal(await admin.acl('SETUSER', 'worker', 'on', '>w0rk', '-@all', '+get', '+set', '~jobs:*'), 'OK');
    const onB = client(b!);
    await waitFor(async () => (await onB.auth('worker', 'w0rk').catch(() => 'refused')) === 'OK', { timeoutMs: 10_000, what: 'the user table replicated to B' });
    assert.equal(await onB.set('jobs:1', 'queued'), 'OK');
    await assert.rejects(onB.set('other', 'x'), /^ReplyError: NOPERM this user has no permissions to access one of the keys used as arguments$/);
    await assert.rejects(onB.del('jobs:1'), /^ReplyError: NOPERM this user has no permissions to run the 'del' command$/);
    assert.deepEqual(await client(b!).acl('USERS'), ['default', 'worker']);

    const closed = new Promise<void>((resolve) => onB.once('end', () => resolve()));
    assert.equal(await admin.acl('DELUSER', 'worker'), 1);
    await closed;
    await assert.rejects(client(b!).auth('worker', 'w0rk'), /WRONGPASS/);
  });
});
