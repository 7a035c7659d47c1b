import { ErrorCode, GatewayError } from '@xrouter/common';
import {
  afterAttempt,
  INITIAL_ATTEMPT_STATE,
  nextPass,
  planNext,
  type AttemptResult,
  type AttemptState,
  type NextMove,
  type RequestPlan,
} from './attempt-plan';

const NOW = 1_000_000;
const a = { key: 'a' };
const b = { key: 'b' };
const failed503 = new GatewayError(ErrorCode.UPSTREAM_5XX, 'upstream 503');

/** Two deployments, 3 attempts, 10 s, first token within 1 s; the backoff's jitter is half its ceiling. */
function plan(overrides: Partial<RequestPlan<{ key: string }>> = {}): RequestPlan<{ key: string }> {
  return {
    candidates: [a, b],
    budget: 3,
    giveUpAt: NOW + 10_000,
    timeouts: { first_token_ms: 1_000, total_ms: 10_000 },
    retry: { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1_000, max_retry_after_ms: 5_000 },
    random: () => 0.5,
    ...overrides,
  };
}

const state = (overrides: Partial<AttemptState> = {}): AttemptState => ({ ...INITIAL_ATTEMPT_STATE, ...overrides });
/** A pass over both deployments in which one attempt failed. */
const passOver = (overrides: Partial<AttemptState> = {}) =>
  state({ cursor: 2, attempts: 1, triedThisPass: true, lastError: failed503, ...overrides });

const FIRST_ATTEMPT = { first: { ms: 1_000, what: 'first-token' }, whole: { ms: 10_000, what: 'total' } };

describe('planNext', () => {
  it.each<[string, RequestPlan<{ key: string }>, AttemptState, Partial<NextMove<{ key: string }>>, boolean?]>([
    [
      'should try the first deployment first, its answer due within first_token_ms and the rest of the request',
      plan(),
      state(),
      { kind: 'try', index: 0, target: a, bounds: FIRST_ATTEMPT },
    ],
    [
      'should fall back to the next deployment after a failure',
      plan(),
      state({ cursor: 1, attempts: 1, triedThisPass: true, lastError: failed503 }),
      { kind: 'try', index: 1, target: b },
    ],
    [
      'should stop with the last error once retry.max_attempts attempts were made',
      plan({ budget: 1 }),
      state({ cursor: 1, attempts: 1, triedThisPass: true, lastError: failed503 }),
      { kind: 'stop', because: 'failed', error: failed503 },
    ],
    [
      'should skip a deployment whose Retry-After has not passed',
      plan(),
      state({ notBefore: new Map([['a', NOW + 500]]) }),
      { kind: 'try', index: 1, target: b },
    ],
    [
      'should try a deployment again once its Retry-After has passed',
      plan(),
      state({ notBefore: new Map([['a', NOW]]) }),
      { kind: 'try', index: 0, target: a },
    ],
    [
      'should skip a deployment whose credentials were refused during this request',
      plan(),
      state({ refused: new Set(['a']) }),
      { kind: 'try', index: 1, target: b },
    ],
    [
      'should not start a fallback with less time left than first_token_ms',
      plan({ giveUpAt: NOW + 999 }),
      state({ cursor: 1, attempts: 1, triedThisPass: true, lastError: failed503 }),
      { kind: 'wait', ms: 50 },
    ],
    [
      'should start a fallback with time left for attempt_ms when that is shorter than first_token_ms',
      plan({ giveUpAt: NOW + 999, timeouts: { first_token_ms: 1_000, attempt_ms: 500, total_ms: 10_000 } }),
      state({ cursor: 1, attempts: 1, triedThisPass: true, lastError: failed503 }),
      {
        kind: 'try',
        index: 1,
        target: b,
        bounds: { first: { ms: 500, what: 'attempt' }, whole: { ms: 500, what: 'attempt' } },
      },
    ],
    [
      'should start the first attempt whatever time is left, bounded by it',
      plan({ giveUpAt: NOW + 999 }),
      state(),
      { kind: 'try', index: 0, bounds: { first: { ms: 999, what: 'total' }, whole: { ms: 999, what: 'total' } } },
    ],
    [
      'should wait the jittered backoff of the first retry before the second pass',
      plan(),
      passOver(),
      { kind: 'wait', ms: 50 },
    ],
    ['should double the backoff ceiling on the next pass', plan(), passOver({ pass: 1 }), { kind: 'wait', ms: 100 }],
    [
      'should wait until the soonest Retry-After when it is longer than the backoff',
      plan(),
      passOver({
        notBefore: new Map([
          ['a', NOW + 3_000],
          ['b', NOW + 2_000],
        ]),
      }),
      { kind: 'wait', ms: 2_000 },
    ],
    [
      'should stop with the last error when a Retry-After is longer than max_retry_after_ms',
      plan({ candidates: [a] }),
      passOver({ cursor: 1, notBefore: new Map([['a', NOW + 30_000]]) }),
      { kind: 'stop', because: 'failed', error: failed503 },
    ],
    [
      "should stop rather than wait past the request's deadline",
      plan({ giveUpAt: NOW + 50 }),
      passOver(),
      { kind: 'stop', because: 'failed', error: failed503 },
    ],
    [
      'should stop, not spin, when nothing could be tried and nobody asked to wait',
      plan(),
      state({ cursor: 2 }),
      { kind: 'stop', because: 'no-deployment' },
    ],
    [
      'should wait for a Retry-After when nothing could be tried this pass',
      plan({ candidates: [a] }),
      state({ pass: 1, cursor: 1, attempts: 1, lastError: failed503, notBefore: new Map([['a', NOW + 300]]) }),
      { kind: 'wait', ms: 300 },
    ],
    [
      'should answer 429 with the soonest retry when every account is at its request limit',
      plan(),
      state({ cursor: 2, soonestAccountRetryMs: 1_500 }),
      { kind: 'stop', because: 'accounts-at-limit', retryAfterMs: 1_500 },
    ],
    [
      'should prefer the last error to the account limit',
      plan({ budget: 1 }),
      passOver({ soonestAccountRetryMs: 1_500 }),
      { kind: 'stop', because: 'failed', error: failed503 },
    ],
    [
      'should stop with no deployment available when there is none to try',
      plan({ candidates: [] }),
      state(),
      { kind: 'stop', because: 'no-deployment' },
    ],
    [
      'should stop when the client went away during the wait before a pass',
      plan(),
      state({ pass: 1, attempts: 1, lastError: failed503 }),
      { kind: 'stop', because: 'failed', error: failed503 },
      true,
    ],
    [
      'should leave a client gone during a pass to the attempt, which sees its aborted signal',
      plan(),
      state({ pass: 1, cursor: 1, attempts: 2, triedThisPass: true, lastError: failed503 }),
      { kind: 'try', index: 1 },
      true,
    ],
  ])('%s', (_title, requestPlan, current, expected, clientGone = false) => {
    expect(planNext(requestPlan, current, NOW, clientGone)).toMatchObject(expected);
  });
});

describe('afterAttempt', () => {
  const tried = { index: 0, target: a };
  type Failed = Extract<AttemptResult, { kind: 'failed' }>;
  const failure = (error: GatewayError, over: Partial<Failed> = {}): Failed => ({
    kind: 'failed',
    error,
    failure: 'deployment',
    charged: false,
    ...over,
  });

  it.each<[string, AttemptState, AttemptResult, Partial<AttemptState>]>([
    [
      'should move on without counting an attempt that was skipped',
      state(),
      { kind: 'skipped' },
      { cursor: 1, attempts: 0 },
    ],
    [
      'should keep the soonest retry of the accounts at their limit',
      state({ soonestAccountRetryMs: 2_000 }),
      { kind: 'limited', retryAfterMs: 1_500 },
      { cursor: 1, attempts: 0, soonestAccountRetryMs: 1_500 },
    ],
    [
      'should count a failed attempt and remember its error',
      state(),
      failure(failed503),
      { cursor: 1, attempts: 1, triedThisPass: true, lastError: failed503 },
    ],
    [
      'should leave a deployment alone until its Retry-After',
      state(),
      failure(new GatewayError(ErrorCode.RATE_LIMITED, '429', { retryAfterMs: 2_000 })),
      { notBefore: new Map([['a', NOW + 2_000]]) },
    ],
    [
      'should not try again an account whose credentials were refused',
      state(),
      failure(new GatewayError(ErrorCode.UPSTREAM_AUTH, '401'), { failure: 'credentials' }),
      { refused: new Set(['a']), charged: new Set() },
    ],
    [
      'should not try again a deployment that does not have the model (404), nor charge its breaker',
      state(),
      failure(new GatewayError(ErrorCode.MODEL_NOT_FOUND, '404'), { failure: 'absent' }),
      { refused: new Set(['a']), charged: new Set() },
    ],
    [
      'should remember a breaker this request charged',
      state(),
      failure(failed503, { charged: true }),
      { charged: new Set(['a']) },
    ],
  ])('%s', (_title, before, result, expected) => {
    const copy = structuredClone(before);
    expect(afterAttempt(before, tried, result, NOW)).toMatchObject(expected);
    expect(before).toEqual(copy);
  });
});

describe('nextPass', () => {
  it('should start the next pass from the first deployment, keeping what the request learnt', () => {
    const before = passOver({ notBefore: new Map([['a', NOW + 1]]) });
    expect(nextPass(before)).toEqual({ ...before, pass: 1, cursor: 0, triedThisPass: false });
  });
});

describe('a request walked through the plan', () => {
  /** Drives the plan as the router does, every attempt going as `outcome` says, and lists what it did. */
  function walk(requestPlan: RequestPlan<{ key: string }>, outcome: (key: string) => AttemptResult): string[] {
    const done: string[] = [];
    let current = INITIAL_ATTEMPT_STATE;
    for (let step = 0; step < 100; step++) {
      const next = planNext(requestPlan, current, NOW);
      if (next.kind === 'stop') return [...done, `stop ${next.because}`];
      if (next.kind === 'wait') {
        done.push(`wait ${next.ms}`);
        current = nextPass(current);
        continue;
      }
      const result = outcome(next.target.key);
      done.push(`${next.target.key} ${result.kind}`);
      current = afterAttempt(current, next, result, NOW);
      if (result.kind === 'answered') return done;
    }
    throw new Error('the plan never stopped');
  }

  it('should make retry.max_attempts attempts over two passes when every one fails', () => {
    expect(walk(plan(), () => ({ kind: 'failed', error: failed503, failure: 'deployment', charged: false }))).toEqual([
      'a failed',
      'b failed',
      'wait 50',
      'a failed',
      'stop failed',
    ]);
  });

  it('should ask each deployment that answers 404 once, then stop with the 404', () => {
    const missing = new GatewayError(ErrorCode.MODEL_NOT_FOUND, 'No such model');
    expect(walk(plan(), () => ({ kind: 'failed', error: missing, failure: 'absent', charged: false }))).toEqual([
      'a failed',
      'b failed',
      'stop failed',
    ]);
  });

  it('should stop after one pass, not spin, when every breaker is open', () => {
    expect(walk(plan(), () => ({ kind: 'skipped' }))).toEqual(['a skipped', 'b skipped', 'stop no-deployment']);
  });
});
