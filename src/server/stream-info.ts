// XINFO STREAM [FULL [COUNT n]] / GROUPS / CONSUMERS / HELP (Redis 7.0 replies). peerkv has
// no radix tree: radix-tree-keys counts the nodes of stream-node-max-entries entries Redis
// would keep, radix-tree-nodes one more. Group state is this node's view.
import type { Buffer } from 'node:buffer';
import { equalBytes } from '../core/bytes.js';
import { parseInteger64 } from '../core/counters.js';
import { appendArrayHeader, appendBulk, appendBulkText, appendError, appendInteger, appendMapHeader, appendNull, appendSimple, type RespOutput } from '../wire/resp.js';
import { argIs, argLower, CommandFlag, command, NOT_INTEGER_ERROR } from './common.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';
import { factsOf, lagOf, listConsumers, listGroups, pendingEntries, subcommandError, appendOptionalInteger } from './stream-groups.js';
import { idText, MAX_ID, ZERO_ID } from './stream-ids.js';
import { edgeEntries, entriesInRange, readStream, type StreamState } from './stream-rows.js';
import { appendEntries, appendEntry } from './streams.js';
import type { CommandSpec } from './table.js';
import { WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Print this help.',
];

const label = (out: RespOutput, name: string): void => appendBulkText(out, name);

function streamInfo(session: Session, key: Uint8Array, state: StreamState, args: Buffer[]): void {
  const out = session.out;
  const version = session.protocol;
  const options = args.slice(3);
  let full = false;
  let count = 10;
  if (options.length > 0) {
    if ((options.length !== 1 && options.length !== 3) || !argIs(options[0]!, 'full')) return void appendError(out, subcommandError('xinfo', args[1]!));
    full = true;
    if (options.length === 3) {
      if (!argIs(options[1]!, 'count')) return void appendError(out, subcommandError('xinfo', args[1]!));
      const value = parseInteger64(options[2]!);
      if (value === undefined) return void appendError(out, NOT_INTEGER_ERROR);
      count = value < 0n ? 10 : Number(value);
    }
  }
  const engine = session.engine;
  const facts = factsOf(engine, key, state);
  const nodeEntries = session.server.settings.integer('stream-node-max-entries');
  const blocks = nodeEntries > 0 ? Math.ceil(state.length / nodeEntries) : Math.min(state.length, 1);
  appendMapHeader(out, full ? 9 : 10, version);
  label(out, 'length');
  appendInteger(out, state.length);
  label(out, 'radix-tree-keys');
  appendInteger(out, blocks);
  label(out, 'radix-tree-nodes');
  appendInteger(out, blocks + 1);
  label(out, 'last-generated-id');
  appendBulkText(out, idText(state.lastId));
  label(out, 'max-deleted-entry-id');
  appendBulkText(out, idText(state.meta.maxDeletedId));
  label(out, 'entries-added');
  appendInteger(out, Number(state.meta.entriesAdded));
  label(out, 'recorded-first-entry-id');
  appendBulkText(out, idText(facts.firstId));
  const groups = listGroups(engine, key);
  if (!full) {
    label(out, 'groups');
    appendInteger(out, groups.length);
    const { first, last } = edgeEntries(engine, key, state.lastId);
    label(out, 'first-entry');
    if (first === undefined) appendNull(out, version);
    else appendEntry(out, first);
    label(out, 'last-entry');
    if (last === undefined) appendNull(out, version);
    else appendEntry(out, last);
    return;
  }
  label(out, 'entries');
  appendEntries(out, entriesInRange(engine, key, ZERO_ID, MAX_ID, count));
  label(out, 'groups');
  appendArrayHeader(out, groups.length);
  for (const group of groups) {
    const pending = pendingEntries(engine, key, group.name);
    appendMapHeader(out, 7, version);
    label(out, 'name');
    appendBulk(out, group.name);
    label(out, 'last-delivered-id');
    appendBulkText(out, idText(group.position.lastId));
    label(out, 'entries-read');
    appendOptionalInteger(out, group.position.entriesRead === -1n ? undefined : group.position.entriesRead, version);
    label(out, 'lag');
    appendOptionalInteger(out, lagOf(facts, group.position), version);
    label(out, 'pel-count');
    appendInteger(out, pending.length);
    label(out, 'pending');
    const shown = count === 0 ? pending : pending.slice(0, count);
    appendArrayHeader(out, shown.length);
    for (const entry of shown) {
      appendArrayHeader(out, 4);
      appendBulkText(out, idText(entry.id));
      appendBulk(out, entry.consumer);
      appendInteger(out, entry.deliveredAtMs);
      appendInteger(out, Number(entry.deliveries));
    }
    const consumers = listConsumers(engine, key, group.name);
    label(out, 'consumers');
    appendArrayHeader(out, consumers.length);
    for (const consumer of consumers) {
      const own = pending.filter((entry) => equalBytes(entry.consumer, consumer.name));
      appendMapHeader(out, 4, version);
      label(out, 'name');
      appendBulk(out, consumer.name);
      label(out, 'seen-time');
      appendInteger(out, consumer.seenMs);
      label(out, 'pel-count');
      appendInteger(out, own.length);
      label(out, 'pending');
      const ownShown = count === 0 ? own : own.slice(0, count);
      appendArrayHeader(out, ownShown.length);
      for (const entry of ownShown) {
        appendArrayHeader(out, 3);
        appendBulkText(out, idText(entry.id));
        appendInteger(out, entry.deliveredAtMs);
        appendInteger(out, Number(entry.deliveries));
      }
    }
  }
}

function xinfoCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  const sub = argLower(args[1]!);
  if (sub === 'help') {
    if (args.length !== 2) return void appendError(out, "ERR wrong number of arguments for 'xinfo|help' command");
    appendArrayHeader(out, XINFO_HELP.length);
    for (const line of XINFO_HELP) appendSimple(out, line);
    return;
  }
  if (args.length < 3) return void appendError(out, subcommandError('xinfo', args[1]!));
  const key = args[2]!;
  const engine = session.engine;
  const state = readStream(engine, key);
  if (state === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
  if (state === undefined) return void appendError(out, 'ERR no such key');
  if (sub === 'consumers' && args.length === 4) {
    const group = args[3]!;
    const exists = listGroups(engine, key).some((each) => equalBytes(each.name, group));
    if (!exists) return void appendError(out, `NOGROUP No such consumer group '${args[3]!.toString()}' for key name '${key.toString()}'`);
    const pending = pendingEntries(engine, key, group);
    const consumers = listConsumers(engine, key, group);
    const now = engine.nowMs();
    appendArrayHeader(out, consumers.length);
    for (const consumer of consumers) {
      appendMapHeader(out, 3, session.protocol);
      label(out, 'name');
      appendBulk(out, consumer.name);
      label(out, 'pending');
      appendInteger(out, pending.filter((entry) => equalBytes(entry.consumer, consumer.name)).length);
      label(out, 'idle');
      appendInteger(out, Math.max(0, now - consumer.seenMs));
    }
    return;
  }
  if (sub === 'groups' && args.length === 3) {
    const groups = listGroups(engine, key);
    const facts = factsOf(engine, key, state);
    appendArrayHeader(out, groups.length);
    for (const group of groups) {
      appendMapHeader(out, 6, session.protocol);
      label(out, 'name');
      appendBulk(out, group.name);
      label(out, 'consumers');
      appendInteger(out, listConsumers(engine, key, group.name).length);
      label(out, 'pending');
      appendInteger(out, pendingEntries(engine, key, group.name).length);
      label(out, 'last-delivered-id');
      appendBulkText(out, idText(group.position.lastId));
      label(out, 'entries-read');
      appendOptionalInteger(out, group.position.entriesRead === -1n ? undefined : group.position.entriesRead, session.protocol);
      label(out, 'lag');
      appendOptionalInteger(out, lagOf(facts, group.position), session.protocol);
    }
    return;
  }
  if (sub === 'stream') return streamInfo(session, key, state, args);
  appendError(out, subcommandError('xinfo', args[1]!));
}

export const STREAM_INFO_COMMANDS: readonly CommandSpec[] = [command('xinfo', -2, CommandFlag.ReadOnly, [2, 2, 1], 'stream', 'Stream, group and consumer information', xinfoCommand)];
