import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { CredentialResolver } from './credential-resolver';
import { ApiKeyEntity } from './entities/api-key.entity';
import { monthlyBudget, type Principal } from './principal';

/** API keys: a live (not revoked) key of an enabled user. Expiry is checked on every request by CredentialService. */
@Injectable()
export class ApiKeyResolver implements CredentialResolver {
  constructor(@InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>) {}

  async resolve(secretHash: string): Promise<Principal | null> {
    const key = await this.keys
      .createQueryBuilder('key')
      .innerJoinAndSelect('key.user', 'user')
      .where('key.secret_hash = :hash', { hash: secretHash })
      .andWhere('key.revoked_at IS NULL')
      .andWhere('user.disabled_at IS NULL')
      .getOne();
    if (!key?.user) return null;
    return {
      kind: 'api_key',
      credentialId: key.id,
      userId: key.userId,
      role: key.user.role,
      scopes: key.scopes,
      allowedModels: key.allowedModels,
      rpmLimit: key.rpmLimit,
      tpmLimit: key.tpmLimit,
      expiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
      keyBudget: monthlyBudget(key.monthlyTokenBudget, key.monthlyBudgetRub),
      userBudget: monthlyBudget(key.user.monthlyTokenBudget, key.user.monthlyBudgetRub),
    };
  }
}
