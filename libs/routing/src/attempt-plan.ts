import type { GatewayError } from '@xrouter/common';
import type { RetryConfig, TimeoutsConfig } from '@xrouter/config';
import { retryDelay } from './backoff';
import { attemptBounds, type AttemptBounds } from './deadline';
import type { FailureClass } from './failure-class';

/** What one request is allowed: fixed when it starts. */
export interface RequestPlan<T extends { key: string }> {
  /** The deployments in the order this request tries them, once per pass. */
  candidates: readonly T[];
  /** The most attempts the request makes (`retry.max_attempts`). */
  budget: number;
  /** When the request's overall deadline runs out. */
  giveUpAt: number;
  timeouts: Pick<TimeoutsConfig, 'first_token_ms' | 'attempt_ms' | 'total_ms'>;
  retry: RetryConfig;
  /** The jitter of the backoff between passes. */
  random?: () => number;
}

/** What the request has done so far; changed only by {@link afterAttempt} and {@link nextPass}. */
export interface AttemptState {
  /** The pass over the candidates, from 0. */
  readonly pass: number;
  /** The candidate this pass looks at next. */
  readonly cursor: number;
  readonly attempts: number;
  readonly triedThisPass: boolean;
  /** Deployments that asked (Retry-After) not to be called before a time. */
  readonly notBefore: ReadonlyMap<string, number>;
  /**
   * Deployments not tried again by this request: their credentials were refused, or they do not have the model (404).
   */
  readonly refused: ReadonlySet<string>;
  /** Deployments this request already charged a failure to: one request charges a breaker once. */
  readonly charged: ReadonlySet<string>;
  readonly lastError?: GatewayError;
  /** The soonest an account at its request limit takes requests again. */
  readonly soonestAccountRetryMs?: number;
}

/** How one attempt went, as the router's attempt step reports it. */
export type AttemptResult<V = unknown> =
  /** Not tried: its credentials wait for their retry, or its breaker let nothing through. */
  | { kind: 'skipped' }
  /** Not tried: its account is at its request limit. */
  | { kind: 'limited'; retryAfterMs: number }
  | { kind: 'answered'; value: V }
  | { kind: 'failed'; error: GatewayError; failure: FailureClass; charged: boolean }
  /** The client went away during the attempt. */
  | { kind: 'closed' };

export type Stop =
  | { kind: 'stop'; because: 'failed'; error: GatewayError }
  | { kind: 'stop'; because: 'accounts-at-limit'; retryAfterMs: number }
  | { kind: 'stop'; because: 'no-deployment' };

export type NextMove<T> =
  | { kind: 'try'; index: number; target: T; bounds: AttemptBounds }
  /** The pass is over: wait this long, then {@link nextPass}. */
  | { kind: 'wait'; ms: number }
  | Stop;

export const INITIAL_ATTEMPT_STATE: AttemptState = {
  pass: 0,
  cursor: 0,
  attempts: 0,
  triedThisPass: false,
  notBefore: new Map(),
  refused: new Set(),
  charged: new Set(),
};

/**
 * What a request does next. Within a pass the candidates are tried in order, each at most once, skipping those that
 * asked to be left alone (Retry-After) or refused the gateway's credentials; a fallback starts only while there is
 * time for its answer to begin. Once the pass is over the next one waits a jittered backoff, never sooner than the
 * soonest Retry-After and never past the deadline; when nothing could be tried and nobody asked to wait, the request
 * stops rather than spin. `clientGone` is looked at when a pass begins after its wait.
 */
export function planNext<T extends { key: string }>(
  plan: RequestPlan<T>,
  state: AttemptState,
  now: number,
  clientGone = false,
): NextMove<T> {
  if (state.pass > 0 && state.cursor === 0 && clientGone) return stopWith(state);
  const remaining = plan.giveUpAt - now;
  for (let index = state.cursor; index < plan.candidates.length; index++) {
    if (state.attempts >= plan.budget) break;
    const target = plan.candidates[index];
    if ((state.notBefore.get(target.key) ?? 0) > now || state.refused.has(target.key)) continue;
    // A fallback starts only with time for its answer to begin; otherwise the deadline would fail it unfairly.
    if (state.attempts > 0 && remaining < Math.min(plan.timeouts.first_token_ms, plan.timeouts.attempt_ms ?? Infinity))
      break;
    return { kind: 'try', index, target, bounds: attemptBounds(plan.timeouts, remaining) };
  }
  const waiting = plan.candidates.some((t) => (state.notBefore.get(t.key) ?? 0) > now);
  if (!state.triedThisPass && !waiting) return stopWith(state);
  // Nobody left who could answer: no point waiting for the next pass.
  if (plan.candidates.every((t) => state.refused.has(t.key))) return stopWith(state);
  if (state.attempts >= plan.budget) return stopWith(state);
  const soonest = Math.min(...plan.candidates.map((t) => Math.max(0, (state.notBefore.get(t.key) ?? 0) - now)));
  const ms = retryDelay(state.pass + 1, plan.retry, soonest > 0 ? soonest : undefined, plan.random);
  if (ms === null || now + ms >= plan.giveUpAt) return stopWith(state);
  return { kind: 'wait', ms };
}

/** Why the request ends without an answer: the last failure, else every account at its limit, else no deployment. */
export function stopWith(state: AttemptState): Stop {
  if (state.lastError) return { kind: 'stop', because: 'failed', error: state.lastError };
  if (state.soonestAccountRetryMs !== undefined) {
    return { kind: 'stop', because: 'accounts-at-limit', retryAfterMs: state.soonestAccountRetryMs };
  }
  return { kind: 'stop', because: 'no-deployment' };
}

/** The state after the candidate the plan chose (`tried`) was taken up and went as `result` said. */
export function afterAttempt(
  state: AttemptState,
  tried: { index: number; target: { key: string } },
  result: AttemptResult,
  now: number,
): AttemptState {
  const { key } = tried.target;
  const next = { ...state, cursor: tried.index + 1 };
  switch (result.kind) {
    case 'skipped':
      return next;
    case 'limited':
      return { ...next, soonestAccountRetryMs: Math.min(state.soonestAccountRetryMs ?? Infinity, result.retryAfterMs) };
    case 'answered':
    case 'closed':
      return { ...next, attempts: state.attempts + 1, triedThisPass: true };
    case 'failed': {
      const { error } = result;
      return {
        ...next,
        attempts: state.attempts + 1,
        triedThisPass: true,
        lastError: error,
        refused:
          result.failure === 'credentials' || result.failure === 'absent'
            ? new Set([...state.refused, key])
            : state.refused,
        charged: result.charged ? new Set([...state.charged, key]) : state.charged,
        notBefore:
          error.retryAfterMs === undefined
            ? state.notBefore
            : new Map([...state.notBefore, [key, now + error.retryAfterMs]]),
      };
    }
  }
}

/** The state at the start of the next pass, after its wait. */
export function nextPass(state: AttemptState): AttemptState {
  return { ...state, pass: state.pass + 1, cursor: 0, triedThisPass: false };
}
