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
  /** Monthly budgets of the key and of its user; null = none. */
  readonly keyBudget: MonthlyBudget | null;
  readonly userBudget: MonthlyBudget | null;
}

/** Tokens and/or RUB (exact decimal string) per calendar month (UTC). */
export interface MonthlyBudget {
  tokens: number | null;
  rub: string | null;
}

/** A budget from the two nullable columns, or null when neither is set. */
export function monthlyBudget(tokens: string | number | null, rub: string | null): MonthlyBudget | null {
  return tokens === null && rub === null ? null : { tokens: tokens === null ? null : Number(tokens), rub };
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}
