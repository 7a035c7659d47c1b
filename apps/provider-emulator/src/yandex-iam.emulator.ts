/**
 * Yandex Cloud IAM emulator, under `/yandex/iam`: `POST /v1/tokens {"jwt": …}` → `{iamToken, expiresAt}` for a
 * service-account JWT (PS256, `kid` a configured key id, `iss` its service account, `aud`
 * https://iam.api.cloud.yandex.net/iam/v1/tokens, at most one hour between `iat` and `exp`) whose signature verifies
 * with that key's public key. Tokens live `yandexIamTokenTtlMs` (so a test can see them expire); the model API
 * accepts them as `Bearer` until then. Each token issued counts in the stats (`oauthTokensIssued` of yandex).
 */
import { randomBytes } from 'node:crypto';
import type * as Jose from 'jose';
import type { EmulatorState } from './emulator-state';
import type { Exchange, ProviderHandler } from './emulator-http';
import { beginAnswer, isRecord, parseJsonObject, readBody, sendJson } from './emulator-http';
import { writeYandexError } from './yandex.emulator';

export const YANDEX_IAM_AUDIENCE = 'https://iam.api.cloud.yandex.net/iam/v1/tokens';

// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a constant string, not user input
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

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
  let jose: Promise<typeof Jose> | undefined;

  /** The refusal message, or undefined when the JWT is one IAM would take. */
  const verify = async (jwt: string): Promise<string | undefined> => {
    jose ??= importEsm('jose') as Promise<typeof Jose>;
    const { decodeProtectedHeader, importSPKI, jwtVerify } = await jose;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(jwt).kid;
    } catch {
      return 'The JWT is malformed';
    }
    const key = state.options.yandexServiceAccountKeys.find((candidate) => candidate.id === kid);
    if (!key) return `Unknown key id '${String(kid)}'`;
    try {
      const { payload } = await jwtVerify(jwt, await importSPKI(key.public_key, 'PS256'), {
        algorithms: ['PS256'],
        audience: YANDEX_IAM_AUDIENCE,
        issuer: key.service_account_id,
        requiredClaims: ['iat', 'exp'],
      });
      if ((payload.exp ?? 0) - (payload.iat ?? 0) > 3600) return 'The JWT lives longer than one hour';
    } catch (error) {
      return `The JWT is invalid: ${(error as Error).message}`;
    }
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
    const refused = await verify(body.jwt);
    if (refused) return writeYandexError(x, 401, refused);
    const issued = tokens.issue(state.options.yandexIamTokenTtlMs);
    state.stats.tokenIssued('yandex');
    sendJson(res, 200, { iamToken: issued.token, expiresAt: new Date(issued.expiresAt).toISOString() });
  };
}
