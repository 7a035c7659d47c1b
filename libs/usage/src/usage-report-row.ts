/** One line of a usage report: the totals of one group. */
export interface UsageReportRow {
  /** Key id, user id, model, provider, `YYYY-MM-DD` (UTC) or `all`; null for rows without one (no key, no provider). */
  group: string | null;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Exact decimal RUB, 9 fractional digits. */
  costRub: string;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
}
