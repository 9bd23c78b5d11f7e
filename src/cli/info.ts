// Reading the INFO reply (DESIGN.md section 1, "# Cluster") into what `members` and
// `status` print. Pure functions of the INFO text, so they are tested without a node.

/** INFO fields by lowercase section name ("cluster", "server", ...), then by field. */
export type InfoSections = Map<string, Map<string, string>>;

export function parseInfo(text: string): InfoSections {
  const sections: InfoSections = new Map();
  let current = new Map<string, string>();
  sections.set('', current);
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const name = line.slice(1).trim().toLowerCase();
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) current.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return sections;
}

/** A field from any section (field names are unique across INFO sections in practice). */
export function infoField(info: InfoSections, field: string): string | undefined {
  for (const section of info.values()) {
    const value = section.get(field);
    if (value !== undefined) return value;
  }
  return undefined;
}

export interface MemberRow {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly state: string;
  /** Milliseconds since we last heard from it; undefined when INFO does not say. */
  readonly lastSeenAgoMs: number | undefined;
}

/**
 * Values above this are absolute epoch milliseconds (1 Jan 2001 onward), below it an age.
 * INFO's last_seen_ms may be either, depending on the server version; both read the same.
 */
const EPOCH_MS_MIN = 978_307_200_000;

/** member<N>:id=..,name=..,addr=..,state=..,last_seen_ms=.. lines, in N order. */
export function parseMembers(info: InfoSections, nowMs: number): MemberRow[] {
  const cluster = info.get('cluster') ?? new Map<string, string>();
  const entries: { index: number; fields: Map<string, string> }[] = [];
  for (const [field, value] of cluster) {
    const match = /^member(\d+)$/.exec(field);
    if (!match) continue;
    entries.push({ index: Number(match[1]), fields: parseMemberFields(value) });
  }
  entries.sort((left, right) => left.index - right.index);
  return entries.map(({ fields }) => {
    const lastSeenText = fields.get('last_seen_ms');
    const lastSeen = lastSeenText !== undefined && /^\d+$/.test(lastSeenText) ? Number(lastSeenText) : undefined;
    return {
      id: fields.get('id') ?? '',
      name: fields.get('name') ?? '',
      address: fields.get('addr') ?? '',
      state: fields.get('state') ?? 'unknown',
      lastSeenAgoMs: lastSeen === undefined ? undefined : lastSeen >= EPOCH_MS_MIN ? Math.max(0, nowMs - lastSeen) : lastSeen,
    };
  });
}

function parseMemberFields(value: string): Map<string, string> {
  // Split on ",key=" only, so a comma inside a node name does not break the other fields.
  const fields = new Map<string, string>();
  const pattern = /(?:^|,)([a-z_]+)=/g;
  const starts: { key: string; valueStart: number; matchStart: number }[] = [];
  for (let match = pattern.exec(value); match; match = pattern.exec(value)) {
    starts.push({ key: match[1]!, valueStart: match.index + match[0].length, matchStart: match.index });
  }
  starts.forEach((start, index) => {
    const end = index + 1 < starts.length ? starts[index + 1]!.matchStart : value.length;
    fields.set(start.key, value.slice(start.valueStart, end));
  });
  return fields;
}

export function formatAgo(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 10_000) return `${Math.round(ms)} ms ago`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

export function formatDuration(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  const rest = Math.floor(seconds % 60);
  if (days > 0) return `${days}d ${hours}h ${minutes}m`;
  if (hours > 0) return `${hours}h ${minutes}m ${rest}s`;
  if (minutes > 0) return `${minutes}m ${rest}s`;
  return `${rest}s`;
}

/** Left-aligned columns separated by two spaces, header first. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Key count of db0 from "# Keyspace" (db0:keys=N,expires=M,...), 0 when absent. */
export function keyCount(info: InfoSections): number {
  const db0 = info.get('keyspace')?.get('db0');
  const match = db0 === undefined ? null : /(?:^|,)keys=(\d+)/.exec(db0);
  return match ? Number(match[1]) : 0;
}
