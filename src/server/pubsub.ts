// Pub/sub: PUBLISH, and keyspace notifications (`__keyspace@0__:KEY` carries the event
// name, `__keyevent@0__:EVENT` carries the key). Events come from engine.onKeyspaceEvent
// (writes on any node), PUBLISHes made on other nodes from engine.onPeerPublish; the hub
// listens to the engine only while some client is subscribed. PUBLISH replies with the
// receivers on this node, and PUBSUB introspects this node only (as Redis Cluster does).
import { Buffer } from 'node:buffer';
import { RespOutput, appendArrayHeader, appendError, appendBulk, appendBulkText, appendInteger, appendNull, appendPushHeader, appendSimple } from '../wire/resp.js';
import type { RespVersion } from '../wire/resp.js';
import { PUBLISH_CHANNEL_BYTES_MAX } from '../core/pubsub-messages.js';
import { CommandFlag, NO_KEYS, argLower, command } from './common.js';
import type { Engine, KeyspaceEvent } from './engine.js';
import { globMatch } from './glob.js';
import { notificationChannels } from './settings.js';
import type { Session } from './session.js';
import { wrongArityMessage, type CommandSpec } from './table.js';
import type { Logger } from './state.js';

const KEYSPACE_PREFIX = Buffer.from('__keyspace@0__:');
const KEYEVENT_PREFIX = Buffer.from('__keyevent@0__:');
const MESSAGE = Buffer.from('message');
const PMESSAGE = Buffer.from('pmessage');

function mapKey(bytes: Buffer): string {
  return bytes.toString('latin1');
}

export class PubSubHub {
  /** channel (latin1) -> subscribed sessions */
  private readonly channels = new Map<string, Set<Session>>();
  /** pattern (latin1) -> pattern bytes and subscribed sessions */
  private readonly patterns = new Map<string, { readonly pattern: Buffer; readonly sessions: Set<Session> }>();
  private unsubscribeEngine: (() => void) | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly logger: Logger,
    /** notify-keyspace-events as CONFIG SET left it (settings.ts). */
    private readonly notifyFlags: () => string = () => 'AKE',
  ) {}

  channelCount(): number {
    return this.channels.size;
  }

  patternCount(): number {
    return this.patterns.size;
  }

  /** Clients subscribed to exactly this channel (pattern subscriptions not counted), as PUBSUB NUMSUB. */
  subscriberCount(channel: Buffer): number {
    return this.channels.get(mapKey(channel))?.size ?? 0;
  }

  /** Channels with a subscriber, those matching pattern when given, in byte order (PUBSUB CHANNELS). */
  channelNames(pattern: Buffer | undefined): Buffer[] {
    const names: Buffer[] = [];
    for (const key of this.channels.keys()) {
      const name = Buffer.from(key, 'latin1');
      if (pattern === undefined || globMatch(pattern, name)) names.push(name);
    }
    return names.sort(Buffer.compare);
  }

  subscribe(session: Session, channel: Buffer): void {
    const key = mapKey(channel);
    if (session.channels.has(key)) return;
    session.channels.set(key, Buffer.from(channel));
    let sessions = this.channels.get(key);
    if (sessions === undefined) this.channels.set(key, (sessions = new Set()));
    sessions.add(session);
    this.listen();
  }

  unsubscribe(session: Session, channel: Buffer): boolean {
    const key = mapKey(channel);
    if (!session.channels.delete(key)) return false;
    const sessions = this.channels.get(key);
    sessions?.delete(session);
    if (sessions?.size === 0) this.channels.delete(key);
    this.unlistenIfIdle();
    return true;
  }

  psubscribe(session: Session, pattern: Buffer): void {
    const key = mapKey(pattern);
    if (session.patterns.has(key)) return;
    session.patterns.set(key, Buffer.from(pattern));
    let entry = this.patterns.get(key);
    if (entry === undefined) this.patterns.set(key, (entry = { pattern: Buffer.from(pattern), sessions: new Set() }));
    entry.sessions.add(session);
    this.listen();
  }

  punsubscribe(session: Session, pattern: Buffer): boolean {
    const key = mapKey(pattern);
    if (!session.patterns.delete(key)) return false;
    const entry = this.patterns.get(key);
    entry?.sessions.delete(session);
    if (entry?.sessions.size === 0) this.patterns.delete(key);
    this.unlistenIfIdle();
    return true;
  }

  /** Drop every subscription of a session (disconnect, RESET). */
  dropSession(session: Session): void {
    for (const channel of [...session.channels.values()]) this.unsubscribe(session, channel);
    for (const pattern of [...session.patterns.values()]) this.punsubscribe(session, pattern);
  }

  close(): void {
    this.unsubscribeEngine?.();
    this.unsubscribeEngine = undefined;
  }

  private listen(): void {
    if (this.unsubscribeEngine !== undefined) return;
    const stopEvents = this.engine.onKeyspaceEvent((event) => this.publishEvent(event));
    const stopPeers = this.engine.onPeerPublish?.((channel, message) => this.publishFromPeer(channel, message));
    this.unsubscribeEngine = () => {
      stopEvents();
      stopPeers?.();
    };
  }

  private unlistenIfIdle(): void {
    if (this.channels.size === 0 && this.patterns.size === 0) this.close();
  }

  private publishEvent(event: KeyspaceEvent): void {
    try {
      const channels = notificationChannels(this.notifyFlags(), event.event);
      if (!channels.keyspace && !channels.keyevent) return;
      const eventName = Buffer.from(event.event);
      const key = Buffer.from(event.key.buffer, event.key.byteOffset, event.key.byteLength);
      if (channels.keyspace) this.publish(Buffer.concat([KEYSPACE_PREFIX, key]), eventName);
      if (channels.keyevent) this.publish(Buffer.concat([KEYEVENT_PREFIX, eventName]), key);
    } catch (error) {
      this.logger.error({ err: error }, 'keyspace notification failed');
    }
  }

  /** A PUBLISH made on another node: delivered here only, never sent on. */
  private publishFromPeer(channel: Uint8Array, message: Uint8Array): void {
    try {
      this.publish(Buffer.from(channel.buffer, channel.byteOffset, channel.byteLength), Buffer.from(message.buffer, message.byteOffset, message.byteLength));
    } catch (error) {
      this.logger.error({ err: error }, 'delivering a message published on a peer failed');
    }
  }

  /** Deliver a message to subscribers of channel and of matching patterns; returns how many got it. */
  publish(channel: Buffer, message: Buffer): number {
    let delivered = 0;
    const sessions = this.channels.get(mapKey(channel));
    if (sessions !== undefined && sessions.size > 0) {
      const encoded: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];
      for (const session of sessions) {
        const version = session.protocol;
        const bytes = (encoded[version - 2] ??= encodeMessage(version, undefined, channel, message));
        session.transport.push(bytes);
        delivered++;
      }
    }
    for (const { pattern, sessions: subscribers } of this.patterns.values()) {
      if (!globMatch(pattern, channel)) continue;
      for (const session of subscribers) {
        session.transport.push(encodeMessage(session.protocol, pattern, channel, message));
        delivered++;
      }
    }
    return delivered;
  }
}

function encodeMessage(version: RespVersion, pattern: Buffer | undefined, channel: Buffer, message: Buffer): Buffer {
  const out = new RespOutput(64 + channel.length + message.length);
  appendPushHeader(out, pattern === undefined ? 3 : 4, version);
  appendBulk(out, pattern === undefined ? MESSAGE : PMESSAGE);
  if (pattern !== undefined) appendBulk(out, pattern);
  appendBulk(out, channel);
  appendBulk(out, message);
  return out.take();
}

/** `[kind, name, count]` confirmation, a push in RESP3 as Redis sends it. */
function appendConfirmation(session: Session, kind: string, name: Buffer | null): void {
  appendPushHeader(session.out, 3, session.protocol);
  appendBulkText(session.out, kind);
  if (name === null) appendNull(session.out, session.protocol);
  else appendBulk(session.out, name);
  appendInteger(session.out, session.subscriptionCount());
}

function subscribeCommand(session: Session, args: Buffer[]): void {
  for (let index = 1; index < args.length; index++) {
    session.server.pubsub.subscribe(session, args[index]!);
    appendConfirmation(session, 'subscribe', args[index]!);
  }
}

function psubscribeCommand(session: Session, args: Buffer[]): void {
  for (let index = 1; index < args.length; index++) {
    session.server.pubsub.psubscribe(session, args[index]!);
    appendConfirmation(session, 'psubscribe', args[index]!);
  }
}

function unsubscribeVariant(kind: 'unsubscribe' | 'punsubscribe') {
  return (session: Session, args: Buffer[]): void => {
    const hub = session.server.pubsub;
    const own = kind === 'unsubscribe' ? session.channels : session.patterns;
    const names = args.length > 1 ? args.slice(1) : [...own.values()];
    if (names.length === 0) return void appendConfirmation(session, kind, null);
    for (const name of names) {
      if (kind === 'unsubscribe') hub.unsubscribe(session, name);
      else hub.punsubscribe(session, name);
      appendConfirmation(session, kind, name);
    }
  };
}

/**
 * PUBLISH: local subscribers get it now, linked peers once each (best effort). The reply
 * counts receivers on this node only. The message is bounded by the RESP decoder
 * (PROTO_MAX_BULK_BYTES = VALUE_BYTES_MAX); the channel by PUBLISH_CHANNEL_BYTES_MAX.
 */
function publishCommand(session: Session, args: Buffer[]): void {
  const channel = args[1]!;
  const message = args[2]!;
  if (channel.length > PUBLISH_CHANNEL_BYTES_MAX) {
    return void appendError(session.out, `ERR channel is ${channel.length} bytes, the limit is ${PUBLISH_CHANNEL_BYTES_MAX}`);
  }
  const receivers = session.server.pubsub.publish(channel, message);
  session.engine.publish?.(channel, message);
  appendInteger(session.out, receivers);
}

const PUBSUB_HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'HELP',
  '    Print this help.',
];

/** PUBSUB CHANNELS / NUMSUB / NUMPAT / HELP about this node's subscribers, with Redis 7.0's replies and errors. */
function pubsubCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  const hub = session.server.pubsub;
  const sub = argLower(args[1]!);
  const typed = args[1]!.toString('utf8', 0, 128);
  switch (sub) {
    case 'channels': {
      if (args.length > 3) return void appendError(out, `ERR unknown subcommand or wrong number of arguments for '${typed}'. Try PUBSUB HELP.`);
      const names = hub.channelNames(args[2]);
      appendArrayHeader(out, names.length);
      for (const name of names) appendBulk(out, name);
      return;
    }
    case 'numsub':
      appendArrayHeader(out, (args.length - 2) * 2);
      for (let index = 2; index < args.length; index++) {
        appendBulk(out, args[index]!);
        appendInteger(out, hub.subscriberCount(args[index]!));
      }
      return;
    case 'numpat':
    case 'help':
      if (args.length !== 2) return void appendError(out, wrongArityMessage(`pubsub|${sub}`));
      if (sub === 'numpat') return void appendInteger(out, hub.patternCount());
      appendArrayHeader(out, PUBSUB_HELP.length);
      for (const line of PUBSUB_HELP) appendSimple(out, line);
      return;
    default:
      return void appendError(out, `ERR unknown subcommand '${typed}'. Try PUBSUB HELP.`);
  }
}

/** PING in RESP2 subscribed mode answers `[pong, message]`, elsewhere +PONG or the message. */
function pingCommand(session: Session, args: Buffer[]): void {
  if (args.length > 2) return void appendError(session.out, wrongArityMessage('ping'));
  if (session.protocol === 2 && session.subscriptionCount() > 0) {
    appendArrayHeader(session.out, 2);
    appendBulkText(session.out, 'pong');
    appendBulk(session.out, args[1] ?? Buffer.alloc(0));
  } else if (args.length > 1) {
    appendBulk(session.out, args[1]!);
  } else {
    appendSimple(session.out, 'PONG');
  }
}

const { PubSub, Fast } = CommandFlag;

export const PUBSUB_COMMANDS: readonly CommandSpec[] = [
  command('subscribe', -2, PubSub, NO_KEYS, 'pubsub', 'Listen for messages on channels (keyspace notifications)', subscribeCommand),
  command('psubscribe', -2, PubSub, NO_KEYS, 'pubsub', 'Listen for messages on channels matching patterns', psubscribeCommand),
  command('unsubscribe', -1, PubSub, NO_KEYS, 'pubsub', 'Stop listening on channels', unsubscribeVariant('unsubscribe')),
  command('punsubscribe', -1, PubSub, NO_KEYS, 'pubsub', 'Stop listening on patterns', unsubscribeVariant('punsubscribe')),
  command('ping', -1, PubSub | Fast, NO_KEYS, 'connection', 'Ping the server', pingCommand),
  command('publish', 3, Fast, NO_KEYS, 'pubsub', 'Post a message to a channel, on this node and every linked one', publishCommand),
  command('pubsub', -2, 0, NO_KEYS, 'pubsub', "Introspect this node's channels and patterns (CHANNELS NUMSUB NUMPAT)", pubsubCommand),
];
