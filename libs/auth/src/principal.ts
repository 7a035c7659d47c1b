export type Role = 'admin' | 'user';

/** Who is calling: what an API key or an OAuth access token resolves to. Cached; never holds the secret. */
export interface Principal {
  readonly kind: 'api_key' | 'oauth';
  /** The API key's or the OAuth access token's id. */
  readonly credentialId: string;
  /** The OAuth client the token was issued to (OAuth only). */
  readonly clientId?: string;
  readonly userId: string;
  readonly role: Role;
  readonly scopes: readonly string[];
  /** null = every model. */
  readonly allowedModels: readonly string[] | null;
  readonly rpmLimit: number | null;
  readonly tpmLimit: number | null;
  /** Epoch ms, or null for keys that do not expire. */
  readonly expiresAt: number | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}
