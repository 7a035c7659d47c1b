export type Role = 'admin' | 'user';

/** Who is calling: what an API key (or, later, an OAuth token) resolves to. Cached; never holds the secret. */
export interface Principal {
  readonly kind: 'api_key';
  readonly credentialId: string;
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
