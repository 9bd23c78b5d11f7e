// Runs redis-benchmark against a port and parses its --csv output into requests/s per test.
import { execFile } from 'node:child_process';

/** A redis-benchmark run that takes longer than this is stuck (a server stopped answering). */
const REDIS_BENCHMARK_TIMEOUT_MS = 180_000;

export interface BenchmarkRow {
  /** Test name as redis-benchmark prints it, e.g. "SET" or "GET". */
  readonly test: string;
  readonly requestsPerSecond: number;
  readonly p50LatencyMs: number;
  readonly p99LatencyMs: number;
}

export function runRedisBenchmark(port: number, args: readonly string[]): Promise<BenchmarkRow[]> {
  // --csv before the caller's arguments: after a custom command it would be one of its arguments.
  const fullArgs = ['-h', '127.0.0.1', '-p', String(port), '--csv', ...args];
  return new Promise((resolve, reject) => {
    execFile('redis-benchmark', fullArgs, { timeout: REDIS_BENCHMARK_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`redis-benchmark ${fullArgs.join(' ')} failed: ${error.message}\n${stderr}`));
        return;
      }
      const rows = parseBenchmarkCsv(stdout);
      if (rows.length === 0) reject(new Error(`redis-benchmark printed no CSV rows:\n${stdout}\n${stderr}`));
      else resolve(rows);
    });
  });
}

/** Parses redis-benchmark 6/7 CSV: a header line naming the columns, then one quoted row per test. */
export function parseBenchmarkCsv(text: string): BenchmarkRow[] {
  const lines = text.split(/\r?\n/).filter((line) => line.startsWith('"'));
  if (lines.length === 0) return [];
  const split = (line: string) => line.split('","').map((cell) => cell.replace(/^"|"$/g, ''));
  const header = split(lines[0]!);
  const hasHeader = header[0] === 'test';
  const column = (name: string, fallback: number) => (hasHeader ? header.indexOf(name) : fallback);
  const rpsColumn = column('rps', 1);
  const p50Column = column('p50_latency_ms', -1);
  const p99Column = column('p99_latency_ms', -1);
  const rows: BenchmarkRow[] = [];
  for (const line of hasHeader ? lines.slice(1) : lines) {
    const cells = split(line);
    const number = (index: number) => (index < 0 ? Number.NaN : Number(cells[index]));
    rows.push({
      test: cells[0]!,
      requestsPerSecond: number(rpsColumn),
      p50LatencyMs: number(p50Column),
      p99LatencyMs: number(p99Column),
    });
  }
  return rows;
}
