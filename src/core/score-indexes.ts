// The score index of every sorted set (DESIGN.md 6: derived data stays local and is
// rebuilt, never replicated): per key, its members in (score, member) order in an
// order-statistic tree (score-tree.ts) and member -> score. The keyspace calls track()
// for every change of a header, Field or Slot row, whatever made it (a local write, a
// peer's row, a clear or FLUSHALL, expiry, a purge, resync, the load at start), so the
// index of a key always equals what its rows say:
//   a key has an index exactly while its stored header is a live sorted-set header
//   (expired or not), and the index holds every live Field row of the key with the
//   score its base and counter slots give (scoreOfBase).
// It is built from the rows when a key becomes a sorted set (during the load at start,
// empty: the key's Field rows follow its header in row order), so nothing is stored.
// member -> score is exact at once; the tree takes changes in sorted batches (ScoreIndex
// settle) before any read of the order.
import { bytesToMapKey } from './bytes.js';
import { parseLongDouble, readSlotTotals, unobservedIncrements } from './counters.js';
import { decodeFieldValue, headerType, KeyType, kindPrefix, parseRow, parseSlotElement, rowKey, RowKind, rowUserKey, type BaseValue, type SlotTotal } from './rows.js';
import { compareScoreMember, ScoreTree, type BeforeBound } from './score-tree.js';
import type { StoreView } from './store-view.js';
import type { NodeId, VersionedRecord } from './types.js';

/** Field rows read per page when an index is built from the rows. */
const BUILD_PAGE_ROWS = 4096;
const NO_SLOTS: ReadonlyMap<NodeId, SlotTotal> = new Map();
const EMPTY_BASE: BaseValue = { bytes: new Uint8Array(0), observed: NO_SLOTS };

/** A member's score: its base (Redis's text of a double) plus every origin's unobserved increments. */
export function scoreOfBase(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): number {
  const parsed = parseLongDouble(base.bytes) ?? 0;
  if (slots.size === 0) return parsed;
  const increments = unobservedIncrements(base, slots);
  return parsed + Number(increments.integer) + increments.float;
}

/**
 * Changed members a score index holds before it brings its tree up to date (or when a
 * read needs the order): applied sorted by (score, member), consecutive changes walk the
 * same path of the tree, which stays in cache, where one change at a time walked a cold
 * path twice (remove + insert, ~5 us a change under a server's load).
 */
const PENDING_CHANGES_MAX = 1024;

/** A member: its score now, and the score the tree holds it under (undefined: not in the tree yet). */
interface MemberEntry {
  score: number;
  /** The member string the tree holds (long-lived: a changed score re-enters with it). */
  readonly member: string;
  treeScore: number | undefined;
  /** Listed in `changed` (at most once). */
  pending: boolean;
}

/** The score index of one sorted set, read-only to its readers. */
export class ScoreIndex {
  private readonly tree = new ScoreTree();
  /** bytesToMapKey(member) -> its entry. */
  private readonly byMember = new Map<string, MemberEntry>();
  /** Entries whose score the tree does not hold yet (some may have been deleted since). */
  private readonly changed: MemberEntry[] = [];
  /** Tree entries of deleted members, to remove from the tree. */
  private readonly removed: { score: number; member: string }[] = [];

  get size(): number {
    return this.byMember.size;
  }

  /** A member's score (bytesToMapKey form), undefined when absent. */
  scoreOf(member: string): number | undefined {
    return this.byMember.get(member)?.score;
  }

  /** A member's rank (ascending), undefined when absent. */
  rankOf(member: string): number | undefined {
    const entry = this.byMember.get(member);
    if (entry === undefined) return undefined;
    this.settle();
    return this.tree.rankOf(entry.score, entry.member);
  }

  /** Members for which `before` holds (a prefix of the order: a score or lex bound). */
  countBefore(before: BeforeBound): number {
    this.settle();
    return this.tree.countBefore(before);
  }

  /** Walk from a rank, ascending or descending, while `visit` returns true. */
  visit(rank: number, reverse: boolean, visit: (score: number, member: string) => boolean): void {
    this.settle();
    this.tree.visit(rank, reverse, visit);
  }

  /** Every entry in order (tests). */
  entries(): { score: number; member: string }[] {
    this.settle();
    return this.tree.entries();
  }

  set(member: string, score: number): void {
    let entry = this.byMember.get(member);
    if (entry === undefined) {
      entry = { score, member, treeScore: undefined, pending: false };
      this.byMember.set(member, entry);
    } else if (Object.is(entry.score, score)) {
      return;
    }
    entry.score = score;
    this.note(entry);
  }

  delete(member: string): void {
    const entry = this.byMember.get(member);
    if (entry === undefined) return;
    this.byMember.delete(member);
    if (entry.treeScore !== undefined) this.removed.push({ score: entry.treeScore, member: entry.member });
    entry.treeScore = undefined; // its pending change, if any, is now void (settle skips it)
    if (this.removed.length >= PENDING_CHANGES_MAX) this.settle();
  }

  private note(entry: MemberEntry): void {
    if (!entry.pending) {
      entry.pending = true;
      this.changed.push(entry);
    }
    if (this.changed.length >= PENDING_CHANGES_MAX) this.settle();
  }

  /** Bring the tree up to date: removals first, then every changed member at its score, each sorted. */
  private settle(): void {
    if (this.changed.length === 0 && this.removed.length === 0) return;
    const removals = this.removed.splice(0);
    const inserts: MemberEntry[] = [];
    for (const entry of this.changed) {
      entry.pending = false;
      if (this.byMember.get(entry.member) !== entry) continue; // deleted since (its removal is listed)
      if (entry.treeScore !== undefined) {
        if (Object.is(entry.treeScore, entry.score)) continue;
        removals.push({ score: entry.treeScore, member: entry.member });
      }
      inserts.push(entry);
    }
    this.changed.length = 0;
    removals.sort((a, b) => compareScoreMember(a.score, a.member, b.score, b.member));
    for (const removal of removals) this.tree.remove(removal.score, removal.member);
    inserts.sort((a, b) => compareScoreMember(a.score, a.member, b.score, b.member));
    for (const entry of inserts) {
      this.tree.insert(entry.score, entry.member);
      entry.treeScore = entry.score;
    }
  }
}

function isZsetHeader(record: VersionedRecord | undefined): boolean {
  return record !== undefined && record.value !== null && headerType(record.value) === KeyType.ZSet;
}

export class ScoreIndexes {
  private readonly byKey = new Map<string, ScoreIndex>();

  constructor(
    /** The keyspace's view: stored rows with the current step's changes on top. */
    private readonly view: Pick<StoreView, 'get' | 'scanRows'>,
    /** False when the user key certainly has no slot rows (Keyspace.mayHaveSlots). */
    private readonly mayHaveSlots: (userKey: Uint8Array) => boolean,
  ) {}

  /** The index of a sorted set (the caller checked the type), undefined for other keys. */
  of(userKey: Uint8Array): ScoreIndex | undefined {
    if (this.byKey.size === 0) return undefined;
    return this.byKey.get(bytesToMapKey(userKey));
  }

  /** Number of sorted sets indexed. */
  get count(): number {
    return this.byKey.size;
  }

  /**
   * A header, Field or Slot row changed from `before` to `after` (undefined: absent) and
   * the view already shows `after`. `loading`: the load at start, which tracks every
   * stored row in row order, so a new index starts empty and its fields follow.
   */
  track(kind: number, row: Uint8Array, before: VersionedRecord | undefined, after: VersionedRecord | undefined, loading: boolean): void {
    if (kind === RowKind.Header) {
      const was = isZsetHeader(before);
      const is = isZsetHeader(after);
      if (was === is) return;
      const userKey = rowUserKey(row)!;
      if (!is) this.byKey.delete(bytesToMapKey(userKey));
      else this.byKey.set(bytesToMapKey(userKey), loading ? new ScoreIndex() : this.build(userKey));
      return;
    }
    if (this.byKey.size === 0) return;
    const parsed = parseRow(row);
    if (parsed === undefined) return;
    const index = this.byKey.get(bytesToMapKey(parsed.key));
    if (index === undefined) return;
    if (kind === RowKind.Field) {
      this.refresh(index, parsed.key, parsed.element, after);
    } else if (kind === RowKind.Slot) {
      const slot = parseSlotElement(parsed.element);
      if (slot !== undefined) this.refresh(index, parsed.key, slot.counted, this.view.get(rowKey(parsed.key, RowKind.Field, slot.counted)));
    }
  }

  /** Set a member's entry from its Field row as it now stands (and its slots). */
  private refresh(index: ScoreIndex, userKey: Uint8Array, member: Uint8Array, field: VersionedRecord | undefined): void {
    const name = bytesToMapKey(member);
    if (field === undefined || field.value === null) return void index.delete(name);
    const base = decodeFieldValue(field.value) ?? EMPTY_BASE;
    const slots = this.mayHaveSlots(userKey) ? readSlotTotals(this.view, userKey, member) : NO_SLOTS;
    index.set(name, scoreOfBase(base, slots));
  }

  /** A key's index from its rows: every live Field row (a key becoming a sorted set usually has few). */
  private build(userKey: Uint8Array): ScoreIndex {
    const index = new ScoreIndex();
    const prefix = kindPrefix(userKey, RowKind.Field);
    let after: Uint8Array | undefined;
    for (;;) {
      const page = this.view.scanRows(prefix, after, BUILD_PAGE_ROWS);
      for (const field of page.records) this.refresh(index, userKey, field.key.subarray(prefix.length), field);
      if (page.done || page.records.length === 0) return index;
      after = page.records[page.records.length - 1]!.key;
    }
  }
}
