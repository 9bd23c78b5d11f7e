// The chaos run's report: one self-contained HTML file (inline SVG, no scripts from
// anywhere): the faults on a timeline per node against each node's acknowledged throughput,
// p99 latency and failed operations per second, then the figures and what was lost.
import type { CheckSummary, OpLine } from './history.js';

export interface FaultEvent {
  readonly number: number;
  readonly kind: string;
  nodes: number[];
  detail: string;
  readonly startMs: number;
  endMs: number;
  error?: string;
}

export interface RunFigures {
  readonly seed: number;
  readonly nodes: number;
  readonly runStartMs: number;
  readonly loadEndMs: number;
  readonly healMs: number;
  readonly events: readonly FaultEvent[];
  readonly ops: readonly OpLine[];
  readonly check: CheckSummary;
  readonly convergenceMs: number | null;
  readonly convergenceGoalMs: number;
  /** Whether the Merkle roots differed when the final split healed. */
  readonly divergedAtHeal: boolean;
  /** INFO total_internal_errors per node at the end (since its last start). */
  readonly internalErrors: readonly number[];
  readonly roots: readonly string[];
  readonly dumps: readonly { keys?: number; error?: string }[];
  readonly identicalDumps: boolean;
  readonly crashes: readonly { node: number; atMs: number; code: number | null; signal: string | null }[];
  readonly badStops: readonly { node: number; code: number | null; signal: string | null }[];
  readonly logs: readonly { node: number; errors: number; fatal: string[]; foreign: string[] }[];
}

const KIND_COLORS: Record<string, string> = {
  isolate: '#d62728',
  split: '#9467bd',
  'one-way': '#8c564b',
  slow: '#e6ab02',
  lossy: '#ff7f0e',
  'kill-9': '#111111',
  pause: '#1f77b4',
  clock: '#17becf',
  'disk-full': '#7f7f7f',
  'kill-in-split': '#e377c2',
  'restart-on-full-disk': '#4d4d4d',
};
const NODE_COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#a6761d', '#666666'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Series {
  readonly seconds: number;
  /** [node][second] */
  readonly acked: number[][];
  readonly failed: number[][];
  readonly p99: (number | null)[][];
}

function series(figures: RunFigures): Series {
  const seconds = Math.ceil((figures.loadEndMs - figures.runStartMs) / 1000) + 1;
  const acked = Array.from({ length: figures.nodes }, () => new Array<number>(seconds).fill(0));
  const failed = Array.from({ length: figures.nodes }, () => new Array<number>(seconds).fill(0));
  const latencies = Array.from({ length: figures.nodes }, () => Array.from({ length: seconds }, () => [] as number[]));
  for (const op of figures.ops) {
    const second = Math.floor((op.t1 - figures.runStartMs) / 1000);
    if (second < 0 || second >= seconds) continue;
    if (op.o === 'ok') {
      acked[op.n]![second]!++;
      latencies[op.n]![second]!.push(op.t1 - op.t0);
    } else failed[op.n]![second]!++;
  }
  const p99 = latencies.map((perNode) =>
    perNode.map((values) => {
      if (values.length === 0) return null;
      values.sort((a, b) => a - b);
      return values[Math.min(values.length - 1, Math.floor(values.length * 0.99))]!;
    }),
  );
  return { seconds, acked, failed, p99 };
}

const WIDTH = 1200;
const LEFT = 60;
const RIGHT = 20;

function xOf(second: number, seconds: number): number {
  return LEFT + (second / Math.max(1, seconds)) * (WIDTH - LEFT - RIGHT);
}

function faultBands(figures: RunFigures, seconds: number, top: number, height: number, node?: number): string {
  return figures.events
    .filter((event) => node === undefined || event.nodes.includes(node) || event.kind === 'split' || event.kind === 'kill-in-split')
    .map((event) => {
      const x0 = xOf((event.startMs - figures.runStartMs) / 1000, seconds);
      const x1 = xOf((event.endMs - figures.runStartMs) / 1000, seconds);
      return `<rect x="${x0.toFixed(1)}" y="${top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${height}" fill="${KIND_COLORS[event.kind] ?? '#ccc'}" opacity="${node === undefined ? 0.12 : 0.3}"><title>#${event.number} ${escape(event.kind)}: ${escape(event.detail)}</title></rect>`;
    })
    .join('');
}

function timeAxis(seconds: number, y: number): string {
  const step = seconds > 600 ? 60 : seconds > 120 ? 30 : 10;
  let out = `<line x1="${LEFT}" y1="${y}" x2="${WIDTH - RIGHT}" y2="${y}" stroke="#999"/>`;
  for (let second = 0; second <= seconds; second += step) {
    const x = xOf(second, seconds);
    out += `<line x1="${x}" y1="${y}" x2="${x}" y2="${y + 4}" stroke="#999"/><text x="${x}" y="${y + 15}" font-size="10" text-anchor="middle">${second}s</text>`;
  }
  return out;
}

function faultTimeline(figures: RunFigures, seconds: number): string {
  const lane = 22;
  const height = lane * figures.nodes + 30;
  let body = '';
  for (let node = 0; node < figures.nodes; node++) {
    const y = 5 + node * lane;
    body += `<text x="5" y="${y + 15}" font-size="12">n${node}</text><line x1="${LEFT}" y1="${y + lane - 2}" x2="${WIDTH - RIGHT}" y2="${y + lane - 2}" stroke="#eee"/>`;
  }
  for (const event of figures.events) {
    const x0 = xOf((event.startMs - figures.runStartMs) / 1000, seconds);
    const x1 = xOf((event.endMs - figures.runStartMs) / 1000, seconds);
    const split = event.kind === 'split' || event.kind === 'kill-in-split';
    const nodesHit = split ? [...Array(figures.nodes).keys()] : event.nodes;
    for (const node of nodesHit) {
      const minoritySide = split && event.nodes.includes(node);
      const y = 5 + node * lane + 2;
      body += `<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(2, x1 - x0).toFixed(1)}" height="${lane - 6}" fill="${KIND_COLORS[event.kind] ?? '#ccc'}" opacity="${split && !minoritySide ? 0.45 : 0.9}"><title>#${event.number} ${escape(event.kind)}: ${escape(event.detail)} (${event.endMs - event.startMs} ms)${event.error ? ` ERROR ${escape(event.error)}` : ''}</title></rect>`;
    }
  }
  body += timeAxis(seconds, height - 25);
  return `<svg width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function lineChart(figures: RunFigures, seconds: number, values: (number | null)[][], label: string, logScale: boolean): string {
  const height = 220;
  const top = 10;
  const bottom = height - 30;
  const max = Math.max(1, ...values.flat().filter((value): value is number => value !== null));
  const scale = (value: number) => (logScale ? Math.log10(1 + value) / Math.log10(1 + max) : value / max);
  const yOf = (value: number) => bottom - scale(value) * (bottom - top);
  let body = faultBands(figures, seconds, top, bottom - top);
  const ticks = logScale ? [1, 10, 100, 1000, 10000].filter((tick) => tick <= max) : [0, max / 2, max];
  for (const tick of ticks) {
    const y = yOf(tick);
    body += `<line x1="${LEFT}" y1="${y}" x2="${WIDTH - RIGHT}" y2="${y}" stroke="#eee"/><text x="${LEFT - 5}" y="${y + 4}" font-size="10" text-anchor="end">${Math.round(tick)}</text>`;
  }
  values.forEach((perNode, node) => {
    let path = '';
    let pen = false;
    perNode.forEach((value, second) => {
      if (value === null) {
        pen = false;
        return;
      }
      path += `${pen ? 'L' : 'M'}${xOf(second + 0.5, seconds).toFixed(1)},${yOf(value).toFixed(1)}`;
      pen = true;
    });
    body += `<path d="${path}" fill="none" stroke="${NODE_COLORS[node % NODE_COLORS.length]}" stroke-width="1.2"/>`;
  });
  body += `<text x="${LEFT + 5}" y="${top + 12}" font-size="12" font-weight="bold">${escape(label)}</text>`;
  body += timeAxis(seconds, bottom);
  return `<svg width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

/** One node's strip: its own faults shaded, acknowledged ops/s (green), failed ops/s (red), p99 latency (blue, log scale, right axis). */
function nodeStrip(figures: RunFigures, data: Series, node: number): string {
  const height = 110;
  const top = 16;
  const bottom = height - 22;
  const maxRate = Math.max(1, ...data.acked.flat(), ...data.failed.flat());
  const maxLatency = Math.max(1, ...data.p99.flat().filter((value): value is number => value !== null));
  const yRate = (value: number) => bottom - (value / maxRate) * (bottom - top);
  const yLatency = (value: number) => bottom - (Math.log10(1 + value) / Math.log10(1 + maxLatency)) * (bottom - top);
  const path = (values: readonly (number | null)[], y: (value: number) => number) => {
    let d = '';
    let pen = false;
    values.forEach((value, second) => {
      if (value === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${xOf(second + 0.5, data.seconds).toFixed(1)},${y(value).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  let body = faultBands(figures, data.seconds, top, bottom - top, node);
  body += `<text x="5" y="${top + 12}" font-size="13" font-weight="bold">n${node}</text>`;
  body += `<text x="${LEFT - 4}" y="${top + 8}" font-size="9" text-anchor="end">${maxRate}/s</text><text x="${WIDTH - RIGHT + 2}" y="${top + 8}" font-size="9">${maxLatency}ms</text>`;
  body += `<path d="${path(data.p99[node]!, yLatency)}" fill="none" stroke="#1f77b4" stroke-width="0.8" opacity="0.8"/>`;
  body += `<path d="${path(data.acked[node]!, yRate)}" fill="none" stroke="#1a7f37" stroke-width="1.3"/>`;
  body += `<path d="${path(data.failed[node]!, yRate)}" fill="none" stroke="#c62828" stroke-width="1.1"/>`;
  body += timeAxis(data.seconds, bottom);
  return `<svg width="${WIDTH + 40}" height="${height}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const head = headers.map((header) => `<th>${escape(header)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escape(String(cell))}</td>`).join('')}</tr>`).join('');
  return `<table><tr>${head}</tr>${body}</table>`;
}

export function writeReport(figures: RunFigures): string {
  const data = series(figures);
  const check = figures.check;
  const lost = check.violations.length;
  const verdict =
    lost === 0 && figures.internalErrors.every((count) => count === 0) && figures.identicalDumps && figures.crashes.length === 0 && figures.badStops.length === 0 && figures.convergenceMs !== null && figures.convergenceMs <= figures.convergenceGoalMs;
  const byKind = new Map<string, number>();
  for (const event of figures.events) byKind.set(event.kind, (byKind.get(event.kind) ?? 0) + 1);
  const outcome = (op: OpLine['op'], o: OpLine['o']) => figures.ops.filter((line) => line.op === op && line.o === o).length;
  const opRows = (['set', 'incr', 'del', 'wait', 'get'] as const).map((op) => [op, outcome(op, 'ok'), outcome(op, 'fail'), outcome(op, 'unknown')]);
  const waits = figures.ops.filter((op) => op.op === 'wait' && op.o === 'ok');
  const waitHistogram = [0, 1, 2, 3, 4].map((replicas) => waits.filter((op) => op.r === replicas).length);
  const legendKinds = Object.entries(KIND_COLORS)
    .map(([kind, color]) => `<span class="chip" style="background:${color}"></span>${escape(kind)} (${byKind.get(kind) ?? 0})`)
    .join(' &nbsp; ');
  const legendNodes = Array.from({ length: figures.nodes }, (_, node) => `<span class="chip" style="background:${NODE_COLORS[node]}"></span>n${node}`).join(' &nbsp; ');
  const allLatencies = figures.ops.filter((op) => op.o === 'ok').map((op) => op.t1 - op.t0).sort((a, b) => a - b);
  const quantile = (q: number) => (allLatencies.length === 0 ? 0 : allLatencies[Math.min(allLatencies.length - 1, Math.floor(allLatencies.length * q))]!);
  const durationS = (figures.loadEndMs - figures.runStartMs) / 1000;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>peerkv chaos run (seed ${figures.seed})</title>
<style>
body{font-family:system-ui,sans-serif;margin:20px;color:#222}
h1{margin-bottom:4px} .ok{color:#1a7f37} .bad{color:#c62828}
table{border-collapse:collapse;margin:8px 0 16px} td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:left}
.chip{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.small{font-size:12px;color:#555} pre{font-size:12px;background:#f6f6f6;padding:6px;overflow:auto}
</style></head><body>
<h1>peerkv chaos run: <span class="${verdict ? 'ok' : 'bad'}">${verdict ? 'nothing lost, replicas identical' : 'PROBLEMS FOUND'}</span></h1>
<p class="small">${figures.nodes} nodes, seed ${figures.seed}, ${figures.events.length - 1} fault events and a final split over ${durationS.toFixed(0)} s of load, ${new Date(figures.runStartMs).toISOString()}.
Hover a fault for its details. The kernel of this machine has no sch_netem: delay and loss are a token-bucket (tbf) queue, and duplication is not injected.</p>
<table>
<tr><th>acknowledged writes lost or undone</th><td class="${lost === 0 ? 'ok' : 'bad'}">${lost} (of ${check.ackedWrites} acknowledged writes: ${check.ackedUniqueWrites} unique SETs, ${check.ackedHotWrites} hot-key SETs, ${check.ackedDeletes} DELs, ${check.ackedIncrements} INCRs)</td></tr>
<tr><th>replicas identical after heal</th><td class="${figures.convergenceMs !== null && figures.convergenceMs <= figures.convergenceGoalMs ? 'ok' : 'bad'}">${figures.convergenceMs === null ? 'never' : `${figures.convergenceMs} ms`} (goal ${figures.convergenceGoalMs} ms) after the final split, whose sides ${figures.divergedAtHeal ? 'had diverged' : 'had not diverged'}; sorted dumps ${figures.identicalDumps ? 'identical' : 'DIFFER'} (${figures.dumps.map((dump) => dump.keys ?? dump.error).join(' / ')} keys); Merkle root ${escape(figures.roots[0] ?? '')}</td></tr>
<tr><th>crashes not caused by the nemesis</th><td class="${figures.crashes.length === 0 ? 'ok' : 'bad'}">${figures.crashes.length}${figures.crashes.map((crash) => ` n${crash.node} code=${crash.code} signal=${crash.signal}`).join(',')}</td></tr>
<tr><th>graceful stops not exiting 0</th><td class="${figures.badStops.length === 0 ? 'ok' : 'bad'}">${figures.badStops.length}${figures.badStops.map((stop) => ` n${stop.node} code=${stop.code} signal=${stop.signal}`).join(',')}</td></tr>
<tr><th>internal errors (INFO, since last start)</th><td class="${figures.internalErrors.every((count) => count === 0) ? 'ok' : 'bad'}">${figures.internalErrors.join(' / ')}</td></tr>
<tr><th>latency of acknowledged operations</th><td>p50 ${quantile(0.5)} ms, p99 ${quantile(0.99)} ms, max ${quantile(1)} ms</td></tr>
</table>
<h2>Faults per node</h2>
<p class="small">${legendKinds}. A split colours both sides: the minority dark, the majority light.</p>
${faultTimeline(figures, data.seconds)}
<h2>Each node: throughput and latency against its faults</h2>
<p class="small"><span class="chip" style="background:#1a7f37"></span>acknowledged ops/s &nbsp; <span class="chip" style="background:#c62828"></span>failed or unknown ops/s (same left scale) &nbsp; <span class="chip" style="background:#1f77b4"></span>p99 latency of acknowledged ops (log scale, right). The node's own faults (and every split) are shaded in their colour; hover for details.</p>
${Array.from({ length: figures.nodes }, (_, node) => nodeStrip(figures, data, node)).join('\n')}
<h2>All nodes together</h2>
<p class="small">${legendNodes}. Every fault shaded.</p>
${lineChart(figures, data.seconds, data.acked, 'acknowledged ops/s', false)}
${lineChart(figures, data.seconds, data.p99, 'p99 latency ms (log scale)', true)}
<h2>What was lost</h2>
${
  lost === 0
    ? '<p class="ok">Nothing: every acknowledged write is present or legitimately superseded, no deleted key came back, every counter is within [acknowledged, attempted].</p>'
    : table(['kind', 'key', 'detail'], check.violations.slice(0, 500).map((violation) => [violation.kind, violation.key, violation.detail]))
}
<h2>Counters</h2>
${table(['key', 'acknowledged INCRs', 'attempted (acknowledged + unknown)', 'final value'], Object.entries(check.counters).map(([key, counter]) => [key, counter.acked, counter.attempted, counter.value ?? '(absent)']))}
<h2>Operations</h2>
${table(['command', 'acknowledged', 'failed (surely not applied)', 'unknown (timeout, connection lost)'], opRows)}
<p class="small">WAIT 2 500 after a SET, replicas reached: ${waitHistogram.map((count, replicas) => `${replicas}${replicas === 4 ? '' : ''}: ${count}`).join(', ')}.</p>
<h2>Node logs</h2>
${table(['node', 'error lines', 'fatal lines', 'non-JSON lines'], figures.logs.map((entry) => [`n${entry.node}`, entry.errors, entry.fatal.length, entry.foreign.length]))}
${figures.logs.flatMap((entry) => [...entry.fatal, ...entry.foreign].map((line) => `<pre>n${entry.node}: ${escape(line)}</pre>`)).join('')}
<h2>Fault events</h2>
${table(['#', 'start (s)', 'duration (ms)', 'kind', 'what', 'harness error'], figures.events.map((event) => [event.number, ((event.startMs - figures.runStartMs) / 1000).toFixed(1), event.endMs - event.startMs, event.kind, event.detail, event.error ?? '']))}
</body></html>
`;
}
