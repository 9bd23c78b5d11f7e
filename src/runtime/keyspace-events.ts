// Keyspace notifications: names the Redis event of each applied change and hands it to every subscriber.
import { equalBytes } from '../core/bytes.js';
import type { VersionedRecord } from '../core/types.js';
import { isAbsent } from '../core/record.js';
import type { KeyspaceEvent, KeyspaceEventName } from '../server/engine.js';

export class KeyspaceEvents {
  private readonly listeners = new Set<(event: KeyspaceEvent) => void>();

  /** Whether anyone listens: with no subscriber, applied changes need no naming at all. */
  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  /** Returns the function that unsubscribes. */
  subscribe(listener: (event: KeyspaceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The events of each record in turn; previous[index] is the version records[index] replaced. */
  publish(records: readonly VersionedRecord[], previous: readonly (VersionedRecord | undefined)[], expired: boolean, nowMs: number): void {
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const name = keyspaceEventOf(record, previous[index], expired, nowMs);
      this.emit({ key: record.key, event: name });
      // As Redis does for SET .. EX/PX/EXAT/PXAT: `set`, then `expire`.
      if (name === 'set' && record.expiresAtMs !== 0) this.emit({ key: record.key, event: 'expire' });
    }
  }

  private emit(event: KeyspaceEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * The Redis event name of one change. The record does not say which command made it:
 * the same live value with another expiry is what EXPIRE and PERSIST write (on any node).
 */
function keyspaceEventOf(record: VersionedRecord, before: VersionedRecord | undefined, expired: boolean, nowMs: number): KeyspaceEventName {
  if (record.value === null) return expired ? 'expired' : 'del';
  if (before === undefined || isAbsent(before, nowMs) || before.expiresAtMs === record.expiresAtMs || !equalBytes(before.value!, record.value)) return 'set';
  return record.expiresAtMs === 0 ? 'persist' : 'expire';
}
