// What a server's main thread spends per request when requests arrive paced, a few per
// event-loop wake-up or one each: the bare Node.js baseline server against a lone peerkv
// node, same run. At a low rate every request wakes an idle process; on this project's VMs
// that wake-up costs a bare Node.js process more than the request itself (cold caches, the
// event loop's own turn), and a replica wakes that way for every replicate frame it gets
// and again for its commit. The cluster figures (delay, 3-node throughput) read with this.
import { formatCount, formatRatio } from './format.js';
import { threadCpuUs } from './processes.js';
import { paceWrites } from './replication-delay.js';
import { RespConnection } from './resp-client.js';
import { startNodeBaseline, startPeerkv, stopServer, type Server } from './servers.js';

/** Request rates measured: a replica at -c 50 gets ~500 frames/s, the delay run ~10,000 writes/s. */
export const WAKEUP_RATES_PER_SECOND: readonly number[] = [500, 2_000, 10_000];
const WAKEUP_SECONDS = 4;
/** Before the measured rates, each server answers this long at the highest rate (JIT warm). */
const WARMUP_SECONDS = 1;

export interface WakeupCost {
  readonly ratePerSecond: number;
  /** Main-thread CPU (utime + stime, 10-ms ticks) per request, in us. */
  readonly baselineUs: number;
  readonly peerkvUs: number;
}

/** Paced SETs of distinct keys on one connection (replication-delay.ts's pacing); the main thread's CPU per request (us) while they are answered. */
async function pacedCpuPerRequest(server: Server, ratePerSecond: number, seconds: number): Promise<number> {
  const total = ratePerSecond * seconds;
  const writer = await RespConnection.connect(server.port);
  try {
    const cpuBeforeUs = threadCpuUs(server.child.pid);
    const { errors } = await paceWrites(writer, `wakeup:${ratePerSecond}:${seconds}:`, total, ratePerSecond, new Float64Array(total), { acked: 0, done: false });
    const cpuUs = threadCpuUs(server.child.pid) - cpuBeforeUs;
    if (errors > 0) throw new Error(`${server.name}: ${errors} of ${total} SETs failed`);
    return cpuUs / total;
  } finally {
    writer.close();
  }
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
