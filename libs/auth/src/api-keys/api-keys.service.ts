import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Repository } from 'typeorm';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { StoreUnavailableError } from '@xrouter/store';
import { MAX_CHAIN_DEPTH } from '../api-key.resolver';
import { displayPrefix, generateApiKeySecret, hashSecret } from '../api-key-secret';
import { covers, grantFrom, narrow, permits, roleAuthority, type Authority, type Grant } from '../authority';
import { CredentialService } from '../credential.service';
import { ApiKeyEntity } from '../entities/api-key.entity';
import { UserEntity } from '../entities/user.entity';
import type { Principal } from '../principal';
import type { BudgetDto } from '../budget.dto';
import type { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-key.dto';
import { revokeKeyTrees } from './key-trees';

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function toApiKeyDto(key: ApiKeyEntity): ApiKeyDto {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    user_id: key.userId,
    parent_key_id: key.parentKeyId,
    parent_token_id: key.parentTokenId,
    scopes: key.scopes,
    allowed_models: key.allowedModels,
    rpm_limit: key.rpmLimit,
    tpm_limit: key.tpmLimit,
    cache: key.answerCache,
    expires_at: iso(key.expiresAt),
    monthly_token_budget: key.monthlyTokenBudget === null ? null : Number(key.monthlyTokenBudget),
    monthly_budget_rub: key.monthlyBudgetRub,
    revoked_at: iso(key.revokedAt),
    last_used_at: iso(key.lastUsedAt),
    created_at: key.createdAt.toISOString(),
  };
}

/** A stored key's own grant, to compare with the caller's authority. */
function grantOf(key: ApiKeyEntity): Authority {
  return {
    scopes: key.scopes,
    allowedModels: key.allowedModels,
    rpmLimit: key.rpmLimit,
    tpmLimit: key.tpmLimit,
    expiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
  };
}

/**
 * Which routes a call came through: `admin` (/admin/api-keys, where the guard already required the `admin` scope:
 * every user's keys) or `account` (/account/api-keys: the caller's own keys, whatever its scopes).
 */
export type KeyDoor = 'admin' | 'account';

/**
 * API keys: created for a user (by an admin) or by a credential for its own user, shown once, stored as SHA-256.
 * What a key may do is decided by the grant functions (`authority.ts`): a new key gets at most its creator's
 * authority; a key its user's credential makes for itself records that credential as its parent and dies with it;
 * rotating or revoking a key takes a credential at least as wide as that key (or, for revocation, an admin).
 * Users see only their own keys (another user's key is "not found", never "forbidden", so ids leak nothing).
 * Revoking or rotating invalidates the key — and the keys it made — on every replica at once.
 */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly dataSource: DataSource,
    private readonly credentials: CredentialService,
  ) {}

  async create(actor: Principal, dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const ownerId = dto.user_id ?? actor.userId;
    const own = ownerId === actor.userId;
    if (!own && !permits(actor, ['admin'])) {
      throw new GatewayError(ErrorCode.FORBIDDEN, 'Only admins create keys for other users', { param: 'user_id' });
    }
    const owner = await this.users.findOneBy({ id: ownerId, disabledAt: IsNull() });
    if (!owner)
      throw new GatewayError(ErrorCode.NOT_FOUND, `No active user with id '${ownerId}'`, { param: 'user_id' });
    const expiresAt = dto.expires_at ? Date.parse(dto.expires_at) : null;
    if (expiresAt !== null && !Number.isFinite(expiresAt)) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'expires_at must be a date and time like 2027-01-01T00:00:00Z', {
        param: 'expires_at',
      });
    }
    if (expiresAt !== null && expiresAt <= Date.now()) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'expires_at must be in the future', { param: 'expires_at' });
    }
    if (own && actor.kind === 'api_key' && actor.issuers.length + 1 >= MAX_CHAIN_DEPTH) {
      throw new GatewayError(
        ErrorCode.FORBIDDEN,
        `A key ${MAX_CHAIN_DEPTH - 1} levels below its root cannot make more keys; make them from a key higher up`,
      );
    }
    // Never more than the creating credential, and never more than the owner's role allows (`admin` for admins).
    const grant = grantFrom(narrow(actor, roleAuthority(owner.role)), {
      // JSON null is "not given", like an absent field (optional fields accept null).
      scopes: dto.scopes ?? undefined,
      allowedModels: dto.allowed_models ?? null,
      rpmLimit: dto.rpm_limit ?? null,
      tpmLimit: dto.tpm_limit ?? null,
      expiresAt,
    });
    const secret = generateApiKeySecret();
    const key = await this.keys.save(
      this.keys.create({
        userId: owner.id,
        // A credential making a key for its own user is that key's issuer; an admin's key for another user stands
        // on its own (it is that user's root key, within the admin's authority when it was made).
        parentKeyId: own && actor.kind === 'api_key' ? actor.credentialId : null,
        parentTokenId: own && actor.kind === 'oauth' ? actor.credentialId : null,
        name: dto.name,
        prefix: displayPrefix(secret),
        secretHash: hashSecret(secret),
        ...columnsOf(grant),
        revokedAt: null,
        lastUsedAt: null,
        monthlyTokenBudget: null,
        monthlyBudgetRub: null,
        answerCache: dto.cache ?? false,
      }),
    );
    // No cache announcement: a 256-bit secret nobody has seen cannot be cached as unknown anywhere.
    return { ...toApiKeyDto(key), key: secret };
  }

  async list(actor: Principal, door: KeyDoor, userId?: string): Promise<ApiKeyDto[]> {
    const owner = door === 'admin' && permits(actor, ['admin']) ? userId : actor.userId;
    const keys = await this.keys.find({ where: owner ? { userId: owner } : {}, order: { createdAt: 'ASC' } });
    return keys.map(toApiKeyDto);
  }

  async get(actor: Principal, door: KeyDoor, id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.findVisible(actor, door, id));
  }

  /** Sets or clears the key's monthly budget (admins); takes effect on every replica at once. */
  async setBudget(actor: Principal, id: string, budget: BudgetDto): Promise<ApiKeyDto> {
    const key = await this.findVisible(actor, 'admin', id, true);
    await this.credentials.assertCanAnnounce();
    if (budget.monthly_token_budget !== undefined)
      key.monthlyTokenBudget = budget.monthly_token_budget?.toString() ?? null;
    if (budget.monthly_budget_rub !== undefined) key.monthlyBudgetRub = budget.monthly_budget_rub;
    await this.keys.update(
      { id: key.id },
      { monthlyTokenBudget: key.monthlyTokenBudget, monthlyBudgetRub: key.monthlyBudgetRub },
    );
    // The keys it made spend from this budget too: their cached principals carry it.
    await this.announce(await this.treeHashes(key.id));
    return toApiKeyDto(key);
  }

  /** Revokes the key and every key it made. Idempotent: revoking again announces the revocation again. */
  async revoke(actor: Principal, door: KeyDoor, id: string): Promise<ApiKeyDto> {
    const key = await this.findVisible(actor, door, id, true);
    if (door !== 'admin') await this.assertManages(actor, key, 'revoke');
    await this.credentials.assertCanAnnounce();
    const hashes = await this.dataSource.transaction((tx) => revokeKeyTrees(tx, { keyIds: [key.id] }));
    await this.announce(hashes);
    return toApiKeyDto((await this.keys.findOneBy({ id: key.id })) ?? key);
  }

  /**
   * A new secret for the same key: same id, grant, budget, parent and children, so its spend and limits carry on.
   * The old secret stops working at once, everywhere.
   */
  async rotate(actor: Principal, door: KeyDoor, id: string): Promise<CreatedApiKeyDto> {
    const key = await this.findVisible(actor, door, id, true);
    if (key.revokedAt) throw new GatewayError(ErrorCode.BAD_REQUEST, 'A revoked key cannot be rotated');
    if (door === 'admin') this.assertCovers(actor, key, 'rotate');
    else await this.assertManages(actor, key, 'rotate');
    await this.credentials.assertCanAnnounce();
    const secret = generateApiKeySecret();
    // Compare-and-swap on the secret read above: of two concurrent rotations one wins, and the old secret it replaced
    // is the one announced, so no secret ever stays cached on a replica.
    const result = await this.keys.update(
      { id: key.id, revokedAt: IsNull(), secretHash: key.secretHash },
      { secretHash: hashSecret(secret), prefix: displayPrefix(secret) },
    );
    if (!result.affected) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'The key was revoked or rotated meanwhile; read it again');
    }
    await this.announce([key.secretHash]);
    key.prefix = displayPrefix(secret);
    return { ...toApiKeyDto(key), key: secret };
  }

  /**
   * Outside /admin a credential manages only itself and the keys it made (at any depth) — never its parent or a
   * sibling, however wide, so a key cannot lock its issuer out or take over another app's keys — and only keys that
   * can do no more than it can.
   */
  private async assertManages(actor: Principal, key: ApiKeyEntity, action: 'rotate' | 'revoke'): Promise<void> {
    const [below] = await this.dataSource.query<Array<{ below: boolean }>>(
      `WITH RECURSIVE up AS (
         SELECT id, parent_key_id, parent_token_id FROM api_keys WHERE id = $1
         UNION SELECT k.id, k.parent_key_id, k.parent_token_id FROM api_keys k JOIN up ON k.id = up.parent_key_id
       ) SELECT EXISTS (SELECT 1 FROM up WHERE id = $2 OR parent_token_id = $2) AS below`,
      [key.id, actor.credentialId],
    );
    if (!below?.below) {
      throw new GatewayError(
        ErrorCode.FORBIDDEN,
        `A credential can ${action} only itself and the keys it made; use /admin or a key higher up for this one`,
      );
    }
    this.assertCovers(actor, key, action);
  }

  /** Rotating (or, outside /admin, revoking) a key needs a credential that can do at least what that key can. */
  private assertCovers(actor: Principal, key: ApiKeyEntity, action: 'rotate' | 'revoke'): void {
    if (!covers(actor, grantOf(key))) {
      throw new GatewayError(
        ErrorCode.FORBIDDEN,
        `This credential cannot ${action} a key that may do more than it may (scopes, models, limits or expiry)`,
      );
    }
  }

  /** Tells every replica; a store that failed after the commit is a 503 the caller retries (it is idempotent). */
  private async announce(hashes: readonly string[]): Promise<void> {
    try {
      await this.credentials.invalidateMany(hashes);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.logger.warn(
        'The change is saved but other replicas were not told; they learn of it when their cache expires',
      );
      throw new GatewayError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'The change is saved, but not every replica could be told yet. Retry the same call to announce it again.',
        { retryAfterMs: 1_000, cause: error },
      );
    }
  }

  private async treeHashes(id: string): Promise<string[]> {
    const rows = await this.dataSource.query<Array<{ secret_hash: string }>>(
      `WITH RECURSIVE tree AS (
         SELECT id FROM api_keys WHERE id = $1
         UNION SELECT k.id FROM api_keys k JOIN tree t ON k.parent_key_id = t.id
       ) SELECT secret_hash FROM api_keys WHERE id IN (SELECT id FROM tree)`,
      [id],
    );
    return rows.map((row) => row.secret_hash.trim());
  }

  private async findVisible(actor: Principal, door: KeyDoor, id: string, withHash = false): Promise<ApiKeyEntity> {
    const query = this.keys
      .createQueryBuilder('key')
      .where('key.id = :id', { id: /^[0-9a-f-]{36}$/i.test(id) ? id : null });
    if (withHash) query.addSelect('key.secretHash');
    if (door !== 'admin' || !permits(actor, ['admin'])) {
      query.andWhere('key.user_id = :owner', { owner: actor.userId });
    }
    const key = await query.getOne();
    if (!key) throw new GatewayError(ErrorCode.NOT_FOUND, `No API key with id '${id}'`);
    return key;
  }
}

/** The entity columns of a grant. */
function columnsOf(
  grant: Grant,
): Pick<ApiKeyEntity, 'scopes' | 'allowedModels' | 'rpmLimit' | 'tpmLimit' | 'expiresAt'> {
  return {
    scopes: [...grant.scopes],
    allowedModels: grant.allowedModels ? [...grant.allowedModels] : null,
    rpmLimit: grant.rpmLimit,
    tpmLimit: grant.tpmLimit,
    expiresAt: grant.expiresAt === null ? null : new Date(grant.expiresAt),
  };
}
