import type { Principal } from '@xrouter/auth';
import type { LimitCheck, LimitCheckResult, LimitsResult } from '@xrouter/store';
import { formatOpenAiDuration } from './openai-duration';
import type { RateLimitSettings } from './rate-limit.config';

/** RPM and TPM windows are one minute long, starting with their first hit (fixed windows). */
export const MINUTE_MS = 60_000;

/** The limits that apply to one credential; null = that limit does not apply. */
export interface EffectiveLimits {
  rpm: number | null;
  tpm: number | null;
  perSecond: { ratePerSec: number; burst: number } | null;
}

/** Which limit a store check stands for. `rpm` and `burst` limit requests, `tpm` limits tokens. */
export type LimitName = 'rpm' | 'burst' | 'tpm';

export interface PlannedCheck {
  readonly name: LimitName;
  readonly check: LimitCheck;
}

/** What the limiter concluded, with the `x-ratelimit-*` headers to send either way. */
export type RateLimitDecision =
  | { allowed: true; headers: Record<string, string> }
  | {
      allowed: false;
      /** The limit with the longest wait (the one the message names). */
      refusedBy: LimitName;
      /** The metric label: which kind of limit refused. */
      kind: 'requests' | 'tokens';
      /** How long until every refusing limit lets the request through. */
      retryAfterMs: number;
      message: string;
      headers: Record<string, string>;
    };

/** The key's own limits, or the configured defaults where the key has none. */
export function effectiveLimits(
  principal: Pick<Principal, 'rpmLimit' | 'tpmLimit'>,
  settings: RateLimitSettings,
): EffectiveLimits {
  return {
    rpm: principal.rpmLimit ?? settings.defaultRpm,
    tpm: principal.tpmLimit ?? settings.defaultTpm,
    perSecond: settings.perSecond,
  };
}

/**
 * The store keys of one credential. The id (never the secret) sits in a `{hash tag}`, so a Redis Cluster keeps the
 * three on one slot and one script can decide them together. Braces in an id are escaped to keep the tag intact.
 */
export function rateLimitKeys(credentialId: string): Record<LimitName, string> {
  const tag = credentialId.replace(/[{}]/g, (brace) => (brace === '{' ? '%7B' : '%7D'));
  return { rpm: `rl:{${tag}}:rpm`, burst: `rl:{${tag}}:burst`, tpm: `rl:{${tag}}:tpm` };
}

/** The store checks for one request: the RPM window and the per-second bucket count it; the TPM cap only reads. */
export function planChecks(credentialId: string, limits: EffectiveLimits): PlannedCheck[] {
  const keys = rateLimitKeys(credentialId);
  const planned: PlannedCheck[] = [];
  if (limits.rpm !== null) {
    planned.push({
      name: 'rpm',
      check: { type: 'window', key: keys.rpm, cost: 1, limit: limits.rpm, windowMs: MINUTE_MS },
    });
  }
  if (limits.perSecond) {
    planned.push({ name: 'burst', check: { type: 'bucket', key: keys.burst, cost: 1, ...limits.perSecond } });
  }
  if (limits.tpm !== null) {
    planned.push({ name: 'tpm', check: { type: 'cap', key: keys.tpm, limit: limits.tpm } });
  }
  return planned;
}

function limitValue(name: LimitName, limits: EffectiveLimits): number {
  switch (name) {
    case 'rpm':
      return limits.rpm ?? 0;
    case 'burst':
      return limits.perSecond?.burst ?? 0;
    case 'tpm':
      return limits.tpm ?? 0;
  }
}

function describeLimit(name: LimitName, limits: EffectiveLimits): string {
  switch (name) {
    case 'rpm':
      return `requests per minute (RPM) on this key: limit ${limits.rpm}`;
    case 'burst':
      return `requests per second on this key: ${limits.perSecond?.ratePerSec}/s with bursts of ${limits.perSecond?.burst}`;
    case 'tpm':
      return `tokens per minute (TPM) on this key: limit ${limits.tpm}`;
  }
}

type Evaluated = PlannedCheck & { state: LimitCheckResult };

/**
 * The request limit the headers describe: on a refusal the refusing one with the longest wait (so
 * `remaining-requests` is 0 and `reset-requests` is honest), otherwise the tightest one (fewest remaining; the RPM
 * window on a tie). One set of `-requests` headers cannot describe two limits, so it describes the one that binds.
 */
function reportedRequestLimit(evaluated: readonly Evaluated[]): Evaluated | undefined {
  const requests = evaluated.filter((e) => e.name !== 'tpm');
  const refused = requests.filter((e) => !e.state.allowed);
  if (refused.length > 0) {
    return refused.reduce((a, b) => (b.state.retryAfterMs > a.state.retryAfterMs ? b : a));
  }
  return requests.reduce<Evaluated | undefined>(
    (a, b) => (a === undefined || b.state.remaining < a.state.remaining ? b : a),
    undefined,
  );
}

/** OpenAI's `x-ratelimit-*` headers (the `-tokens` trio only when a token limit applies), and the 429 if refused. */
export function decide(
  planned: readonly PlannedCheck[],
  limits: EffectiveLimits,
  result: LimitsResult,
): RateLimitDecision {
  const evaluated: Evaluated[] = planned.map((p, i) => ({ ...p, state: result.checks[i] }));
  const headers: Record<string, string> = {};
  const requests = reportedRequestLimit(evaluated);
  if (requests) {
    headers['x-ratelimit-limit-requests'] = String(limitValue(requests.name, limits));
    headers['x-ratelimit-remaining-requests'] = String(requests.state.remaining);
    headers['x-ratelimit-reset-requests'] = formatOpenAiDuration(requests.state.resetMs);
  }
  const tokens = evaluated.find((e) => e.name === 'tpm');
  if (tokens) {
    headers['x-ratelimit-limit-tokens'] = String(limitValue('tpm', limits));
    headers['x-ratelimit-remaining-tokens'] = String(tokens.state.remaining);
    headers['x-ratelimit-reset-tokens'] = formatOpenAiDuration(tokens.state.resetMs);
  }
  if (result.allowed) return { allowed: true, headers };

  const refused = evaluated.filter((e) => !e.state.allowed);
  // A store that refuses without naming a limit would be a bug; fall back to the first check rather than crash.
  const binding = refused.length
    ? refused.reduce((a, b) => (b.state.retryAfterMs > a.state.retryAfterMs ? b : a))
    : evaluated[0];
  const retryAfterMs = Math.max(1, binding.state.retryAfterMs);
  headers['retry-after-ms'] = String(retryAfterMs);
  return {
    allowed: false,
    refusedBy: binding.name,
    kind: binding.name === 'tpm' ? 'tokens' : 'requests',
    retryAfterMs,
    message:
      `Rate limit reached for ${describeLimit(binding.name, limits)}. ` +
      `Please try again in ${formatOpenAiDuration(retryAfterMs)}.`,
    headers,
  };
}
