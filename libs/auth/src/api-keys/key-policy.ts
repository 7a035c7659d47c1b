import { ErrorCode, GatewayError } from '@xrouter/common';
import type { Principal } from '../principal';

export interface KeyGrant {
  scopes: string[];
  allowedModels: string[] | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  expiresAt: Date | null;
}

function refuse(message: string, param: string): never {
  throw new GatewayError(ErrorCode.FORBIDDEN, message, { param });
}

/**
 * What a non-admin may grant a key of their own: never more than the key they call with. Scopes and models must be
 * a subset, limits no higher, expiry no later; unset fields inherit the creator's restriction. Admins grant freely.
 */
export function narrowGrant(creator: Principal, requested: KeyGrant): KeyGrant {
  if (creator.role === 'admin') return requested;
  const scopes = requested.scopes.length > 0 ? requested.scopes : [...creator.scopes];
  if (creator.scopes.length > 0 && !scopes.every((s) => creator.scopes.includes(s))) {
    refuse('A key cannot grant scopes its creator does not have', 'scopes');
  }
  const models = requested.allowedModels ?? (creator.allowedModels ? [...creator.allowedModels] : null);
  if (creator.allowedModels && (!models || !models.every((m) => creator.allowedModels?.includes(m)))) {
    refuse('A key cannot allow models its creator may not use', 'allowed_models');
  }
  const limit = (asked: number | null, own: number | null, param: string): number | null => {
    if (own === null) return asked;
    if (asked !== null && asked > own) refuse(`A key cannot have a higher ${param} than its creator (${own})`, param);
    return asked ?? own;
  };
  const ownExpiry = creator.expiresAt === null ? null : new Date(creator.expiresAt);
  if (ownExpiry && requested.expiresAt && requested.expiresAt > ownExpiry) {
    refuse('A key cannot outlive the key that created it', 'expires_at');
  }
  return {
    scopes,
    allowedModels: models,
    rpmLimit: limit(requested.rpmLimit, creator.rpmLimit, 'rpm_limit'),
    tpmLimit: limit(requested.tpmLimit, creator.tpmLimit, 'tpm_limit'),
    expiresAt: requested.expiresAt ?? ownExpiry,
  };
}
