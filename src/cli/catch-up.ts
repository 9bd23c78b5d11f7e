// `peerkv status --progress [--expect-from HOST:PORT]`: follows a node's catch-up after a
// restart or a partition until it is done: keys it holds, keys its anti-entropy sessions
// received since it started, whether a resync still refuses reads, and, given a node that
// stayed current (--expect-from), how many keys it should end up with. A progress bar on a
// terminal (cli-progress), one line per poll otherwise.
import { setTimeout as sleep } from 'node:timers/promises';
import { RespClient } from './client.js';
import { checkReply, EXIT_OK, withClient, type ClientContext } from './commands.js';
import { infoField, keyCount, parseInfo } from './info.js';
import { replyText } from '../wire/resp-reply-parser.js';

const POLL_INTERVAL_MS = 500;
/** Polls in a row that must find the node idle before catch-up counts as done (a round may be about to start). */
const IDLE_POLLS_TO_FINISH = 3;

export interface CatchUpSample {
  readonly keys: number;
  readonly keysReceived: number;
  readonly resyncing: boolean;
  readonly syncing: boolean;
}

export function catchUpSample(infoText: string): CatchUpSample {
  const info = parseInfo(infoText);
  let keysReceived = 0;
  for (const [field, value] of info.get('cluster') ?? new Map<string, string>()) {
    if (!/^sync\d+$/.test(field)) continue;
    const match = /(?:^|,)keys_received=(\d+)/.exec(value);
    if (match) keysReceived += Number(match[1]);
  }
  return {
    keys: keyCount(info),
    keysReceived,
    resyncing: Number(infoField(info, 'resync_active') ?? 0) > 0 || infoField(info, 'loading') === '1',
    syncing: infoField(info, 'sync_state') === 'syncing',
  };
}

export function describeCatchUp(sample: CatchUpSample, expected: number | undefined): string {
  const target = expected === undefined ? '' : `/${expected}`;
  const state = sample.resyncing ? 'resyncing (reads refused)' : sample.syncing ? 'anti-entropy running' : 'idle';
  return `keys ${sample.keys}${target}, received ${sample.keysReceived} by anti-entropy, ${state}`;
}

export function runCatchUp(context: ClientContext, expectFrom: string | undefined): Promise<number> {
  return withClient(context, async (client) => {
    const reference = expectFrom === undefined ? undefined : await connectReference(context, expectFrom);
    const terminal = (context.stderr as NodeJS.WriteStream).isTTY === true;
    let bar: import('cli-progress').SingleBar | undefined;
    let idlePolls = 0;
    try {
      for (;;) {
        const sample = catchUpSample(replyText(checkReply(await client.command(['INFO', 'everything']), 'INFO')) ?? '');
        const size = reference === undefined ? undefined : checkReply(await reference.command(['DBSIZE']), 'DBSIZE');
        const expected = size === undefined ? undefined : size.type === 'integer' ? Number(size.value) : 0;
        const busy = sample.resyncing || sample.syncing || (expected !== undefined && sample.keys < expected);
        idlePolls = busy ? 0 : idlePolls + 1;
        if (terminal && !context.json) {
          if (bar === undefined) {
            const { SingleBar, Presets } = await import('cli-progress');
            bar = new SingleBar({ stream: context.stderr as NodeJS.WriteStream, format: 'catch-up [{bar}] {value}/{total} keys | {detail}', hideCursor: true }, Presets.shades_classic);
            bar.start(expected ?? Math.max(1, sample.keys), sample.keys, { detail: '' });
          }
          bar.setTotal(expected ?? Math.max(1, sample.keys));
          bar.update(sample.keys, { detail: describeCatchUp(sample, undefined) });
        } else if (context.json) {
          context.stdout.write(`${JSON.stringify({ ...sample, expected: expected ?? null, done: idlePolls >= IDLE_POLLS_TO_FINISH })}\n`);
        } else {
          context.stdout.write(`${describeCatchUp(sample, expected)}\n`);
        }
        if (idlePolls >= IDLE_POLLS_TO_FINISH) {
          bar?.stop();
          bar = undefined;
          if (!context.json) context.stdout.write(`caught up: ${describeCatchUp(sample, expected)}\n`);
          return EXIT_OK;
        }
        await sleep(POLL_INTERVAL_MS);
      }
    } finally {
      bar?.stop();
      reference?.close();
    }
  });
}

async function connectReference(context: ClientContext, address: string): Promise<RespClient> {
  const separator = address.lastIndexOf(':');
  const host = separator > 0 ? address.slice(0, separator) : context.host;
  const port = Number(address.slice(separator + 1));
  const client = await RespClient.connect({ host, port, timeoutMs: context.timeoutMs });
  if (context.password !== undefined) checkReply(await client.command(['AUTH', context.password]), 'AUTH');
  return client;
}
