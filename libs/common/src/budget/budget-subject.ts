/** Tokens and/or RUB (exact decimal string) per calendar month (UTC); null = unlimited on that axis. */
export interface MonthlyBudget {
  readonly tokens: number | null;
  readonly rub: string | null;
}

/**
 * One monthly budget a credential spends against: an API key's (its own spend and that of every key it made: one
 * pool) or a user's (all their keys and tokens). Auth resolves them with the credential; usage checks and counts
 * spend against them. Here, below both, because neither of those libs may import the other.
 */
export interface BudgetSubject {
  readonly scope: 'key' | 'user';
  readonly id: string;
  readonly limit: MonthlyBudget;
}
