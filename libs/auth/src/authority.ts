import { ErrorCode, GatewayError } from '@xrouter/common';

/**
 * The grant model, in one place. A credential's authority is what its role allows, narrowed by every credential
 * that issued it (an OAuth grant, a parent key, …) and then by its own restrictions. Every check — the guard, the
 * OpenAI routes, key creation and rotation, the OAuth token endpoint — asks these pure functions; nothing compares
 * roles or scope lists anywhere else. Authority only ever narrows: no function here can widen it.
 */

export type Role = 'admin' | 'user';

/** Everything a credential can be allowed to do. `admin` is the power over /admin/*: only an admin's key holds it. */
export const SCOPES = ['chat', 'embeddings', 'keys', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  admin: SCOPES,
  user: ['chat', 'embeddings', 'keys'],
};

/** What an OAuth access token may ever carry, whatever the user's role: approving an app never hands it /admin. */
export const OAUTH_SCOPES: readonly Scope[] = ['chat', 'embeddings', 'keys'];

/**
 * One credential's own restrictions, or what it is allowed in the end. Scopes: exactly these (an empty list is no
 * scope at all). The others: null = no restriction of its own on that axis.
 */
export interface Grant {
  readonly scopes: readonly string[];
  /** null = every model. */
  readonly allowedModels: readonly string[] | null;
  readonly rpmLimit: number | null;
  readonly tpmLimit: number | null;
  /** Epoch ms, or null for no expiry. */
  readonly expiresAt: number | null;
}

/** A grant after every narrowing: what the credential may do now. */
export type Authority = Grant;

/** A link of a credential chain: a grant that restricts scopes (a list) or leaves them as they are (undefined). */
export type Restriction = Partial<Grant>;

const minOf = (a: number | null, b: number | null | undefined): number | null =>
  a === null ? (b ?? null) : b === null || b === undefined ? a : Math.min(a, b);

/** What a role allows, before any credential narrows it. */
export function roleAuthority(role: Role): Authority {
  return {
    scopes: ROLE_SCOPES[role] ?? [],
    allowedModels: null,
    rpmLimit: null,
    tpmLimit: null,
    expiresAt: null,
  };
}

/** `issuer` narrowed by `restriction`: the intersection on every axis. Never wider than `issuer`. */
export function narrow(issuer: Authority, restriction: Restriction): Authority {
  const scopes =
    restriction.scopes === undefined || restriction.scopes === null
      ? issuer.scopes
      : restriction.scopes.filter((s) => issuer.scopes.includes(s));
  const own = restriction.allowedModels;
  const allowedModels =
    own === undefined || own === null
      ? issuer.allowedModels
      : issuer.allowedModels === null
        ? [...new Set(own)]
        : [...new Set(own)].filter((m) => issuer.allowedModels?.includes(m));
  return {
    scopes: [...new Set(scopes)],
    allowedModels,
    rpmLimit: minOf(issuer.rpmLimit, restriction.rpmLimit),
    tpmLimit: minOf(issuer.tpmLimit, restriction.tpmLimit),
    expiresAt: minOf(issuer.expiresAt, restriction.expiresAt),
  };
}

/**
 * THE authority function: the role's authority narrowed by each link of the credential's chain, the issuing
 * credential first and the credential itself last.
 */
export function authorityOf(role: Role, chain: readonly Restriction[]): Authority {
  return chain.reduce<Authority>(narrow, roleAuthority(role));
}

/** Whether `authority` holds every one of `scopes`. */
export function permits(authority: Pick<Authority, 'scopes'>, scopes: readonly string[]): boolean {
  return scopes.every((scope) => authority.scopes.includes(scope));
}

/** Whether `authority` may use the model named `model` (by the name the client sends). */
export function permitsModel(authority: Pick<Authority, 'allowedModels'>, model: string): boolean {
  return authority.allowedModels === null || authority.allowedModels.includes(model);
}

/** Whether `wider` can do at least everything `narrower` can: the test for managing (rotating) another credential. */
export function covers(wider: Authority, narrower: Authority): boolean {
  if (!permits(wider, narrower.scopes)) return false;
  if (wider.allowedModels !== null) {
    if (narrower.allowedModels === null || !narrower.allowedModels.every((m) => wider.allowedModels?.includes(m))) {
      return false;
    }
  }
  const within = (w: number | null, n: number | null) => w === null || (n !== null && n <= w);
  return (
    within(wider.rpmLimit, narrower.rpmLimit) &&
    within(wider.tpmLimit, narrower.tpmLimit) &&
    within(wider.expiresAt, narrower.expiresAt)
  );
}

function refuse(message: string, param: string): never {
  throw new GatewayError(ErrorCode.FORBIDDEN, message, { param });
}

/**
 * The grant of a credential that `issuer` asks to create: what it asks for, where that is within the issuer's
 * authority, and the issuer's own restriction on every axis it leaves unset. Asking for more than the issuer holds
 * is a 403 naming the field — never silently narrowed, so nobody believes a key can do what it cannot.
 */
export function grantFrom(issuer: Authority, requested: Restriction): Grant {
  if (requested.scopes && !permits(issuer, requested.scopes)) {
    refuse(`A credential cannot grant scopes it does not hold (it holds: ${issuer.scopes.join(', ')})`, 'scopes');
  }
  if (
    requested.allowedModels &&
    issuer.allowedModels !== null &&
    !requested.allowedModels.every((m) => issuer.allowedModels?.includes(m))
  ) {
    refuse('A credential cannot allow models it may not use itself', 'allowed_models');
  }
  const limit = (asked: number | null | undefined, own: number | null, param: string): void => {
    if (own !== null && asked !== null && asked !== undefined && asked > own) {
      refuse(`A credential cannot grant a higher ${param} than its own (${own})`, param);
    }
  };
  limit(requested.rpmLimit, issuer.rpmLimit, 'rpm_limit');
  limit(requested.tpmLimit, issuer.tpmLimit, 'tpm_limit');
  if (issuer.expiresAt !== null && requested.expiresAt != null && requested.expiresAt > issuer.expiresAt) {
    refuse('A credential cannot outlive the credential that issues it', 'expires_at');
  }
  return narrow(issuer, requested);
}
