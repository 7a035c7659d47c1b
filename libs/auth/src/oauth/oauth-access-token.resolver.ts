import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { CredentialResolver } from '../credential-resolver';
import { monthlyBudget, type Principal } from '../principal';
import { effectiveScopes } from './oauth-policy';
import { OAuthTokenEntity } from './oauth-token.entity';

/**
 * OAuth access tokens: a live (not revoked, not expired) access token of an enabled user and a registered client
 * resolves to the same principal type as an API key, with the user's role (admin only with the `admin` scope) and
 * the granted scopes that the client still holds. Refresh tokens never resolve: they are only good at the token endpoint.
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
    const scopes = effectiveScopes(token.client.scopes, token.scopes);
    if (!scopes) return null;
    return {
      kind: 'oauth',
      credentialId: token.id,
      clientId: token.clientId,
      userId: token.userId,
      // An app acts as an admin only when it was registered for, and granted, the `admin` scope: approving a
      // third-party app must never hand it the admin's full powers by accident.
      role: token.user.role === 'admin' && scopes.includes('admin') ? 'admin' : 'user',
      scopes,
      allowedModels: null,
      rpmLimit: null,
      tpmLimit: null,
      expiresAt: token.expiresAt.getTime(),
      keyBudget: null,
      userBudget: monthlyBudget(token.user.monthlyTokenBudget, token.user.monthlyBudgetRub),
    };
  }
}
