import { hash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'xr-';

/** A new key: `xr-` and 256 random bits in base64url. Shown once; only its hash is stored. */
export function generateApiKeySecret(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * SHA-256 hex of a credential: a fast lookup key, safe because the secret has 256 bits of entropy. Once per request:
 * the one-shot `crypto.hash` skips building a Hash object (same digest).
 */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** What lists may show of a key: `xr-AbCd1234`. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, API_KEY_PREFIX.length + 8);
}
