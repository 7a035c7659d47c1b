import { argon2id, hash, verify } from 'argon2';

/** OWASP's argon2id baseline (19 MiB, 2 passes): slow enough for a login form, never used per API request. */
const OPTIONS = { type: argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** An argon2id PHC string (`$argon2id$v=19$m=…`) for the users table's `password_hash`. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/**
 * Whether `password` matches `digest`. A user without a hash (unknown email, no password set) still costs one full
 * verification against a throwaway hash, so response times do not reveal which emails exist.
 */
export async function verifyPassword(digest: string | null | undefined, password: string): Promise<boolean> {
  if (!digest) {
    dummyHash ??= hashPassword('a throwaway password, verified only to spend the same time on unknown emails');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(digest, password);
  } catch {
    // A malformed stored hash refuses the login rather than failing the request.
    return false;
  }
}
