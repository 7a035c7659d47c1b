import type { Store } from '@xrouter/store';
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
