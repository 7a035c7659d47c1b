/**
 * Yandex Cloud IAM emulator, under `/yandex/iam`: `POST /v1/tokens {"jwt": …}` → `{iamToken, expiresAt}` for a
 * service-account JWT (PS256, `kid` a configured key id, `iss` its service account, `aud`
 * https://iam.api.cloud.yandex.net/iam/v1/tokens, at most one hour between `iat` and `exp`) whose signature verifies
 * with that key's public key. Tokens live `yandexIamTokenTtlMs` (so a test can see them expire); the model API
 * accepts them as `Bearer` until then. Each token issued counts in the stats (`oauthTokensIssued` of yandex).
 */
import { constants, createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import type { EmulatorState } from './emulator-state';
import type { Exchange, ProviderHandler } from './emulator-http';
import { beginAnswer, isRecord, parseJsonObject, readBody, sendJson } from './emulator-http';
import { writeYandexError } from './yandex.emulator';

export const YANDEX_IAM_AUDIENCE = 'https://iam.api.cloud.yandex.net/iam/v1/tokens';

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** IAM tokens issued by one emulator, with their expiry (epoch ms). */
export class IamTokens {
  private readonly tokens = new Map<string, number>();

  issue(ttlMs: number): { token: string; expiresAt: number } {
    const token = `t1.emulator.${randomBytes(12).toString('hex')}`;
    const expiresAt = Date.now() + ttlMs;
    this.tokens.set(token, expiresAt);
    return { token, expiresAt };
  }

  /** 'valid', 'expired' or 'unknown'. */
  check(token: string): 'valid' | 'expired' | 'unknown' {
    const expiresAt = this.tokens.get(token);
    if (expiresAt === undefined) return 'unknown';
    return Date.now() < expiresAt ? 'valid' : 'expired';
  }
}

export function createYandexIamEmulator(state: EmulatorState, tokens: IamTokens): ProviderHandler {
  /** The refusal message, or undefined when the JWT is one IAM would take (PS256 checked with node's crypto). */
  const verify = (jwt: string): string | undefined => {
    const parts = jwt.split('.');
    const header = parts.length === 3 ? decodePart(parts[0]) : undefined;
    const payload = parts.length === 3 ? decodePart(parts[1]) : undefined;
    if (!header || !payload) return 'The JWT is malformed';
    if (header.alg !== 'PS256') return `The JWT algorithm must be PS256, not '${String(header.alg)}'`;
    const key = state.options.yandexServiceAccountKeys.find((candidate) => candidate.id === header.kid);
    if (!key) return `Unknown key id '${String(header.kid)}'`;
    const signed = verifySignature(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: createPublicKey(key.public_key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      Buffer.from(parts[2], 'base64url'),
    );
    if (!signed) return 'The JWT is invalid: signature verification failed';
    if (payload.aud !== YANDEX_IAM_AUDIENCE) return `The JWT audience must be ${YANDEX_IAM_AUDIENCE}`;
    if (payload.iss !== key.service_account_id) return "The JWT issuer is not the key's service account";
    const { iat, exp } = payload;
    if (typeof iat !== 'number' || typeof exp !== 'number') return 'The JWT needs iat and exp';
    if (exp * 1000 <= Date.now()) return 'The JWT has expired';
    if (exp - iat > 3600) return 'The JWT lives longer than one hour';
    return undefined;
  };

  return async (req, res, path) => {
    const route = req.method === 'POST' && path === '/v1/tokens' ? 'POST /iam/v1/tokens' : 'unmatched';
    state.stats.request('yandex', route);
    const x: Exchange = { req, res, provider: 'yandex', route, state };
    if (route === 'unmatched') return writeYandexError(x, 404, `Unknown method ${req.method} ${path}`);
    const body = parseJsonObject(await readBody(req));
    if (!isRecord(body) || typeof body.jwt !== 'string') return writeYandexError(x, 400, 'jwt is required');
    const answering = await beginAnswer(x, writeYandexError);
    if (!answering) return;
    const refused = verify(body.jwt);
    if (refused) return writeYandexError(x, 401, refused);
    const issued = tokens.issue(state.options.yandexIamTokenTtlMs);
    state.stats.tokenIssued('yandex');
    sendJson(res, 200, { iamToken: issued.token, expiresAt: new Date(issued.expiresAt).toISOString() });
  };
}
