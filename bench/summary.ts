// What each benchmark part hands back for the final Markdown summary.

export interface SummaryRow {
  readonly benchmark: string;
  readonly result: string;
  readonly goal: string;
  /** undefined: no goal, or the measurement was skipped. */
  readonly met: boolean | undefined;
}

export interface PartResult {
  readonly rows: SummaryRow[];
  /** One-line remarks printed under the summary table (how a figure was taken, what was skipped). */
  readonly notes: string[];
}

export function emptyPart(): PartResult {
  return { rows: [], notes: [] };
}

export function skippedRow(benchmark: string, goal: string, reason: string): SummaryRow {
  return { benchmark, result: `skipped: ${reason}`, goal, met: undefined };
}
