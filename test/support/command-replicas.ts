// Replicas for property tests of merges through real commands: each a MemoryEngine with its
// own node id (rows kept as batches to deliver to the others) and one session running
// commands through the real command table, all on one test clock.
import { Buffer } from 'node:buffer';
import { buildCommandTable } from '../../src/server/commands.js';
import { Session } from '../../src/server/session.js';
import { ServerState } from '../../src/server/state.js';
import { executeCommand } from '../../src/server/table.js';
import { MemoryEngine, recordingLogger } from './memory-engine.js';

export interface Replica {
  readonly engine: MemoryEngine;
  readonly session: Session;
}

/** One replica per node id, reading the time from `clock`. */
export function commandReplicas(nodeIds: readonly string[], clock: { nowMs: number }): Replica[] {
  return nodeIds.map((nodeId) => {
    const engine = new MemoryEngine({ nowMs: () => clock.nowMs, nodeId, keepBatches: true });
    const server = new ServerState({ engine, requirepass: undefined, logger: recordingLogger().logger, table: buildCommandTable() });
    const session = new Session(server, 1, { push: () => {}, remoteAddress: 'test', localAddress: 'test' });
    return { engine, session };
  });
}

/** Run one command on the replica; its raw RESP reply once any write it made settled. */
export async function runCommand(replica: Replica, ...args: (string | number)[]): Promise<string> {
  executeCommand(replica.session, args.map((arg) => Buffer.from(String(arg))));
  return (await replica.session.settle()).toString('latin1');
}
