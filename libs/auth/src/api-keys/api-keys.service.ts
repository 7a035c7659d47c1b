import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { displayPrefix, generateApiKeySecret, hashSecret } from '../api-key-secret';
import { CredentialService } from '../credential.service';
import { ApiKeyEntity } from '../entities/api-key.entity';
import { UserEntity } from '../entities/user.entity';
import type { Principal } from '../principal';
import type { BudgetDto } from '../budget.dto';
import type { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-key.dto';
import { narrowGrant } from './key-policy';

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function toApiKeyDto(key: ApiKeyEntity): ApiKeyDto {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    user_id: key.userId,
    scopes: key.scopes,
    allowed_models: key.allowedModels,
    rpm_limit: key.rpmLimit,
    tpm_limit: key.tpmLimit,
    expires_at: iso(key.expiresAt),
    monthly_token_budget: key.monthlyTokenBudget === null ? null : Number(key.monthlyTokenBudget),
    monthly_budget_rub: key.monthlyBudgetRub,
    revoked_at: iso(key.revokedAt),
    last_used_at: iso(key.lastUsedAt),
    created_at: key.createdAt.toISOString(),
  };
}

/**
 * API keys: created for a user (by an admin) or by a user for themselves, shown once, stored as SHA-256. Users see
 * and manage only their own keys (another user's key is "not found", never "forbidden", so ids leak nothing);
 * admins see all. Revoking or rotating invalidates the key on every replica at once.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly credentials: CredentialService,
  ) {}

  async create(actor: Principal, dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const ownerId = dto.user_id ?? actor.userId;
    if (ownerId !== actor.userId && actor.role !== 'admin') {
      throw new GatewayError(ErrorCode.FORBIDDEN, 'Only admins create keys for other users', { param: 'user_id' });
    }
    const owner = await this.users.findOneBy({ id: ownerId, disabledAt: IsNull() });
    if (!owner)
      throw new GatewayError(ErrorCode.NOT_FOUND, `No active user with id '${ownerId}'`, { param: 'user_id' });
    const expiresAt = dto.expires_at ? new Date(dto.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'expires_at must be in the future', { param: 'expires_at' });
    }
    const grant = narrowGrant(actor, {
      scopes: dto.scopes ?? [],
      allowedModels: dto.allowed_models ?? null,
      rpmLimit: dto.rpm_limit ?? null,
      tpmLimit: dto.tpm_limit ?? null,
      expiresAt,
    });
    return this.issue(owner.id, dto.name, grant);
  }

  async list(actor: Principal, userId?: string): Promise<ApiKeyDto[]> {
    const owner = actor.role === 'admin' ? userId : actor.userId;
    const keys = await this.keys.find({ where: owner ? { userId: owner } : {}, order: { createdAt: 'ASC' } });
    return keys.map(toApiKeyDto);
  }

  async get(actor: Principal, id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.findVisible(actor, id));
  }

  /** Sets or clears the key's monthly budget (admins); takes effect on every replica at once. */
  async setBudget(actor: Principal, id: string, budget: BudgetDto): Promise<ApiKeyDto> {
    const key = await this.findVisible(actor, id, true);
    if (budget.monthly_token_budget !== undefined)
      key.monthlyTokenBudget = budget.monthly_token_budget?.toString() ?? null;
    if (budget.monthly_budget_rub !== undefined) key.monthlyBudgetRub = budget.monthly_budget_rub;
    await this.keys.update(
      { id: key.id },
      { monthlyTokenBudget: key.monthlyTokenBudget, monthlyBudgetRub: key.monthlyBudgetRub },
    );
    await this.credentials.invalidate(key.secretHash);
    return toApiKeyDto(key);
  }

  async revoke(actor: Principal, id: string): Promise<ApiKeyDto> {
    const key = await this.findVisible(actor, id, true);
    if (!key.revokedAt) {
      key.revokedAt = new Date();
      await this.keys.update({ id: key.id }, { revokedAt: key.revokedAt });
    }
    await this.credentials.invalidate(key.secretHash);
    return toApiKeyDto(key);
  }

  /** A new secret with the same settings; the old key is revoked at once. */
  async rotate(actor: Principal, id: string): Promise<CreatedApiKeyDto> {
    const key = await this.findVisible(actor, id, true);
    if (key.revokedAt) throw new GatewayError(ErrorCode.BAD_REQUEST, 'A revoked key cannot be rotated');
    const created = await this.issue(key.userId, key.name, {
      scopes: key.scopes,
      allowedModels: key.allowedModels,
      rpmLimit: key.rpmLimit,
      tpmLimit: key.tpmLimit,
      expiresAt: key.expiresAt,
    });
    await this.revoke(actor, key.id);
    return created;
  }

  private async issue(userId: string, name: string, grant: ReturnType<typeof narrowGrant>): Promise<CreatedApiKeyDto> {
    const secret = generateApiKeySecret();
    const key = await this.keys.save(
      this.keys.create({
        userId,
        name,
        prefix: displayPrefix(secret),
        secretHash: hashSecret(secret),
        scopes: grant.scopes,
        allowedModels: grant.allowedModels,
        rpmLimit: grant.rpmLimit,
        tpmLimit: grant.tpmLimit,
        expiresAt: grant.expiresAt,
        revokedAt: null,
        lastUsedAt: null,
      }),
    );
    // A hash presented before it existed may be cached as unknown on some replica.
    await this.credentials.invalidate(key.secretHash);
    return { ...toApiKeyDto(key), key: secret };
  }

  private async findVisible(actor: Principal, id: string, withHash = false): Promise<ApiKeyEntity> {
    const query = this.keys
      .createQueryBuilder('key')
      .where('key.id = :id', { id: /^[0-9a-f-]{36}$/i.test(id) ? id : null });
    if (withHash) query.addSelect('key.secretHash');
    if (actor.role !== 'admin') query.andWhere('key.user_id = :owner', { owner: actor.userId });
    const key = await query.getOne();
    if (!key) throw new GatewayError(ErrorCode.NOT_FOUND, `No API key with id '${id}'`);
    return key;
  }
}
