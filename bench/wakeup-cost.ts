// What a server's main thread spends per request when requests arrive paced, a few per
// event-loop wake-up or one each: the bare Node.js baseline server against a lone peerkv
// node, same run. At a low rate every request wakes an idle process; on this project's VMs
// that wake-up costs a bare Node.js process more than the request itself (cold caches, the
// event loop's own turn), and a replica wakes that way for every replicate frame it gets
// and again for its commit. The cluster figures (delay, 3-node throughput) read with this.
import { createConnection, type Socket } from 'node:net';
import { formatCount, formatRatio } from './format.js';
import { sleep, threadCpuUs } from './processes.js';
import { encodeCommand } from './resp-client.js';
import { startNodeBaseline, startPeerkv, stopServer, type Server } from './servers.js';

/** Request rates measured: a replica at -c 50 gets ~500 frames/s, the delay run ~10,000 writes/s. */
export const WAKEUP_RATES_PER_SECOND: readonly number[] = [500, 2_000, 10_000];
const WAKEUP_SECONDS = 4;
/** Before the measured rates, each server answers this long at the highest rate (JIT warm). */
const WARMUP_SECONDS = 1;
/** Pacing timer; each tick writes the requests that are due in one socket write. */
const PACE_INTERVAL_MS = 1;
const VALUE_BYTES = 100;
const REPLY_TIMEOUT_MS = 10_000;

export interface WakeupCost {
  readonly ratePerSecond: number;
  /** Main-thread CPU (utime + stime, 10-ms ticks) per request, in us. */
  readonly baselineUs: number;
  readonly peerkvUs: number;
}

/** Paced SETs of distinct keys to `port`; the main thread's CPU per request (us) while they are answered. */
async function pacedCpuPerRequest(server: Server, ratePerSecond: number, seconds: number): Promise<number> {
  const total = ratePerSecond * seconds;
  const socket: Socket = createConnection({ host: '127.0.0.1', port: server.port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setNoDelay(true);
  let replies = 0;
  // Every reply to a SET is +OK or an error line: count line ends.
  socket.on('data', (chunk: Buffer) => {
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, index + 1)) replies++;
  });
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  const pid = server.child.pid;
  const cpuBeforeUs = threadCpuUs(pid);
  const startedMs = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - startedMs) * ratePerSecond) / 1000));
      const commands: Buffer[] = [];
      for (; sent < due; sent++) commands.push(encodeCommand(['SET', `wakeup:${ratePerSecond}:${seconds}:${sent}`, value]));
      if (commands.length > 0) socket.write(Buffer.concat(commands));
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, PACE_INTERVAL_MS);
  });
  const deadline = performance.now() + REPLY_TIMEOUT_MS;
  while (replies < total && performance.now() < deadline) await sleep(5);
  const cpuUs = threadCpuUs(pid) - cpuBeforeUs;
  socket.destroy();
  if (replies < total) throw new Error(`${server.name}: ${replies} of ${total} replies`);
  return cpuUs / total;
}

/** Per rate, baseline and peerkv measured one after the other (each server fresh and warmed alike). */
export async function measureWakeupCost(): Promise<WakeupCost[]> {
  const baseline = await startNodeBaseline('wakeup-baseline');
  let peerkv: Server | undefined;
  try {
    peerkv = await startPeerkv({ name: 'wakeup-peerkv' });
    const warmupRate = Math.max(...WAKEUP_RATES_PER_SECOND);
    for (const server of [baseline, peerkv]) await pacedCpuPerRequest(server, warmupRate, WARMUP_SECONDS);
    const costs: WakeupCost[] = [];
    for (const ratePerSecond of WAKEUP_RATES_PER_SECOND) {
      const baselineUs = await pacedCpuPerRequest(baseline, ratePerSecond, WAKEUP_SECONDS);
      const peerkvUs = await pacedCpuPerRequest(peerkv, ratePerSecond, WAKEUP_SECONDS);
      costs.push({ ratePerSecond, baselineUs, peerkvUs });
    }
    return costs;
  } finally {
    await stopServer(baseline);
    if (peerkv !== undefined) await stopServer(peerkv);
  }
}

export function formatWakeupCosts(costs: readonly WakeupCost[]): string {
  return costs
    .map((cost) => `${formatCount(cost.ratePerSecond)}/s: ${cost.peerkvUs.toFixed(0)} / ${cost.baselineUs.toFixed(0)} us (${formatRatio(cost.peerkvUs / cost.baselineUs)})`)
    .join('; ');
}
