import type { BudgetSubject, MonthlyBudget } from '@xrouter/common';
import type { Authority } from './authority';

export type { Role } from './authority';

/** A key above the caller (it made the caller, or made a key that did): its limits bind the caller's requests too. */
export interface IssuingKey {
  readonly id: string;
  readonly rpmLimit: number | null;
  readonly tpmLimit: number | null;
}

/** Who is calling: what an API key or an OAuth access token resolves to. Cached; never holds the secret. */
export interface Principal extends Authority {
  readonly kind: 'api_key' | 'oauth';
  /** The API key's or the OAuth access token's id. */
  readonly credentialId: string;
  /** The OAuth client the token was issued to (OAuth only). */
  readonly clientId?: string;
  readonly userId: string;
  /**
   * Every monthly budget this credential's spend counts against: its own key's, each issuing key's (a key made by a
   * key shares its parent's pool) and its user's. Empty = no budget applies.
   */
  readonly budgets: readonly BudgetSubject[];
  /**
   * The keys above this one, the root first (empty for a root key and for OAuth tokens): a key's request and token
   * limits are one pool for the key and every key it made, like its budget.
   */
  readonly issuers: readonly IssuingKey[];
  /** The key's `cache` setting: identical non-streamed requests answered from the answer cache (never OAuth). */
  readonly answerCache?: boolean;
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
