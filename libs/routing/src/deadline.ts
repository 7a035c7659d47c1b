import { ErrorCode, GatewayError } from '@xrouter/common';

export interface Deadline {
  readonly signal: AbortSignal;
  /** Moves the deadline to `ms` from now (e.g. from first-token to total once the first chunk is in). */
  reset(ms: number, what: string): void;
  clear(): void;
  /** Which bound fired (`first-token`, `attempt`, `total`), or null while none has (or the client went away). */
  readonly expiredBy: string | null;
}

/**
 * An AbortSignal that fires with a TIMEOUT GatewayError after `ms`, or when the client's own signal aborts,
 * so the upstream socket is really released whichever comes first.
 */
export function createDeadline(ms: number, what: string, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let expiredBy: string | null = null;
  const arm = (delay: number, label: string) => {
    clearTimeout(timer);
    const bound = Math.max(1, Math.round(delay));
    timer = setTimeout(() => {
      expiredBy = label;
      controller.abort(new GatewayError(ErrorCode.TIMEOUT, `No answer within the ${label} timeout (${bound} ms)`));
    }, bound);
  };
  const onParentAbort = () => controller.abort(parent?.reason);
  arm(ms, what);
  if (parent) {
    if (parent.aborted) onParentAbort();
    else parent.addEventListener('abort', onParentAbort, { once: true });
  }
  return {
    signal: controller.signal,
    reset: arm,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
    get expiredBy() {
      return expiredBy;
    },
  };
}

/** An attempt's time bounds: which one binds first, and the one after the first byte (headers or first chunk). */
export interface AttemptBounds {
  first: { ms: number; what: string };
  /** From the attempt's start. */
  whole: { ms: number; what: string };
}

/**
 * The bounds of one attempt: its answer must start within `first_token_ms` and finish within `attempt_ms`, and
 * neither may pass the request's remaining time — when that is what binds, the bound is labelled `total`, so a
 * timeout it causes is never charged to the deployment that was running.
 */
export function attemptBounds(
  timeouts: { first_token_ms: number; attempt_ms?: number; total_ms: number },
  remainingMs: number,
): AttemptBounds {
  const attemptMs = timeouts.attempt_ms ?? timeouts.total_ms;
  const whole = attemptMs < remainingMs ? { ms: attemptMs, what: 'attempt' } : { ms: remainingMs, what: 'total' };
  const first = timeouts.first_token_ms < whole.ms ? { ms: timeouts.first_token_ms, what: 'first-token' } : whole;
  return { first, whole };
}
