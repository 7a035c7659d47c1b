import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { BudgetSubject } from '@xrouter/common';
import { authorityOf, OAUTH_SCOPES, type Restriction, type Role } from './authority';
import type { CredentialResolver } from './credential-resolver';
import { monthlyBudget, type Principal } from './principal';

/** How many issuers a chain may have; deeper ones are refused (they cannot be made through the API). */
export const MAX_CHAIN_DEPTH = 16;

interface ChainRow {
  id: string;
  user_id: string;
  parent_key_id: string | null;
  parent_token_id: string | null;
  scopes: string[];
  allowed_models: string[] | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  monthly_token_budget: string | null;
  monthly_budget_rub: string | null;
  answer_cache: boolean;
  depth: number;
  role: Role;
  user_disabled_at: Date | null;
  user_token_budget: string | null;
  user_budget_rub: string | null;
}

interface IssuingTokenRow {
  scopes: string[];
  client_scopes: string[];
  expires_at: Date;
  live: boolean;
}

const time = (date: Date | string | null): number | null => (date === null ? null : new Date(date).getTime());

/** A key's own restriction, as one link of its chain. */
export function keyRestriction(
  row: Pick<ChainRow, 'scopes' | 'allowed_models' | 'rpm_limit' | 'tpm_limit' | 'expires_at'>,
): Restriction {
  return {
    scopes: row.scopes,
    allowedModels: row.allowed_models,
    rpmLimit: row.rpm_limit,
    tpmLimit: row.tpm_limit,
    expiresAt: time(row.expires_at),
  };
}

/**
 * API keys: a live key of an enabled user whose every issuer (parent keys, the OAuth token that made the first of
 * them) is live too. Its authority is the owner's role narrowed along that chain by {@link authorityOf}; its budgets
 * are its own, each issuing key's and its user's. Asked only on a cache miss: two small queries.
 */
@Injectable()
export class ApiKeyResolver implements CredentialResolver {
  constructor(private readonly dataSource: DataSource) {}

  async resolve(secretHash: string): Promise<Principal | null> {
    const chain = await this.dataSource.query<ChainRow[]>(
      `WITH RECURSIVE chain AS (
         SELECT k.id, k.user_id, k.parent_key_id, k.parent_token_id, k.scopes, k.allowed_models, k.rpm_limit,
                k.tpm_limit, k.expires_at, k.revoked_at, k.monthly_token_budget, k.monthly_budget_rub, k.answer_cache,
                0 AS depth
           FROM api_keys k WHERE k.secret_hash = $1
         UNION ALL
         SELECT p.id, p.user_id, p.parent_key_id, p.parent_token_id, p.scopes, p.allowed_models, p.rpm_limit,
                p.tpm_limit, p.expires_at, p.revoked_at, p.monthly_token_budget, p.monthly_budget_rub, p.answer_cache,
                c.depth + 1
           FROM api_keys p JOIN chain c ON p.id = c.parent_key_id
          WHERE c.depth < $2
       )
       SELECT chain.*, u.role, u.disabled_at AS user_disabled_at, u.monthly_token_budget AS user_token_budget,
              u.monthly_budget_rub AS user_budget_rub
         FROM chain JOIN users u ON u.id = chain.user_id
        ORDER BY chain.depth DESC`,
      [secretHash, MAX_CHAIN_DEPTH],
    );
    const key = chain[chain.length - 1];
    if (!key || key.depth !== 0 || chain[0].depth !== chain.length - 1) return null;
    // Every link must be live and the chain must end at a key without a parent key (or at an OAuth token).
    if (chain.some((link) => link.revoked_at !== null || link.user_id !== key.user_id || link.user_disabled_at)) {
      return null;
    }
    const root = chain[0];
    const links: Restriction[] = [];
    if (root.parent_token_id) {
      const token = await this.issuingToken(root.parent_token_id);
      if (!token) return null;
      links.push(...token);
    } else if (root.parent_key_id !== null) {
      return null; // deeper than MAX_CHAIN_DEPTH: not a chain the API makes
    }
    links.push(...chain.map(keyRestriction));
    const authority = authorityOf(key.role, links);
    const budgets: BudgetSubject[] = [];
    for (const link of [...chain].reverse()) {
      const limit = monthlyBudget(link.monthly_token_budget, link.monthly_budget_rub);
      if (limit) budgets.push({ scope: 'key', id: link.id, limit });
    }
    const userBudget = monthlyBudget(key.user_token_budget, key.user_budget_rub);
    if (userBudget) budgets.push({ scope: 'user', id: key.user_id, limit: userBudget });
    const issuers = chain
      .slice(0, -1)
      .map((link) => ({ id: link.id, rpmLimit: link.rpm_limit, tpmLimit: link.tpm_limit }));
    return {
      kind: 'api_key',
      credentialId: key.id,
      userId: key.user_id,
      ...authority,
      budgets,
      issuers,
      answerCache: key.answer_cache,
    };
  }

  /**
   * The links an OAuth access token adds above the key it made: the OAuth ceiling, the client's scopes and the
   * token's own grant and expiry; null once the token, its grant or its client is gone.
   */
  private async issuingToken(tokenId: string): Promise<Restriction[] | null> {
    const [token] = await this.dataSource.query<IssuingTokenRow[]>(
      `SELECT t.scopes, c.scopes AS client_scopes, t.expires_at,
              (t.revoked_at IS NULL AND t.expires_at > now() AND c.deleted_at IS NULL) AS live
         FROM oauth_tokens t JOIN oauth_clients c ON c.id = t.client_id
        WHERE t.id = $1 AND t.kind = 'access'`,
      [tokenId],
    );
    if (!token?.live) return null;
    return oauthTokenLinks(token.client_scopes, token.scopes, time(token.expires_at));
  }
}

/** The chain links of an OAuth access token: never `admin`, never beyond its client, never past its expiry. */
export function oauthTokenLinks(
  clientScopes: readonly string[],
  grantedScopes: readonly string[],
  expiresAt: number | null,
): Restriction[] {
  return [{ scopes: OAUTH_SCOPES }, { scopes: clientScopes }, { scopes: grantedScopes, expiresAt }];
}
