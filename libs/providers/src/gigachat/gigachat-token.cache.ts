import { createHash, randomUUID } from 'node:crypto';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { Store } from '@xrouter/store';
import { SharedTokenCache, type IssuedToken, type SharedTokenCacheOptions } from '../auth/shared-token.cache';
import type { UpstreamHttpClient } from '../http/upstream-http.client';
import type { DeploymentTarget } from '../llm-provider.interface';
import type { GigaChatTokenResponse } from './gigachat.types';

/** The official OAuth endpoint, used when the provider config has no `auth_url`. */
export const GIGACHAT_DEFAULT_AUTH_URL = 'https://ngw.devices.sberbank.ru:9443/api/v2/oauth';
export const GIGACHAT_DEFAULT_SCOPE = 'GIGACHAT_API_PERS';

export interface GigaChatTokenCacheOptions extends SharedTokenCacheOptions {
  /** Deadline of one OAuth call (default 10 s); not tied to any caller, since callers share the refresh. */
  oauthTimeoutMs?: number;
}

/** `expires_at` is documented (and sent) in milliseconds; a seconds value (REST page example, legacy `exp`) is scaled. */
const SECONDS_LIMIT = 100_000_000_000;

function toEpochMs(value: number): number {
  return value < SECONDS_LIMIT ? value * 1000 : value;
}

/**
 * GigaChat access tokens per credential (auth URL, scope, authorization key), shared by every replica through the
 * store, single-flight, refreshed ahead of expiry: the {@link SharedTokenCache} with GigaChat's OAuth call.
 * The store key is a SHA-256 of the credential, never the key itself.
 */
export class GigaChatTokenCache extends SharedTokenCache {
  private readonly oauthTimeoutMs: number;

  constructor(
    private readonly http: UpstreamHttpClient,
    store: Store,
    options: GigaChatTokenCacheOptions = {},
  ) {
    super(
      store,
      'gigachat_token',
      'GigaChat tokens are cached per process and refreshed without the cross-replica lock',
      options,
    );
    this.oauthTimeoutMs = options.oauthTimeoutMs ?? 10_000;
  }

  /** The store key of a credential: a SHA-256 of the OAuth URL, the scope and the authorization key. */
  static keyOf(target: DeploymentTarget): string {
    const { provider, account } = target;
    const digest = createHash('sha256')
      .update(`${provider.auth_url ?? GIGACHAT_DEFAULT_AUTH_URL}\n${account.scope ?? GIGACHAT_DEFAULT_SCOPE}\n`)
      .update(account.auth_key ?? '')
      .digest('hex');
    return `gigachat:token:${digest}`;
  }

  protected keyOf(target: DeploymentTarget): string {
    return GigaChatTokenCache.keyOf(target);
  }

  /** One OAuth call. A 400/401/403 there means the gateway's own credentials are wrong: UPSTREAM_AUTH. */
  protected async issue(target: DeploymentTarget): Promise<IssuedToken> {
    const { provider, account } = target;
    if (!account.auth_key) {
      throw new GatewayError(
        ErrorCode.UPSTREAM_AUTH,
        `${provider.id}/${account.id}: no GigaChat auth_key is configured`,
      );
    }
    const answer = await this.exchange<GigaChatTokenResponse>(
      this.http,
      provider,
      {
        method: 'POST',
        url: provider.auth_url ?? GIGACHAT_DEFAULT_AUTH_URL,
        headers: {
          authorization: `Basic ${account.auth_key}`,
          rquid: randomUUID(),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ scope: account.scope ?? GIGACHAT_DEFAULT_SCOPE }).toString(),
      },
      { ms: this.oauthTimeoutMs, message: `${provider.id}: the OAuth call timed out` },
      (status) => `${provider.id}: the GigaChat OAuth host refused the gateway's credentials (HTTP ${status})`,
    );
    const token = answer.access_token ?? answer.tok;
    const expires = answer.expires_at ?? answer.exp;
    if (typeof token !== 'string' || token === '' || typeof expires !== 'number' || !Number.isFinite(expires)) {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${provider.id}: the OAuth answer has no usable token`);
    }
    return { token, expiresAt: toEpochMs(expires) };
  }
}
