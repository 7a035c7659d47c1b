import { OAUTH_SCOPES } from '../authority';

/**
 * The pure decisions of the authorization server: which redirect URIs may be registered and presented, which scopes
 * a grant gets, and what a presented refresh token means. No I/O here; OAuthService wires these to the store and
 * the database.
 */

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** RFC 8252 §7.1 private-use scheme: reverse domain name, so it contains a dot. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*\.[a-z0-9+.-]*:$/;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a client may register `uri`: absolute, no fragment, no credentials; https anywhere, http only on loopback
 * (native apps, RFC 8252 §7.3), or a private-use scheme such as `com.example.app:/callback` (RFC 8252 §7.1).
 */
export function isRegistrableRedirectUri(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.hash || uri.includes('#') || url.username || url.password) return false;
  if (url.protocol === 'https:') return url.hostname !== '';
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname);
  return PRIVATE_USE_SCHEME.test(url.protocol);
}

/** Exact, character-for-character comparison against the registered URIs: no prefix, no normalisation. */
export function isRegisteredRedirectUri(registered: readonly string[], presented: string): boolean {
  return registered.includes(presented);
}

/** The client id is the client's uuid; anything else names no client (and must not reach a uuid column). */
export function isClientIdShape(clientId: string): boolean {
  return UUID.test(clientId);
}

/** The `scope` parameter as a list: space-delimited, duplicates dropped; null when a token is malformed. */
export function parseScope(scope: string | undefined): string[] | null {
  if (scope === undefined) return [];
  const tokens = scope.split(' ').filter((token) => token !== '');
  if (!tokens.every((token) => SCOPE_TOKEN.test(token))) return null;
  return [...new Set(tokens)];
}

/**
 * What an authorization grants: every requested scope must be one the client is registered for and one an OAuth
 * token may carry at all (else null: `invalid_scope`); asking for none means all of those.
 */
export function grantScopes(clientScopes: readonly string[], requested: readonly string[]): string[] | null {
  const grantable = clientScopes.filter((scope) => (OAUTH_SCOPES as readonly string[]).includes(scope));
  if (requested.length === 0) return grantable.length > 0 ? grantable : null;
  return requested.every((scope) => grantable.includes(scope)) ? [...requested] : null;
}

/** A stored refresh token as the rotation decision sees it. */
export interface RefreshTokenState {
  clientId: string;
  usedAt: Date | null;
  revokedAt: Date | null;
  expiresAt: Date;
  /** The client was deleted or the user disabled since the grant. */
  grantWithdrawn: boolean;
}

/**
 * `rotate`: exchange it for a new pair in the same family. `reuse`: it was already exchanged — somebody replays it,
 * so the whole family is revoked (RFC 9700 §4.14.2). `invalid`: unknown, revoked, expired, or another client's.
 */
export type RefreshDecision = 'rotate' | 'reuse' | 'invalid';

export function classifyRefreshToken(token: RefreshTokenState | null, clientId: string, now: number): RefreshDecision {
  if (!token || token.clientId !== clientId) return 'invalid';
  if (token.usedAt) return 'reuse';
  if (token.revokedAt || token.expiresAt.getTime() <= now || token.grantWithdrawn) return 'invalid';
  return 'rotate';
}

/** `redirectUri` with the response parameters added to its query (keeping any query it already has). */
export function withResponseParams(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}
