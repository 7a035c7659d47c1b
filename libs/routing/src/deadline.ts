import { ErrorCode, GatewayError } from '@xrouter/common';

export interface Deadline {
  readonly signal: AbortSignal;
  /** Moves the deadline to `ms` from now (e.g. from first-token to total once the first chunk is in). */
  reset(ms: number, what: string): void;
  clear(): void;
}

/**
 * An AbortSignal that fires with a TIMEOUT GatewayError after `ms`, or when the client's own signal aborts,
 * so the upstream socket is really released whichever comes first.
 */
export function createDeadline(ms: number, what: string, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (delay: number, label: string) => {
    clearTimeout(timer);
    timer = setTimeout(
      () =>
        controller.abort(new GatewayError(ErrorCode.TIMEOUT, `No answer within the ${label} timeout (${delay} ms)`)),
      delay,
    );
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
  };
}
