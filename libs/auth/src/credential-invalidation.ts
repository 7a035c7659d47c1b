import { ErrorCode, GatewayError } from '@xrouter/common';
import { StoreUnavailableError, type Store } from '@xrouter/store';
import { CREDENTIAL_INVALIDATION_CHANNEL } from './auth.constants';

/** Past this many changed credentials at once, every replica drops its whole credential cache instead. */
const MAX_INDIVIDUAL_INVALIDATIONS = 100;

/**
 * Tells every replica's credential cache to forget these secret hashes (revoked, rotated or changed credentials):
 * one message each, or one "forget everything" past {@link MAX_INDIVIDUAL_INVALIDATIONS}.
 */
export async function announceInvalidations(store: Store, secretHashes: readonly string[]): Promise<void> {
  if (secretHashes.length > MAX_INDIVIDUAL_INVALIDATIONS) {
    await store.publish(CREDENTIAL_INVALIDATION_CHANNEL, '*');
    return;
  }
  await Promise.all(secretHashes.map((hash) => store.publish(CREDENTIAL_INVALIDATION_CHANNEL, hash)));
}

/**
 * Refuses with 503 — before anything is written — a change that must reach every replica's credential cache
 * (revoking, rotating, disabling, re-budgeting, deleting a client) while the store that carries it cannot answer.
 */
export async function assertCanAnnounce(store: Store): Promise<void> {
  try {
    await store.ping();
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    throw new GatewayError(
      ErrorCode.SERVICE_UNAVAILABLE,
      'This change is paused while the shared store is unreachable; nothing was changed. Retry shortly.',
      { retryAfterMs: 1_000, cause: error },
    );
  }
}
