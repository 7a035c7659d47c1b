import { createHash } from 'node:crypto';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { Store } from '@xrouter/store';
import { SharedTokenCache, type IssuedToken, type SharedTokenCacheOptions } from '../auth/shared-token.cache';
import type { UpstreamHttpClient } from '../http/upstream-http.client';
import type { DeploymentTarget } from '../llm-provider.interface';

/** Cloud.ru IAM's token endpoint, used when the provider config has no `auth_url`. */
export const CLOUD_RU_DEFAULT_TOKEN_URL = 'https://iam.api.cloud.ru/api/v1/auth/token';
/** The lifetime assumed when the answer has no `expires_in` (Cloud.ru's own SDK assumes the same hour). */
const DEFAULT_EXPIRES_IN_S = 3600;

interface CloudRuTokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
}

/**
 * Cloud.ru service-account access keys (`key_id` + `key_secret`) exchanged for an IAM access token:
 * `POST {auth_url} {"keyId", "secret"}` → `{"access_token", "expires_in" (seconds)}`, sent as `Bearer`. Read from
 * Cloud.ru's own `evolution-openai` SDK (`token_manager.py`) and Cloud.ru's docs as quoted by third parties; not
 * recorded against the live service. Tokens are shared and refreshed like GigaChat's ({@link SharedTokenCache}).
 */
export class CloudRuTokenCache extends SharedTokenCache {
  constructor(
    private readonly http: UpstreamHttpClient,
    store: Store,
    options: SharedTokenCacheOptions = {},
    private readonly timeoutMs = 10_000,
  ) {
    super(store, 'cloudru_token', 'Cloud.ru tokens are kept per replica until it is back', options);
  }

  protected keyOf(target: DeploymentTarget): string {
    const { provider, account } = target;
    const digest = createHash('sha256')
      .update(`${provider.auth_url ?? CLOUD_RU_DEFAULT_TOKEN_URL}\n${account.key_id ?? ''}\n`)
      .update(account.key_secret ?? '')
      .digest('hex');
    return `cloudru:token:${digest}`;
  }

  protected async issue(target: DeploymentTarget): Promise<IssuedToken> {
    const { provider, account } = target;
    if (!account.key_id || !account.key_secret) {
      throw new GatewayError(ErrorCode.UPSTREAM_AUTH, `${provider.id}/${account.id}: no key_id/key_secret configured`);
    }
    const answer = await this.exchange<CloudRuTokenResponse>(
      this.http,
      provider,
      {
        method: 'POST',
        url: provider.auth_url ?? CLOUD_RU_DEFAULT_TOKEN_URL,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ keyId: account.key_id, secret: account.key_secret }),
      },
      { ms: this.timeoutMs, message: `${provider.id}: the IAM token call timed out` },
      (status) => `${provider.id}: Cloud.ru IAM refused the gateway's access key (HTTP ${status})`,
    );
    const token = answer.access_token;
    const expiresIn = answer.expires_in ?? DEFAULT_EXPIRES_IN_S;
    if (typeof token !== 'string' || token === '' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${provider.id}: the IAM answer has no usable token`);
    }
    return { token, expiresAt: this.now() + expiresIn * 1000 };
  }
}
