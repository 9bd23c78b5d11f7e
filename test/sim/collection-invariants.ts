// The list invariants, checked on the converged replicas:
//   list-order    every list reads the same elements in the same order on every replica
//                 (the rows being equal is not enough to read so: the check reads the lists);
//   element-order two elements whose order an acknowledged command fixed keep it wherever
//                 both live: LINSERT's element between the pivot and its neighbour, and each
//                 acknowledged RPUSH after (LPUSH before) the previous one of its node on that list.
import { bytesToMapKey, compareBytes, fromUtf8 } from '../../src/core/bytes.js';
import { isAbsent } from '../../src/core/record.js';
import { headerType, KeyType, parseRow, RowKind, headerRowKey } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import type { Ledger } from './ledger.js';
import { describeRowKey } from './trace.js';

type Fail = (invariant: string, detail: string) => void;

export interface CollectionNode {
  readonly name: string;
  readonly records: readonly VersionedRecord[];
  readonly nowMs: number;
}

export interface CollectionCheckStats {
  /** Lists compared across replicas (per replica pair). */
  listChecks: number;
  /** Element orders checked (per replica). */
  orderChecks: number;
}

/** User key -> the list's elements in list order, for keys whose live header says list. */
function readLists(node: CollectionNode): Map<string, string[]> {
  const byKey = new Map<string, VersionedRecord>();
  for (const record of node.records) byKey.set(bytesToMapKey(record.key), record);
  const lists = new Map<string, string[]>();
  // Records come in row-key order: a key's items follow each other by position.
  const sorted = [...node.records].sort((a, b) => compareBytes(a.key, b.key));
  for (const record of sorted) {
    const parsed = parseRow(record.key);
    if (parsed?.kind !== RowKind.Item || isAbsent(record, node.nowMs)) continue;
    const header = byKey.get(bytesToMapKey(headerRowKey(parsed.key)));
    // A headerless list still reads as one (typed-keys.ts liveHeader).
    if (header !== undefined && !isAbsent(header, node.nowMs) && headerType(header.value!) !== KeyType.List) continue;
    const userKey = fromUtf8(parsed.key);
    let list = lists.get(userKey);
    if (list === undefined) lists.set(userKey, (list = []));
    list.push(fromUtf8(record.value!));
  }
  return lists;
}

export function checkCollections(nodes: readonly CollectionNode[], ledger: Ledger, fail: Fail): CollectionCheckStats {
  const stats: CollectionCheckStats = { listChecks: 0, orderChecks: 0 };
  const lists = nodes.map(readLists);
  const reference = lists[0]!;
  for (let index = 1; index < nodes.length; index++) {
    const other = lists[index]!;
    for (const key of new Set([...reference.keys(), ...other.keys()])) {
      stats.listChecks++;
      const first = reference.get(key) ?? [];
      const second = other.get(key) ?? [];
      if (first.join('\u0000') === second.join('\u0000')) continue;
      fail('list-order', `list ${key}: ${nodes[0]!.name} reads [${first.join(' ')}], ${nodes[index]!.name} reads [${second.join(' ')}]`);
    }
  }
  for (const node of nodes) {
    const live = new Set<string>();
    for (const record of node.records) if (!isAbsent(record, node.nowMs)) live.add(bytesToMapKey(record.key));
    for (const order of ledger.orders) {
      if (!live.has(order.earlier) || !live.has(order.later)) continue;
      stats.orderChecks++;
      if (order.earlier < order.later) continue; // map keys compare as the row bytes do
      fail('element-order', `${node.name}: ${order.what} put ${describeRowKey(mapKeyBytes(order.later))} after ${describeRowKey(mapKeyBytes(order.earlier))}, but it sorts before it`);
    }
  }
  return stats;
}

function mapKeyBytes(mapKey: string): Uint8Array {
  return Uint8Array.from(mapKey, (char) => char.charCodeAt(0));
}
