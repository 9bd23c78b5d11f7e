// An order-statistic B+tree of sorted-set entries in Redis's order (score, then member
// bytes): insert, remove, rank, the entry at a rank and the count of entries before a
// bound in O(log n); a walk from a rank costs O(log n + entries walked). It is what
// Redis's skiplist with spans gives ZRANGE, ZRANK and ZCOUNT. Members are latin1 strings
// (bytesToMapKey: one char per byte), whose `<` is byte order and which take far less
// memory than a Uint8Array each. Branches keep the size of every child; separators are
// lower bounds (child i holds keys in [low[i], low[i + 1]), low[0] is minus infinity),
// so a removal never has to rewrite them.
//
// Why in memory and not an LMDB index (chosen by measurement, 1,000,000 entries, lmdb-js
// 3.5 on this 2-CPU machine under load): LMDB keeps no counts in its B-tree, so a rank is a
// walk. getCount over half the set (ZRANK of a middle member, ZCOUNT) took 21 ms median,
// a getRange with offset 500,000 (ZRANGE of middle ranks) 8.4 ms, though both walk in C;
// the first 100 entries took 0.04 ms. This tree: rank or count-before 0.5 us median, 100
// entries from the middle 0.3 us, about 100 MB of heap per 1,000,000 members (with the
// member -> score map), 4-6 us per insert. It is rebuilt from the rows at start.

/** Entries per leaf at most; a leaf splits in two above it. */
export const SCORE_TREE_LEAF_ENTRIES_MAX = 128;
/** Children per branch at most; a branch splits in two above it. */
export const SCORE_TREE_BRANCH_CHILDREN_MAX = 64;
/** A node this far below its maximum is merged with a neighbour when both fit in one. */
const UNDERFULL_DIVISOR = 4;

/**
 * A leaf's entries are [0, count) of its arrays, shifted in place by an insert or removal
 * (copyWithin for the scores): splice allocated and copied on every change (measured ~20%
 * slower per remove + insert). The arrays double when full, from LEAF_CAPACITY_MIN (a
 * small sorted set keeps a small leaf) to one more than the maximum (the entry that makes
 * the leaf split).
 */
interface Leaf {
  readonly leaf: true;
  count: number;
  scores: Float64Array;
  members: string[];
}

/** Entries a new leaf has room for; its arrays double as it fills. */
const LEAF_CAPACITY_MIN = 8;
const LEAF_CAPACITY_MAX = SCORE_TREE_LEAF_ENTRIES_MAX + 1;

interface Branch {
  readonly leaf: false;
  children: TreeNode[];
  /** Entries under each child. */
  sizes: number[];
  /** Lower bound of each child's keys (index 0: only meaningful to this branch's parent). */
  lowScores: number[];
  lowMembers: string[];
  size: number;
}

type TreeNode = Leaf | Branch;

/** Redis's order: score, then member bytes. */
export function compareScoreMember(scoreA: number, memberA: string, scoreB: number, memberB: string): number {
  if (scoreA < scoreB) return -1;
  if (scoreA > scoreB) return 1;
  return memberA < memberB ? -1 : memberA > memberB ? 1 : 0;
}

/** True for the entries before a bound: must hold for a prefix of the order and no other entry. */
export type BeforeBound = (score: number, member: string) => boolean;

function sizeOf(node: TreeNode): number {
  return node.leaf ? node.count : node.size;
}

function newLeaf(capacity = LEAF_CAPACITY_MIN): Leaf {
  return { leaf: true, count: 0, scores: new Float64Array(capacity), members: new Array<string>(capacity).fill('') };
}

/** Make room for `count` entries in a leaf (doubling, at most LEAF_CAPACITY_MAX). */
function reserve(leaf: Leaf, count: number): void {
  if (count <= leaf.scores.length) return;
  let capacity = leaf.scores.length;
  while (capacity < count) capacity *= 2;
  capacity = Math.min(capacity, LEAF_CAPACITY_MAX);
  const scores = new Float64Array(capacity);
  scores.set(leaf.scores.subarray(0, leaf.count));
  const members = new Array<string>(capacity).fill('');
  for (let at = 0; at < leaf.count; at++) members[at] = leaf.members[at]!;
  leaf.scores = scores;
  leaf.members = members;
}

/** Index of the child whose key range holds (score, member). */
function childFor(branch: Branch, score: number, member: string): number {
  let low = 1;
  let high = branch.children.length;
  // Largest i >= 1 with low[i] <= key, else 0.
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareScoreMember(branch.lowScores[middle]!, branch.lowMembers[middle]!, score, member) <= 0) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** Index of the last child whose lower bound is before the bound (0 when none is). */
function childBefore(branch: Branch, before: BeforeBound): number {
  let low = 1;
  let high = branch.children.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (before(branch.lowScores[middle]!, branch.lowMembers[middle]!)) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** First index of a leaf whose entry is not before (score, member). */
function leafLowerBound(leaf: Leaf, score: number, member: string): number {
  let low = 0;
  let high = leaf.count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareScoreMember(leaf.scores[middle]!, leaf.members[middle]!, score, member) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

interface Split {
  readonly node: TreeNode;
  readonly lowScore: number;
  readonly lowMember: string;
}

export class ScoreTree {
  private root: TreeNode = newLeaf();

  get size(): number {
    return sizeOf(this.root);
  }

  /** Add an entry that is not in the tree (the caller keeps member -> score and removes the old one first). */
  insert(score: number, member: string): void {
    const split = this.insertInto(this.root, score, member);
    if (split === undefined) return;
    const old = this.root;
    this.root = {
      leaf: false,
      children: [old, split.node],
      sizes: [sizeOf(old), sizeOf(split.node)],
      lowScores: [-Infinity, split.lowScore],
      lowMembers: ['', split.lowMember],
      size: sizeOf(old) + sizeOf(split.node),
    };
  }

  /** Remove an entry; false when it is not in the tree. */
  remove(score: number, member: string): boolean {
    const removed = this.removeFrom(this.root, score, member);
    while (!this.root.leaf && this.root.children.length === 1) this.root = this.root.children[0]!;
    if (!this.root.leaf && this.root.children.length === 0) this.root = newLeaf();
    return removed;
  }

  /** Number of entries before (score, member): its rank when it is in the tree. */
  rankOf(score: number, member: string): number {
    let rank = 0;
    let node = this.root;
    while (!node.leaf) {
      const index = childFor(node, score, member);
      for (let child = 0; child < index; child++) rank += node.sizes[child]!;
      node = node.children[index]!;
    }
    return rank + leafLowerBound(node, score, member);
  }

  /** Number of entries for which `before` holds (a prefix of the order). */
  countBefore(before: BeforeBound): number {
    let count = 0;
    let node = this.root;
    while (!node.leaf) {
      const index = childBefore(node, before);
      for (let child = 0; child < index; child++) count += node.sizes[child]!;
      node = node.children[index]!;
    }
    let low = 0;
    let high = node.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(node.scores[middle]!, node.members[middle]!)) low = middle + 1;
      else high = middle;
    }
    return count + low;
  }

  /**
   * Visit entries from `rank` on, ascending, or (reverse) descending, until `visit`
   * returns false or the end. Each leaf is found from the root: O(log n) per leaf.
   */
  visit(rank: number, reverse: boolean, visit: (score: number, member: string) => boolean): void {
    let next = rank;
    while (next >= 0 && next < this.size) {
      const { leaf, offset } = this.leafAt(next);
      if (reverse) {
        for (let index = offset; index >= 0; index--, next--) if (!visit(leaf.scores[index]!, leaf.members[index]!)) return;
      } else {
        for (let index = offset; index < leaf.count; index++, next++) if (!visit(leaf.scores[index]!, leaf.members[index]!)) return;
      }
    }
  }

  /** Every entry in order (tests, checks). */
  entries(): { score: number; member: string }[] {
    const all: { score: number; member: string }[] = [];
    this.visit(0, false, (score, member) => all.push({ score, member }) > 0);
    return all;
  }

  /** The leaf holding the entry at `rank` (0 <= rank < size) and its offset there. */
  private leafAt(rank: number): { leaf: Leaf; offset: number } {
    let node = this.root;
    let offset = rank;
    while (!node.leaf) {
      let child = 0;
      while (offset >= node.sizes[child]!) offset -= node.sizes[child++]!;
      node = node.children[child]!;
    }
    return { leaf: node, offset };
  }

  private insertInto(node: TreeNode, score: number, member: string): Split | undefined {
    if (node.leaf) {
      const index = leafLowerBound(node, score, member);
      const count = node.count;
      reserve(node, count + 1);
      const { scores, members } = node;
      scores.copyWithin(index + 1, index, count);
      for (let at = count; at > index; at--) members[at] = members[at - 1]!;
      scores[index] = score;
      members[index] = member;
      node.count = count + 1;
      if (node.count <= SCORE_TREE_LEAF_ENTRIES_MAX) return undefined;
      const half = node.count >>> 1;
      const right = newLeaf(LEAF_CAPACITY_MAX);
      right.count = node.count - half;
      right.scores.set(scores.subarray(half, node.count));
      for (let at = half; at < node.count; at++) {
        right.members[at - half] = members[at]!;
        members[at] = '';
      }
      node.count = half;
      return { node: right, lowScore: right.scores[0]!, lowMember: right.members[0]! };
    }
    const index = childFor(node, score, member);
    const split = this.insertInto(node.children[index]!, score, member);
    node.size++;
    if (split === undefined) {
      node.sizes[index]!++;
      return undefined;
    }
    node.sizes[index] = sizeOf(node.children[index]!);
    node.children.splice(index + 1, 0, split.node);
    node.sizes.splice(index + 1, 0, sizeOf(split.node));
    node.lowScores.splice(index + 1, 0, split.lowScore);
    node.lowMembers.splice(index + 1, 0, split.lowMember);
    if (node.children.length <= SCORE_TREE_BRANCH_CHILDREN_MAX) return undefined;
    const half = node.children.length >>> 1;
    const right: Branch = {
      leaf: false,
      children: node.children.slice(half),
      sizes: node.sizes.slice(half),
      lowScores: node.lowScores.slice(half),
      lowMembers: node.lowMembers.slice(half),
      size: 0,
    };
    for (const size of right.sizes) right.size += size;
    node.children.length = half;
    node.sizes.length = half;
    node.lowScores.length = half;
    node.lowMembers.length = half;
    node.size -= right.size;
    return { node: right, lowScore: right.lowScores[0]!, lowMember: right.lowMembers[0]! };
  }

  private removeFrom(node: TreeNode, score: number, member: string): boolean {
    if (node.leaf) {
      const index = leafLowerBound(node, score, member);
      const count = node.count;
      if (index >= count || compareScoreMember(node.scores[index]!, node.members[index]!, score, member) !== 0) return false;
      const members = node.members;
      node.scores.copyWithin(index, index + 1, count);
      for (let at = index; at < count - 1; at++) members[at] = members[at + 1]!;
      members[count - 1] = '';
      node.count = count - 1;
      return true;
    }
    const index = childFor(node, score, member);
    if (!this.removeFrom(node.children[index]!, score, member)) return false;
    node.sizes[index]!--;
    node.size--;
    this.rebalance(node, index);
    return true;
  }

  /** After a removal under child `index`: drop it when empty, merge it into a neighbour when both fit in one. */
  private rebalance(branch: Branch, index: number): void {
    const child = branch.children[index]!;
    if (sizeOf(child) === 0) {
      this.removeChild(branch, index);
      return;
    }
    const length = child.leaf ? child.count : child.children.length;
    const max = child.leaf ? SCORE_TREE_LEAF_ENTRIES_MAX : SCORE_TREE_BRANCH_CHILDREN_MAX;
    if (length * UNDERFULL_DIVISOR >= max) return;
    for (const left of [index - 1, index]) {
      if (left < 0 || left + 1 >= branch.children.length) continue;
      const a = branch.children[left]!;
      const b = branch.children[left + 1]!;
      const combined = a.leaf ? a.count + (b as Leaf).count : a.children.length + (b as Branch).children.length;
      if (combined > max) continue;
      if (a.leaf) {
        const right = b as Leaf;
        reserve(a, a.count + right.count);
        a.scores.set(right.scores.subarray(0, right.count), a.count);
        for (let at = 0; at < right.count; at++) a.members[a.count + at] = right.members[at]!;
        a.count += right.count;
      } else {
        const right = b as Branch;
        // b's keys start at its separator in this branch: that becomes the bound of its first child.
        right.lowScores[0] = branch.lowScores[left + 1]!;
        right.lowMembers[0] = branch.lowMembers[left + 1]!;
        a.children.push(...right.children);
        a.sizes.push(...right.sizes);
        a.lowScores.push(...right.lowScores);
        a.lowMembers.push(...right.lowMembers);
        a.size += right.size;
      }
      branch.sizes[left] = sizeOf(a);
      this.removeChild(branch, left + 1);
      return;
    }
  }

  private removeChild(branch: Branch, index: number): void {
    branch.children.splice(index, 1);
    branch.sizes.splice(index, 1);
    branch.lowScores.splice(index, 1);
    branch.lowMembers.splice(index, 1);
  }
}
