/**
 * Cloud.ru IAM's access-key exchange, under `/cloudru-iam`:
 *   POST /api/v1/auth/token  {"keyId", "secret"} → 200 {"access_token", "id_token", "expires_in"} (seconds)
 * as Cloud.ru's `evolution-openai` SDK and third-party copies of Cloud.ru's docs describe it (not recorded live). A
 * wrong key pair answers 401 (the body's shape is UNVERIFIED). Issued tokens are accepted as `Bearer` by the T-Bank
 * (Cloud.ru Foundation Models) emulator until they expire: EMULATOR_TBANK_TOKEN_TTL_MS (default one hour).
 */
import { randomBytes } from 'node:crypto';
import type { EmulatorState } from './emulator-state';
import type { Exchange, ProviderHandler } from './emulator-http';
import { parseJsonObject, readBody, sendJson } from './emulator-http';

/** Tokens issued by the IAM emulator, with their expiry. */
export class CloudRuTokens {
  private readonly live = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(ttlMs: number): string {
    const token = `cloudru-emu-${randomBytes(16).toString('hex')}`;
    this.live.set(token, this.now() + ttlMs);
    for (const [old, expiresAt] of this.live) if (expiresAt <= this.now()) this.live.delete(old);
    return token;
  }

  isLive(token: string): boolean {
    const expiresAt = this.live.get(token);
    return expiresAt !== undefined && this.now() < expiresAt;
  }
}

export function createCloudRuIamEmulator(state: EmulatorState, tokens: CloudRuTokens): ProviderHandler {
  return async (req, res, path) => {
    const route = req.method === 'POST' && path === '/api/v1/auth/token' ? 'POST /iam/auth/token' : 'unmatched';
    state.stats.request('tbank', route);
    const x: Exchange = { req, res, provider: 'tbank', route, state };
    if (route === 'unmatched') return sendJson(x.res, 404, { message: `No route ${req.method} ${path}` });
    const body = parseJsonObject(await readBody(req));
    const { tbankKeyId, tbankKeySecret, tbankTokenTtlMs } = state.options;
    if (!body || typeof body.keyId !== 'string' || typeof body.secret !== 'string') {
      return sendJson(x.res, 400, { code: 'invalid_request', message: 'keyId and secret are required' });
    }
    if (body.keyId !== tbankKeyId || body.secret !== tbankKeySecret) {
      return sendJson(x.res, 401, { code: 'unauthenticated', message: 'invalid key id or secret' });
    }
    state.stats.tokenIssued('tbank');
    const token = tokens.issue(tbankTokenTtlMs);
    return sendJson(x.res, 200, {
      access_token: token,
      id_token: token,
      expires_in: Math.ceil(tbankTokenTtlMs / 1000),
    });
  };
}
