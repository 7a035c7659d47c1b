import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { oauthTokenLinks } from '../api-key.resolver';
import { authorityOf } from '../authority';
import type { CredentialResolver } from '../credential-resolver';
import { monthlyBudget, type Principal } from '../principal';
import { OAuthTokenEntity } from './oauth-token.entity';

/**
 * OAuth access tokens: a live (not revoked, not expired) access token of an enabled user and a registered client
 * resolves to the same principal type as an API key. Its authority is the user's role narrowed by the OAuth ceiling
 * (never `admin`), the client's current scopes and the granted ones. Refresh tokens never resolve: they are only
 * good at the token endpoint.
 */
@Injectable()
export class OAuthAccessTokenResolver implements CredentialResolver {
  constructor(@InjectRepository(OAuthTokenEntity) private readonly tokens: Repository<OAuthTokenEntity>) {}

  async resolve(secretHash: string): Promise<Principal | null> {
    const token = await this.tokens
      .createQueryBuilder('token')
      .innerJoinAndSelect('token.user', 'user')
      .innerJoinAndSelect('token.client', 'client')
      .where('token.token_hash = :hash', { hash: secretHash })
      .andWhere("token.kind = 'access'")
      .andWhere('token.revoked_at IS NULL')
      .andWhere('token.expires_at > now()')
      .andWhere('user.disabled_at IS NULL')
      .andWhere('client.deleted_at IS NULL')
      .getOne();
    if (!token?.user || !token.client) return null;
    const authority = authorityOf(
      token.user.role,
      oauthTokenLinks(token.client.scopes, token.scopes, token.expiresAt.getTime()),
    );
    // A token left with no scope (an admin narrowed the client) can do nothing: it is dead.
    if (authority.scopes.length === 0) return null;
    const userBudget = monthlyBudget(token.user.monthlyTokenBudget, token.user.monthlyBudgetRub);
    return {
      kind: 'oauth',
      credentialId: token.id,
      clientId: token.clientId,
      userId: token.userId,
      ...authority,
      budgets: userBudget ? [{ scope: 'user', id: token.userId, limit: userBudget }] : [],
      issuers: [],
    };
  }
}
