/**
 * A Yandex Cloud service account's authorized key, the JSON `yc iam key create --output key.json` writes:
 * `{id, service_account_id, private_key, …}`. Its private key signs the JWT exchanged for IAM tokens.
 */
export interface ServiceAccountKey {
  /** The key id: the JWT's `kid`. */
  id: string;
  /** The JWT's `iss`. */
  service_account_id: string;
  /** PKCS#8 PEM; any line before `-----BEGIN` (newer keys start with a "PLEASE DO NOT REMOVE THIS LINE!" line) is cut. */
  private_key: string;
}

/** The parsed key, or a message saying what is wrong with it (never quoting the key). */
export function parseServiceAccountKey(text: string): ServiceAccountKey | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'is not valid JSON (expected the authorized key file of `yc iam key create`)';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'is not a JSON object';
  const key = parsed as Record<string, unknown>;
  const missing = ['id', 'service_account_id', 'private_key'].filter(
    (field) => typeof key[field] !== 'string' || key[field] === '',
  );
  if (missing.length > 0) return `has no ${missing.join(', ')}`;
  const pem = String(key.private_key);
  const begin = pem.indexOf('-----BEGIN');
  if (begin === -1) return 'has a private_key that is not a PEM key';
  return { id: String(key.id), service_account_id: String(key.service_account_id), private_key: pem.slice(begin) };
}
