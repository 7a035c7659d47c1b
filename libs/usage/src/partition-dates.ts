import { REQUEST_LOGS_TABLE } from './usage.constants';

const DAY_MS = 86_400_000;
const DAY_SUFFIX = /^(\d{4})(\d{2})(\d{2})$/;

/** Midnight UTC of the day `date` falls on. */
export function utcDay(date: Date): Date {
  return new Date(Math.floor(date.getTime() / DAY_MS) * DAY_MS);
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

/** `YYYY-MM-DD` of the UTC day, the only form a day takes in SQL the service writes. */
export function isoDay(date: Date): string {
  return utcDay(date).toISOString().slice(0, 10);
}

/** `<table>_YYYYMMDD` (`request_logs_YYYYMMDD` by default) for the UTC day `date` falls on. */
export function partitionName(date: Date, table: string = REQUEST_LOGS_TABLE): string {
  return `${table}_${isoDay(date).replaceAll('-', '')}`;
}

/** The day partition's range: `[from, to)`, UTC midnight to the next UTC midnight. */
export function partitionBounds(date: Date): { from: Date; to: Date } {
  const from = utcDay(date);
  return { from, to: addDays(from, 1) };
}

/** The UTC day a `<table>_YYYYMMDD` name stands for; null for any other name (the DEFAULT partition too). */
export function partitionDay(name: string, table: string = REQUEST_LOGS_TABLE): Date | null {
  const match = name.startsWith(`${table}_`) ? DAY_SUFFIX.exec(name.slice(table.length + 1)) : null;
  if (!match) return null;
  const [, year, month, day] = match;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return isoDay(date) === `${year}-${month}-${day}` ? date : null;
}

/** Today and the next `aheadDays` days, as UTC midnights. */
export function daysToCreate(today: Date, aheadDays: number): Date[] {
  const first = utcDay(today);
  return Array.from({ length: aheadDays + 1 }, (_, i) => addDays(first, i));
}

/** The first instant kept: midnight UTC `retentionDays` days before today. Older rows are past retention. */
export function retentionCutoff(today: Date, retentionDays: number): Date {
  return addDays(utcDay(today), -retentionDays);
}

/**
 * Day partitions wholly older than the retention window, oldest first: a partition for day D goes once
 * D < today − retentionDays (so with 90 days, today's and the 90 previous days' partitions stay). Names that are
 * not day partitions (the DEFAULT one, anything else) are never returned.
 */
export function partitionsToDrop(
  existing: readonly string[],
  today: Date,
  retentionDays: number,
  table: string = REQUEST_LOGS_TABLE,
): string[] {
  const cutoff = retentionCutoff(today, retentionDays).getTime();
  return existing
    .map((name) => ({ name, day: partitionDay(name, table) }))
    .filter((p): p is { name: string; day: Date } => p.day !== null && p.day.getTime() < cutoff)
    .sort((a, b) => a.day.getTime() - b.day.getTime())
    .map((p) => p.name);
}

/** Milliseconds from `now` to the next daily run, five minutes past midnight UTC. */
export function msUntilNextRun(now: Date, offsetMs = 5 * 60_000): number {
  const todayRun = utcDay(now).getTime() + offsetMs;
  const next = now.getTime() < todayRun ? todayRun : todayRun + DAY_MS;
  return next - now.getTime();
}
