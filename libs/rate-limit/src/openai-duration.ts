/**
 * A duration the way OpenAI writes its `x-ratelimit-reset-*` headers (Go's `time.Duration` format, to the
 * millisecond): `0s`, `12ms`, `1s`, `59.2s`, `1m30s`, `6m0s`, `1h0m0s`. Fractions of a millisecond round up, so a
 * client that waits the stated time is never early.
 */
export function formatOpenAiDuration(ms: number): string {
  const total = Number.isFinite(ms) ? Math.max(0, Math.ceil(ms)) : 0;
  if (total === 0) return '0s';
  if (total < 1_000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const millis = total % 60_000;
  const seconds = `${Math.floor(millis / 1_000)}${millis % 1_000 ? `.${String(millis % 1_000).padStart(3, '0')}`.replace(/0+$/, '') : ''}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}
