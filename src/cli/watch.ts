// `peerkv watch [PREFIX]`: follow keyspace notifications (changes made on any node) until
// Ctrl-C. One line per event, `EVENT KEY` (with --values, `set KEY VALUE`), or JSON lines.
import { RespClient } from './client.js';
import { checkReply, EXIT_FAILED, EXIT_OK, jsonBytes, withClient, type ClientContext } from './commands.js';
import { replyText, type RespReply } from '../wire/resp-reply-parser.js';

export const KEYSPACE_CHANNEL_PREFIX = '__keyspace@0__:';

/** Glob pattern that matches keys starting with prefix, taken literally. */
export function keyspacePattern(prefix: string): string {
  return `${KEYSPACE_CHANNEL_PREFIX}${prefix.replace(/[*?[\]\\]/g, (special) => `\\${special}`)}*`;
}

export interface KeyspaceEvent {
  readonly event: string;
  readonly key: string;
}

/** A pmessage (RESP2 array or RESP3 push) for a keyspace channel; undefined for anything else. */
export function keyspaceEvent(message: RespReply): KeyspaceEvent | undefined {
  if (message.type !== 'array' && message.type !== 'push') return undefined;
  const [kind, , channel, payload] = message.value;
  if (kind === undefined || replyText(kind) !== 'pmessage' || channel === undefined || payload === undefined) return undefined;
  const channelText = replyText(channel) ?? '';
  if (!channelText.startsWith(KEYSPACE_CHANNEL_PREFIX)) return undefined;
  return { event: replyText(payload) ?? '', key: channelText.slice(KEYSPACE_CHANNEL_PREFIX.length) };
}

export function runWatch(context: ClientContext, prefix: string, withValues: boolean): Promise<number> {
  return withClient(context, async (client) => {
    // Values come from a second connection: a subscribed connection may only (un)subscribe.
    const reader = withValues ? await openReader(context) : undefined;
    // Events are printed in arrival order even when a value lookup is slow.
    let printing: Promise<void> = Promise.resolve();
    client.onPush((message) => {
      const event = keyspaceEvent(message);
      if (!event) return;
      printing = printing.then(() => printEvent(context, event, reader));
    });
    checkReply(await client.command(['PSUBSCRIBE', keyspacePattern(prefix)]), 'PSUBSCRIBE');
    if (!context.json) context.stderr.write(`watching ${prefix === '' ? 'all keys' : `keys starting with '${prefix}'`} on ${client.address}; Ctrl-C to stop\n`);
    let onSignal = () => {};
    const code = await new Promise<number>((resolve) => {
      onSignal = () => resolve(EXIT_OK);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      client.onClose((error) => {
        context.stderr.write(`peerkv: ${error.message}\n`);
        resolve(EXIT_FAILED);
      });
    });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    client.onClose(() => {}); // our own close below is not news
    reader?.close();
    await printing;
    return code;
  });
}

async function openReader(context: ClientContext): Promise<RespClient> {
  const reader = await RespClient.connect({ host: context.host, port: context.port, timeoutMs: context.timeoutMs });
  if (context.password !== undefined) checkReply(await reader.command(['AUTH', context.password]), 'AUTH');
  return reader;
}

async function printEvent(context: ClientContext, event: KeyspaceEvent, reader: RespClient | undefined): Promise<void> {
  let value: Uint8Array | null | undefined;
  if (reader && event.event === 'set') {
    // Best effort: the key may have changed again since; what we print is its value now.
    const reply = await reader.command(['GET', event.key]).catch(() => undefined);
    value = reply?.type === 'bulk' ? reply.value : null;
  }
  if (context.json) {
    const valueFields = value === undefined ? {} : value === null ? { value: null } : jsonBytes(value);
    context.stdout.write(`${JSON.stringify({ event: event.event, key: event.key, ...valueFields })}\n`);
    return;
  }
  const parts: (string | Uint8Array)[] = [`${event.event} ${event.key}`];
  if (value) parts.push(' ', value);
  for (const part of parts) context.stdout.write(part);
  context.stdout.write('\n');
}
