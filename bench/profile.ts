// Summarises a V8 .cpuprofile (node --cpu-prof) into the functions with the most self time.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTimeRow {
  readonly location: string;
  readonly selfMs: number;
  /** Share of the busy (non-idle) time of the main thread. */
  readonly percent: number;
}

export function findCpuProfiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(dir, name));
  } catch {
    return [];
  }
}

export function topSelfTime(profilePath: string, rootDir: string, count: number): SelfTimeRow[] {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const locationById = new Map<number, string>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const file = frame.url.startsWith('file://') ? relative(rootDir, frame.url.slice('file://'.length)) : frame.url;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    locationById.set(node.id, file === '' ? name : `${name} ${file}:${frame.lineNumber + 1}`);
  }
  const microsByLocation = new Map<string, number>();
  let busyMicros = 0;
  profile.samples.forEach((nodeId, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const location = locationById.get(nodeId) ?? '(unknown)';
    // Idle is the event loop waiting (for clients, or for LMDB's writer thread): not CPU spent.
    if (location === '(idle)') return;
    microsByLocation.set(location, (microsByLocation.get(location) ?? 0) + delta);
    busyMicros += delta;
  });
  const totalMicros = busyMicros;
  return [...microsByLocation.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, count)
    .map(([location, micros]) => ({ location, selfMs: micros / 1000, percent: totalMicros === 0 ? 0 : (100 * micros) / totalMicros }));
}
