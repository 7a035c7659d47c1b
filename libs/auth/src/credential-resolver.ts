import type { Principal } from './principal';

/**
 * Turns the SHA-256 of a presented bearer secret into a principal, for one kind of credential (API keys, OAuth
 * access tokens). CredentialService asks each resolver in turn on a cache miss; the first principal wins.
 */
export interface CredentialResolver {
  resolve(secretHash: string): Promise<Principal | null>;
}

/** Injection token of the CredentialResolver array. */
export const CREDENTIAL_RESOLVERS = Symbol('CREDENTIAL_RESOLVERS');
