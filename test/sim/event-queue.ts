// The simulator's agenda: events ordered by (virtual time, insertion sequence), so two
// events at the same millisecond always run in the order they were scheduled.

export interface SimEvent {
  readonly timeMs: number;
  readonly sequence: number;
  readonly run: () => void;
}

export class EventQueue {
  private readonly heap: SimEvent[] = [];
  private sequence = 0;

  get size(): number {
    return this.heap.length;
  }

  push(timeMs: number, run: () => void): void {
    if (!Number.isFinite(timeMs)) throw new Error(`event scheduled at ${timeMs}`);
    const heap = this.heap;
    heap.push({ timeMs, sequence: this.sequence++, run });
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      swap(heap, index, parent);
      index = parent;
    }
  }

  peekTimeMs(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0]!.timeMs;
  }

  pop(): SimEvent | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        swap(heap, index, smallest);
        index = smallest;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.sequence < b.sequence);
}

function swap(heap: SimEvent[], a: number, b: number): void {
  const held = heap[a]!;
  heap[a] = heap[b]!;
  heap[b] = held;
}
