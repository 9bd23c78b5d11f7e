// The chaos run's history (one line per client operation) and its checker: what the final
// state of a converged cluster must hold given what was acknowledged, attempted and deleted.
// Pure: no I/O, so the rules are unit-tested on hand-made histories.

export interface OpLine {
  /** Invocation and completion times (ms since the epoch). */
  readonly t0: number;
  readonly t1: number;
  /** Client (a session bound to one node) and node index. */
  readonly c: number;
  readonly n: number;
  readonly op: 'set' | 'incr' | 'del' | 'wait' | 'get';
  readonly k: string;
  /** The value a SET wrote. */
  readonly v?: string;
  /** The client's sequence number of the operation. */
  readonly s: number;
  /** ok: acknowledged; fail: surely not applied (error reply, not sent); unknown: may have been applied. */
  readonly o: 'ok' | 'fail' | 'unknown';
  /** Reply of INCR / DEL / WAIT. */
  readonly r?: number;
  readonly e?: string;
}

export interface Violation {
  readonly kind: 'lost-write' | 'deleted-came-back' | 'phantom-value' | 'stale-value' | 'lost-increment' | 'extra-increment' | 'wrong-value';
  readonly key: string;
  readonly detail: string;
}

export interface CheckSummary {
  readonly ackedWrites: number;
  readonly ackedUniqueWrites: number;
  readonly ackedDeletes: number;
  readonly ackedHotWrites: number;
  readonly ackedIncrements: number;
  readonly counters: Readonly<Record<string, { acked: number; attempted: number; value: number | null }>>;
  readonly violations: readonly Violation[];
}

/**
 * LWW rules checked on the final state:
 * - a unique key (written once by one client) acknowledged and never deleted is there with its value;
 *   one whose DEL was acknowledged is absent; a present one holds the value written;
 * - a hot key holds a value someone tried to write, and not one older than the last value the same
 *   client had acknowledged on it (a client's writes go to one node, whose stamps only grow), nor
 *   one that had completed more than maxSkewMs before another acknowledged write to the key was
 *   sent (clocks, skewed ones included, are within maxSkewMs of each other: that later write's
 *   stamp is higher and must have won);
 * - a counter is at least its acknowledged increments and at most those plus the unknown ones.
 */
export function checkHistory(ops: readonly OpLine[], final: ReadonlyMap<string, string>, maxSkewMs = Infinity): CheckSummary {
  const violations: Violation[] = [];
  const uniqueSet = new Map<string, OpLine>();
  const deletes = new Map<string, OpLine[]>();
  const hotWrites = new Map<string, Map<string, OpLine>>(); // key -> value -> op
  const lastAckedHot = new Map<string, Map<number, number>>(); // key -> client -> seq
  const latestAckedSend = new Map<string, OpLine>(); // key -> the acknowledged write sent last
  const counters = new Map<string, { acked: number; attempted: number }>();
  let ackedWrites = 0;
  let ackedUniqueWrites = 0;
  let ackedDeletes = 0;
  let ackedHotWrites = 0;
  let ackedIncrements = 0;
  for (const op of ops) {
    if (op.o === 'ok' && (op.op === 'set' || op.op === 'incr' || op.op === 'del')) ackedWrites++;
    if (op.op === 'set' && op.k.startsWith('u:')) {
      uniqueSet.set(op.k, op);
      if (op.o === 'ok') ackedUniqueWrites++;
    } else if (op.op === 'set' && op.k.startsWith('h:')) {
      if (op.o === 'fail') continue;
      let byValue = hotWrites.get(op.k);
      if (byValue === undefined) hotWrites.set(op.k, (byValue = new Map()));
      byValue.set(op.v!, op);
      if (op.o === 'ok') {
        ackedHotWrites++;
        let byClient = lastAckedHot.get(op.k);
        if (byClient === undefined) lastAckedHot.set(op.k, (byClient = new Map()));
        byClient.set(op.c, Math.max(byClient.get(op.c) ?? 0, op.s));
        if ((latestAckedSend.get(op.k)?.t0 ?? -Infinity) < op.t0) latestAckedSend.set(op.k, op);
      }
    } else if (op.op === 'del') {
      if (op.o === 'fail') continue;
      const list = deletes.get(op.k) ?? [];
      list.push(op);
      deletes.set(op.k, list);
      if (op.o === 'ok') ackedDeletes++;
    } else if (op.op === 'incr') {
      const counter = counters.get(op.k) ?? { acked: 0, attempted: 0 };
      if (op.o === 'ok') {
        counter.acked++;
        ackedIncrements++;
      }
      if (op.o !== 'fail') counter.attempted++;
      counters.set(op.k, counter);
    }
  }

  for (const [key, write] of uniqueSet) {
    const value = final.get(key);
    const dels = deletes.get(key) ?? [];
    const deleteAcked = dels.some((del) => del.o === 'ok');
    if (value !== undefined && value !== write.v) violations.push({ kind: 'wrong-value', key, detail: `holds ${value}, written ${write.v}` });
    else if (deleteAcked && value !== undefined) violations.push({ kind: 'deleted-came-back', key, detail: `DEL acknowledged at ${dels.find((del) => del.o === 'ok')!.t1}, value ${value} present` });
    else if (write.o === 'ok' && dels.length === 0 && value === undefined) violations.push({ kind: 'lost-write', key, detail: `SET acknowledged at ${write.t1} by client ${write.c} on node ${write.n}, key absent` });
  }
  for (const [key, value] of final) {
    if (key.startsWith('u:') && !uniqueSet.has(key)) violations.push({ kind: 'phantom-value', key, detail: `holds ${value}, never written` });
  }

  for (const [key, byValue] of hotWrites) {
    const value = final.get(key);
    const acked = lastAckedHot.get(key);
    if (value === undefined) {
      if (acked !== undefined) violations.push({ kind: 'lost-write', key, detail: 'hot key absent though writes to it were acknowledged' });
      continue;
    }
    const write = byValue.get(value);
    if (write === undefined) {
      violations.push({ kind: 'phantom-value', key, detail: `holds ${value}, which no client tried to write` });
      continue;
    }
    const newestAcked = acked?.get(write.c);
    if (newestAcked !== undefined && write.s < newestAcked) {
      violations.push({ kind: 'stale-value', key, detail: `holds client ${write.c}'s write #${write.s}, though its write #${newestAcked} was acknowledged later on the same node` });
    }
    const latest = latestAckedSend.get(key);
    if (latest !== undefined && latest.t0 - write.t1 > maxSkewMs) {
      violations.push({ kind: 'stale-value', key, detail: `holds ${value} (completed at ${write.t1}), though ${latest.v} was sent ${latest.t0 - write.t1} ms later (> ${maxSkewMs} ms of clock skew) and acknowledged` });
    }
  }
  for (const [key, value] of final) {
    if (key.startsWith('h:') && !hotWrites.has(key)) violations.push({ kind: 'phantom-value', key, detail: `holds ${value}, never written` });
  }

  const counterSummary: Record<string, { acked: number; attempted: number; value: number | null }> = {};
  for (const [key, counter] of counters) {
    const text = final.get(key);
    const value = text === undefined ? null : Number(text);
    counterSummary[key] = { ...counter, value };
    if (value === null || value < counter.acked) {
      violations.push({ kind: 'lost-increment', key, detail: `value ${value ?? '(absent)'} < ${counter.acked} acknowledged increments` });
    } else if (value > counter.attempted) {
      violations.push({ kind: 'extra-increment', key, detail: `value ${value} > ${counter.attempted} attempted increments` });
    }
  }
  return { ackedWrites, ackedUniqueWrites, ackedDeletes, ackedHotWrites, ackedIncrements, counters: counterSummary, violations };
}
