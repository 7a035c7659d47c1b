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

/**
 * Which limit a store check stands for. `rpm` and `burst` limit requests, `tpm` limits tokens; `pool_rpm` and
 * `pool_tpm` are the limits of a key above the caller, shared by that key and every key it made.
 */
export type LimitName = 'rpm' | 'burst' | 'tpm' | 'pool_rpm' | 'pool_tpm';

/** A key above the caller whose limits its requests count against too. */
export interface LimitPool {
  readonly id: string;
  readonly rpm: number | null;
  readonly tpm: number | null;
}

export interface PlannedCheck {
  readonly name: LimitName;
  readonly check: LimitCheck;
  /** The issuing key a `pool_*` check stands for. */
  readonly pool?: LimitPool;
}

const isTokenLimit = (name: LimitName): boolean => name === 'tpm' || name === 'pool_tpm';

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

const escapeBraces = (id: string) => id.replace(/[{}]/g, (brace) => (brace === '{' ? '%7B' : '%7D'));

/**
 * The store keys of one credential. The `{hash tag}` is the root of its key tree (the key itself for a root key), so
 * a Redis Cluster keeps a key's counters and those of every key above it on one slot and one script can decide them
 * together; a root key's are `rl:{id}:rpm`, another's `rl:{root}:id:rpm`. Ids, never secrets; braces are escaped.
 */
export function rateLimitKeys(credentialId: string, tag = credentialId): Record<'rpm' | 'burst' | 'tpm', string> {
  const base =
    tag === credentialId ? `rl:{${escapeBraces(tag)}}` : `rl:{${escapeBraces(tag)}}:${escapeBraces(credentialId)}`;
  return { rpm: `${base}:rpm`, burst: `${base}:burst`, tpm: `${base}:tpm` };
}

/**
 * The limits of the keys above a caller — their own, or the configured defaults where they have none — as the pools
 * its requests count against: making keys never multiplies a limit, the defaults' included.
 */
export function limitPools(
  principal: Pick<Principal, 'issuers'>,
  settings: Pick<RateLimitSettings, 'defaultRpm' | 'defaultTpm'>,
): LimitPool[] {
  return principal.issuers
    .map((key) => ({ id: key.id, rpm: key.rpmLimit ?? settings.defaultRpm, tpm: key.tpmLimit ?? settings.defaultTpm }))
    .filter((pool) => pool.rpm !== null || pool.tpm !== null);
}

/** The hash tag of a caller's counters: the root of its key tree. */
export function limitTag(principal: Pick<Principal, 'credentialId' | 'issuers'>): string {
  return principal.issuers[0]?.id ?? principal.credentialId;
}

/**
 * The store checks for one request: the RPM window and the per-second bucket count it; the TPM cap only reads. Then
 * the same for every pool above the caller (its windows count the request too, its caps only read).
 */
export function planChecks(
  credentialId: string,
  limits: EffectiveLimits,
  pools: readonly LimitPool[] = [],
  tag = credentialId,
): PlannedCheck[] {
  const keys = rateLimitKeys(credentialId, tag);
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
  for (const pool of pools) {
    const poolKeys = rateLimitKeys(pool.id, tag);
    if (pool.rpm !== null) {
      planned.push({
        name: 'pool_rpm',
        pool,
        check: { type: 'window', key: poolKeys.rpm, cost: 1, limit: pool.rpm, windowMs: MINUTE_MS },
      });
    }
    if (pool.tpm !== null) {
      planned.push({ name: 'pool_tpm', pool, check: { type: 'cap', key: poolKeys.tpm, limit: pool.tpm } });
    }
  }
  return planned;
}

function limitValue(planned: PlannedCheck, limits: EffectiveLimits): number {
  switch (planned.name) {
    case 'rpm':
      return limits.rpm ?? 0;
    case 'burst':
      return limits.perSecond?.burst ?? 0;
    case 'tpm':
      return limits.tpm ?? 0;
    case 'pool_rpm':
      return planned.pool?.rpm ?? 0;
    case 'pool_tpm':
      return planned.pool?.tpm ?? 0;
  }
}

function describeLimit(planned: PlannedCheck, limits: EffectiveLimits): string {
  switch (planned.name) {
    case 'rpm':
      return `requests per minute (RPM) on this key: limit ${limits.rpm}`;
    case 'burst':
      return `requests per second on this key: ${limits.perSecond?.ratePerSec}/s with bursts of ${limits.perSecond?.burst}`;
    case 'tpm':
      return `tokens per minute (TPM) on this key: limit ${limits.tpm}`;
    case 'pool_rpm':
      return `requests per minute (RPM) shared with the key ${planned.pool?.id} that issued this one: limit ${planned.pool?.rpm}`;
    case 'pool_tpm':
      return `tokens per minute (TPM) shared with the key ${planned.pool?.id} that issued this one: limit ${planned.pool?.tpm}`;
  }
}

type Evaluated = PlannedCheck & { state: LimitCheckResult };

/**
 * The request limit the headers describe: on a refusal the refusing one with the longest wait (so
 * `remaining-requests` is 0 and `reset-requests` is honest), otherwise the tightest one (fewest remaining; the RPM
 * window on a tie). One set of `-requests` headers cannot describe two limits, so it describes the one that binds.
 */
function reportedRequestLimit(evaluated: readonly Evaluated[]): Evaluated | undefined {
  const requests = evaluated.filter((e) => !isTokenLimit(e.name));
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
    headers['x-ratelimit-limit-requests'] = String(limitValue(requests, limits));
    headers['x-ratelimit-remaining-requests'] = String(requests.state.remaining);
    headers['x-ratelimit-reset-requests'] = formatOpenAiDuration(requests.state.resetMs);
  }
  // The token limit that binds: the one with the fewest tokens left.
  const tokens = evaluated
    .filter((e) => isTokenLimit(e.name))
    .reduce<Evaluated | undefined>(
      (a, b) => (a === undefined || b.state.remaining < a.state.remaining ? b : a),
      undefined,
    );
  if (tokens) {
    headers['x-ratelimit-limit-tokens'] = String(limitValue(tokens, limits));
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
    kind: isTokenLimit(binding.name) ? 'tokens' : 'requests',
    retryAfterMs,
    message:
      `Rate limit reached for ${describeLimit(binding, limits)}. ` +
      `Please try again in ${formatOpenAiDuration(retryAfterMs)}.`,
    headers,
  };
}
