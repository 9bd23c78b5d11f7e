// A sorted set in (score, member) order as the range commands read it: ranks, counts
// before a score or lex bound, and entries from a rank. Backed by the keyspace's score
// index (src/core/score-indexes.ts: O(log n) ranks, a range costs what it returns); where
// the engine has none for the key (a MULTI that wrote the key before reading it), by the
// member rows read and sorted once for the command.
import { Buffer } from 'node:buffer';
import { bytesToMapKey } from '../core/bytes.js';
import type { ScoreIndex } from '../core/score-indexes.js';
import type { BeforeBound } from '../core/score-tree.js';
import type { Engine } from './engine.js';
import { loadRowEntries, type ZEntry } from './zset-rows.js';

export interface ZsetOrder {
  readonly size: number;
  /** Number of entries for which `before` holds (a prefix of the order: a score or lex bound). */
  countBefore(before: BeforeBound): number;
  /** Up to `count` entries from `rank` on, ascending, or (reverse) descending from it. */
  range(rank: number, count: number, reverse: boolean): ZEntry[];
  /** A member's ascending rank, undefined when it is not in the set. */
  rankOf(member: Uint8Array): number | undefined;
}

/** A member name of the index (one latin1 char per byte) back as bytes. */
export function memberBytes(name: string): Uint8Array {
  return Buffer.from(name, 'latin1');
}

class IndexOrder implements ZsetOrder {
  constructor(private readonly index: ScoreIndex) {}

  get size(): number {
    return this.index.size;
  }

  countBefore(before: BeforeBound): number {
    return this.index.countBefore(before);
  }

  range(rank: number, count: number, reverse: boolean): ZEntry[] {
    const entries: ZEntry[] = [];
    if (count <= 0) return entries;
    this.index.visit(rank, reverse, (score, member) => entries.push({ member: memberBytes(member), score }) < count);
    return entries;
  }

  rankOf(member: Uint8Array): number | undefined {
    return this.index.rankOf(bytesToMapKey(member));
  }
}

/** Entries already sorted in memory (the rows of a key the engine has no index for). */
class SortedOrder implements ZsetOrder {
  private readonly names: string[];

  constructor(private readonly entries: readonly ZEntry[]) {
    this.names = entries.map((entry) => bytesToMapKey(entry.member));
  }

  get size(): number {
    return this.entries.length;
  }

  countBefore(before: BeforeBound): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(this.entries[middle]!.score, this.names[middle]!)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  range(rank: number, count: number, reverse: boolean): ZEntry[] {
    if (count <= 0 || rank < 0 || rank >= this.entries.length) return [];
    if (!reverse) return this.entries.slice(rank, rank + count);
    return this.entries.slice(Math.max(0, rank + 1 - count), rank + 1).reverse();
  }

  rankOf(member: Uint8Array): number | undefined {
    const rank = this.names.indexOf(bytesToMapKey(member));
    return rank < 0 ? undefined : rank;
  }
}

export const EMPTY_ZSET_ORDER: ZsetOrder = new SortedOrder([]);

/** The order of an existing sorted set (the caller checked its type). */
export function zsetOrder(engine: Engine, key: Uint8Array): ZsetOrder {
  const index = engine.scoreIndex?.(key);
  return index !== undefined ? new IndexOrder(index) : new SortedOrder(loadRowEntries(engine, key));
}
