import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { STORE, type Store } from '@xrouter/store';
import { hashSecret } from '../api-key-secret';
import { revokeKeyTrees } from '../api-keys/key-trees';
import { announceInvalidations, assertCanAnnounce } from '../credential-invalidation';
import { oauthConfig } from './oauth.config';
import { OAuthError } from './oauth.error';
import { classifyRefreshToken } from './oauth-policy';
import type { OAuthTokenKind } from './oauth-token.entity';

/** Secret prefixes, so a leaked token is recognisable (secret scanners, support) without a lookup. */
export const ACCESS_TOKEN_PREFIX = 'xro-';
export const REFRESH_TOKEN_PREFIX = 'xrr-';

/** Who granted what to whom: the part every token of one family shares. */
export interface Grant {
  familyId: string;
  clientId: string;
  userId: string;
  scopes: readonly string[];
}

/** The RFC 6749 §5.1 token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

interface RefreshRow {
  id: string;
  family_id: string;
  client_id: string;
  user_id: string;
  scopes: string[];
  expires_at: Date;
  revoked_at: Date | null;
  used_at: Date | null;
  withdrawn: boolean;
}

/** `revoked`: the secret hashes of the credentials a refused refresh revoked (for the caches to forget). */
type RefreshOutcome =
  { decision: 'rotate'; tokens: TokenResponse } | { decision: 'reuse' | 'invalid'; revoked: string[] };

function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/**
 * The token table: issuing pairs, rotating refresh tokens, revoking tokens, families and clients. A revoked access
 * token takes the API keys it made with it; both are announced to the credential caches of every replica at once.
 */
@Injectable()
export class OAuthTokenService {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(STORE) private readonly store: Store,
    @Inject(oauthConfig.KEY) private readonly config: ConfigType<typeof oauthConfig>,
  ) {}

  /** A new access + refresh pair for a grant; invalid_grant when the user was disabled or the client deleted. */
  async issue(grant: Grant, manager: EntityManager = this.dataSource.manager): Promise<TokenResponse> {
    const access = newSecret(ACCESS_TOKEN_PREFIX);
    const refresh = newSecret(REFRESH_TOKEN_PREFIX);
    const now = Date.now();
    const inserted = await manager.query<Array<{ kind: string }>>(
      `INSERT INTO oauth_tokens (token_hash, kind, family_id, client_id, user_id, scopes, expires_at)
       SELECT v.token_hash, v.kind, $3::uuid, c.id, u.id, $5::text[], v.expires_at
       FROM (VALUES ($1::text, 'access', $7::timestamptz), ($2::text, 'refresh', $8::timestamptz))
              AS v (token_hash, kind, expires_at)
       JOIN oauth_clients c ON c.id = $4::uuid AND c.deleted_at IS NULL
       JOIN users u ON u.id = $6::uuid AND u.disabled_at IS NULL
       RETURNING kind`,
      [
        hashSecret(access),
        hashSecret(refresh),
        grant.familyId,
        grant.clientId,
        [...grant.scopes],
        grant.userId,
        new Date(now + this.config.accessTokenTtlMs),
        new Date(now + this.config.refreshTokenTtlMs),
      ],
    );
    if (inserted.length !== 2) {
      throw new OAuthError('invalid_grant', 'The user or the client is no longer allowed to receive tokens.');
    }
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: Math.floor(this.config.accessTokenTtlMs / 1000),
      refresh_token: refresh,
      scope: grant.scopes.join(' '),
    };
  }

  /**
   * Exchanges a refresh token for a new pair in the same family; the old one is marked used. Presenting a used one
   * again revokes the family (the thief's and the owner's tokens alike) and is refused.
   */
  async refresh(refreshToken: string, clientId: string, requestedScopes: readonly string[]): Promise<TokenResponse> {
    const outcome = await this.dataSource.transaction(async (tx): Promise<RefreshOutcome> => {
      const [row] = await tx.query<RefreshRow[]>(
        `SELECT t.id, t.family_id, t.client_id, t.user_id, t.scopes, t.expires_at, t.revoked_at, t.used_at,
                (c.deleted_at IS NOT NULL OR u.disabled_at IS NOT NULL) AS withdrawn
         FROM oauth_tokens t
         JOIN oauth_clients c ON c.id = t.client_id
         JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.kind = 'refresh'
         FOR UPDATE OF t`,
        [hashSecret(refreshToken)],
      );
      const state = row
        ? {
            clientId: row.client_id,
            usedAt: row.used_at,
            revokedAt: row.revoked_at,
            expiresAt: new Date(row.expires_at),
            grantWithdrawn: row.withdrawn,
          }
        : null;
      const decision = classifyRefreshToken(state, clientId, Date.now());
      switch (decision) {
        case 'invalid':
          return { decision, revoked: [] };
        case 'reuse':
          return { decision, revoked: await this.revokeWhere(tx, 'family_id = $1', row.family_id) };
        case 'rotate': {
          const scopes = requestedScopes.length > 0 ? requestedScopes : row.scopes;
          if (!scopes.every((scope) => row.scopes.includes(scope))) {
            throw new OAuthError('invalid_scope', 'A refresh may only keep or narrow the scopes originally granted.');
          }
          await tx.query(`UPDATE oauth_tokens SET used_at = now() WHERE id = $1`, [row.id]);
          const tokens = await this.issue(
            { familyId: row.family_id, clientId: row.client_id, userId: row.user_id, scopes },
            tx,
          );
          return { decision, tokens };
        }
      }
    });
    if (outcome.decision === 'rotate') return outcome.tokens;
    await this.announce(outcome.revoked);
    throw new OAuthError(
      'invalid_grant',
      outcome.decision === 'reuse'
        ? 'This refresh token was already used; every token of its grant is now revoked.'
        : 'The refresh token is invalid, expired or revoked.',
    );
  }

  /** RFC 7009: a refresh token takes its whole family with it; an access token goes alone. Unknown: nothing. */
  async revoke(token: string, clientId: string): Promise<void> {
    const [row] = await this.dataSource.query<
      Array<{ id: string; kind: OAuthTokenKind; family_id: string; client_id: string }>
    >(`SELECT id, kind, family_id, client_id FROM oauth_tokens WHERE token_hash = $1`, [hashSecret(token)]);
    if (!row) return;
    if (row.client_id !== clientId) {
      throw new OAuthError('unauthorized_client', 'This token was not issued to this client.');
    }
    await this.assertCanAnnounce();
    const revoked = await this.dataSource.transaction((tx) =>
      row.kind === 'refresh'
        ? this.revokeWhere(tx, 'family_id = $1', row.family_id)
        : this.revokeWhere(tx, 'id = $1', row.id),
    );
    await this.announce(revoked);
  }

  /** Revokes every family of a grant (reuse of an authorization code). */
  async revokeFamily(familyId: string): Promise<void> {
    await this.assertCanAnnounce();
    await this.announce(await this.dataSource.transaction((tx) => this.revokeWhere(tx, 'family_id = $1', familyId)));
  }

  /** Revokes every token issued to a client (the client was deleted). */
  async revokeClient(clientId: string, manager: EntityManager = this.dataSource.manager): Promise<string[]> {
    return this.revokeWhere(manager, 'client_id = $1', clientId);
  }

  /** A 503 before anything is written while the store cannot announce revocations. */
  assertCanAnnounce(): Promise<void> {
    return assertCanAnnounce(this.store);
  }

  /** Tells every replica's credential cache to forget the revoked credentials (refresh tokens are never cached). */
  async announce(revoked: readonly string[]): Promise<void> {
    await announceInvalidations(this.store, revoked);
  }

  /** A fresh family id for a new authorization. */
  newFamilyId(): string {
    return randomUUID();
  }

  /**
   * Revokes the matching tokens and the API keys their access tokens made; returns the secret hashes to announce:
   * the access tokens' and the keys' — already revoked ones too, so a retry after a failed announcement repeats it.
   */
  private async revokeWhere(
    manager: EntityManager,
    condition: 'family_id = $1' | 'id = $1' | 'client_id = $1',
    value: string,
  ): Promise<string[]> {
    const tokens = await manager.query<Array<{ id: string; token_hash: string; kind: OAuthTokenKind }>>(
      `WITH revoked AS (
         UPDATE oauth_tokens SET revoked_at = now() WHERE ${condition} AND revoked_at IS NULL RETURNING id
       ) SELECT id, token_hash, kind FROM oauth_tokens WHERE ${condition}`,
      [value],
    );
    const access = tokens.filter((row) => row.kind === 'access');
    const keys = await revokeKeyTrees(manager, { tokenIds: access.map((row) => row.id) });
    return [...access.map((row) => row.token_hash.trim()), ...keys];
  }
}
