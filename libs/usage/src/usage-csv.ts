import type { UsageReportRow } from './usage-report-row';

/** What a spreadsheet reads as the start of a formula (OWASP "CSV injection"): `=`, `+`, `-`, `@`, tab, CR. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell. Text that would start a formula gets a leading `'` so spreadsheets show it as text (a model name
 * `=HYPERLINK(…)` comes from a client); numbers are ours and written as they are. Then RFC 4180: a cell with a
 * comma, quote, CR or LF is quoted, its quotes doubled.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const CSV_COLUMNS: ReadonlyArray<keyof UsageReportRow> = [
  'group',
  'requests',
  'errors',
  'promptTokens',
  'completionTokens',
  'totalTokens',
  'costRub',
  'latencyP50Ms',
  'latencyP95Ms',
  'latencyP99Ms',
];

/** Report rows as CSV with a header line; lines end in CRLF. */
export function usageCsv(rows: readonly UsageReportRow[]): string {
  const lines = [CSV_COLUMNS.join(','), ...rows.map((row) => CSV_COLUMNS.map((c) => csvField(row[c])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
