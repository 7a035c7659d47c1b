import { constants, createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { parseServiceAccountKey, type ServiceAccountKey } from '@xrouter/config';
import type { Store } from '@xrouter/store';
import { SharedTokenCache, type IssuedToken, type SharedTokenCacheOptions } from '../auth/shared-token.cache';
import type { UpstreamHttpClient } from '../http/upstream-http.client';
import type { DeploymentTarget } from '../llm-provider.interface';

/** The public IAM host, used when the provider config has no `iam_url`. */
export const YANDEX_DEFAULT_IAM_URL = 'https://iam.api.cloud.yandex.net';
/** The JWT audience IAM requires, whichever host the exchange is sent to. */
export const YANDEX_IAM_AUDIENCE = 'https://iam.api.cloud.yandex.net/iam/v1/tokens';
/** The signed JWT's lifetime: IAM accepts at most one hour. */
export const YANDEX_JWT_LIFETIME_S = 3600;
/** Yandex advises requesting a new IAM token every hour although one lives up to 12 h. */
export const YANDEX_IAM_TOKEN_MAX_AGE_MS = 60 * 60 * 1000;

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A compact JWS with PS256 (RFC 7518 §3.5: RSASSA-PSS, SHA-256, MGF1 with SHA-256, a salt as long as the hash), as
 * Yandex IAM takes it. Node's crypto signs it directly; a JOSE library (jose is ESM-only, this code CommonJS) would
 * add an asynchronous loader for one signature.
 */
export function signPs256Jwt(claims: Record<string, unknown>, kid: string, key: KeyObject): string {
  const input = `${base64url({ alg: 'PS256', typ: 'JWT', kid })}.${base64url(claims)}`;
  const signature = sign('sha256', Buffer.from(input), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  });
  return `${input}.${signature.toString('base64url')}`;
}

/** `POST /iam/v1/tokens` answer. */
interface IamTokenResponse {
  iamToken?: string;
  /** RFC 3339, e.g. `2026-12-02T12:00:00.123456Z`. */
  expiresAt?: string;
}

export interface YandexIamTokenCacheOptions extends SharedTokenCacheOptions {
  /** Deadline of one token exchange (default 10 s). */
  exchangeTimeoutMs?: number;
}

/**
 * IAM tokens for service-account authorized keys: a PS256 JWT (`kid` = key id, `iss` = service account,
 * `aud` = the IAM tokens URL, ≤ 1 h) signed with the key's private key, exchanged at `{iam_url}/iam/v1/tokens`
 * for `{iamToken, expiresAt}`. Shared across replicas, single-flight, refreshed ahead of expiry (and at the latest an
 * hour after issue): the {@link SharedTokenCache}, as GigaChat's OAuth tokens. The store key is a SHA-256 of the IAM
 * URL and the key, never the key.
 */
export class YandexIamTokenCache extends SharedTokenCache {
  private readonly exchangeTimeoutMs: number;
  private readonly keys = new Map<string, KeyObject>();

  constructor(
    private readonly http: UpstreamHttpClient,
    store: Store,
    options: YandexIamTokenCacheOptions = {},
  ) {
    super(
      store,
      'yandex_iam_token',
      'Yandex IAM tokens are cached per process and refreshed without the cross-replica lock',
      { refreshMarginMs: 5 * 60_000, ...options },
    );
    this.exchangeTimeoutMs = options.exchangeTimeoutMs ?? 10_000;
  }

  static keyOf(target: DeploymentTarget): string {
    const digest = createHash('sha256')
      .update(`${target.provider.iam_url ?? YANDEX_DEFAULT_IAM_URL}\n`)
      .update(target.account.service_account_key ?? '')
      .digest('hex');
    return `yandex:iam:${digest}`;
  }

  protected keyOf(target: DeploymentTarget): string {
    return YandexIamTokenCache.keyOf(target);
  }

  /** One exchange. A 400/401/403 there means the key is wrong or revoked: UPSTREAM_AUTH naming the account. */
  protected async issue(target: DeploymentTarget): Promise<IssuedToken> {
    const { provider, account } = target;
    const key = this.keyFor(target);
    let jwt: string;
    try {
      jwt = this.signJwt(key);
    } catch (error) {
      throw new GatewayError(
        ErrorCode.UPSTREAM_AUTH,
        `${provider.id}/${account.id}: cannot sign with the private key of service-account key ${key.id}`,
        { cause: error },
      );
    }
    const answer = await this.exchange<IamTokenResponse>(
      this.http,
      provider,
      {
        method: 'POST',
        url: `${(provider.iam_url ?? YANDEX_DEFAULT_IAM_URL).replace(/\/+$/, '')}/iam/v1/tokens`,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ jwt }),
      },
      { ms: this.exchangeTimeoutMs, message: `${provider.id}: the IAM token exchange timed out` },
      (status) => `${provider.id}/${account.id}: Yandex IAM refused the service-account key ${key.id} (HTTP ${status})`,
    );
    const expiresAt = typeof answer?.expiresAt === 'string' ? Date.parse(answer.expiresAt) : NaN;
    if (typeof answer?.iamToken !== 'string' || answer.iamToken === '' || !Number.isFinite(expiresAt)) {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${provider.id}: the IAM answer has no usable token`);
    }
    return { token: answer.iamToken, expiresAt, refreshBy: this.now() + YANDEX_IAM_TOKEN_MAX_AGE_MS };
  }

  private keyFor(target: DeploymentTarget): ServiceAccountKey {
    const parsed = parseServiceAccountKey(target.account.service_account_key ?? '');
    if (typeof parsed === 'string') {
      throw new GatewayError(
        ErrorCode.UPSTREAM_AUTH,
        `${target.provider.id}/${target.account.id}: the service-account key ${parsed}`,
      );
    }
    return parsed;
  }

  private signJwt(key: ServiceAccountKey): string {
    let privateKey = this.keys.get(key.private_key);
    if (!privateKey) {
      privateKey = createPrivateKey(key.private_key);
      this.keys.set(key.private_key, privateKey);
    }
    const now = Math.floor(this.now() / 1000);
    const claims = {
      iss: key.service_account_id,
      aud: YANDEX_IAM_AUDIENCE,
      iat: now,
      exp: now + YANDEX_JWT_LIFETIME_S,
    };
    return signPs256Jwt(claims, key.id, privateKey);
  }
}
