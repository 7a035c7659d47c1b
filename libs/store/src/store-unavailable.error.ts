/**
 * The store could not answer: Redis unreachable, timed out or replying with an error, or the store already closed.
 * Callers decide whether to fail open (let the request through) or closed (refuse it); `cause` keeps the original.
 */
export class StoreUnavailableError extends Error {
  constructor(
    /** The store operation that failed (`get`, `consume`, …). */
    readonly operation: string,
    cause: unknown,
  ) {
    super(`Store unavailable (${operation}): ${errorMessage(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** The message of anything thrown (duck-typed: errors from another realm, e.g. Node's socket errors under jest, too). */
export function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    return error.message;
  }
  return String(error);
}
