import { Logger } from '@nestjs/common';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { AccountConfig, ProviderConfig } from '@xrouter/config';
import { MemoryStore } from '@xrouter/store';
import type { UpstreamHttpClient, UpstreamRequest } from '../http/upstream-http.client';
import { upstreamHttpError } from '../http/upstream-error';
import type { DeploymentTarget } from '../llm-provider.interface';
import { GIGACHAT_DEFAULT_SCOPE, GigaChatTokenCache, type GigaChatTokenCacheOptions } from './gigachat-token.cache';
import type { GigaChatTokenResponse } from './gigachat.types';

const NOW = 1_800_000_000_000;
const provider = {
  id: 'giga',
  type: 'gigachat',
  base_url: 'http://giga/api/v1',
  auth_url: 'http://giga/api/v2/oauth',
  accounts: [],
} as unknown as ProviderConfig;
const account: AccountConfig = { id: 'main', auth_key: 'c2VjcmV0LWtleQ==' };
const target: DeploymentTarget = { key: 'giga/main/GigaChat', provider, account, upstreamModel: 'GigaChat' };
const signal = new AbortController().signal;

/** An UpstreamHttpClient whose OAuth answers come from `answer`; records every request. */
function fakeHttp(answer: (n: number) => GigaChatTokenResponse | GatewayError) {
  const requests: UpstreamRequest[] = [];
  const http = {
    sendJson: (_provider: ProviderConfig, request: UpstreamRequest): Promise<unknown> => {
      requests.push(request);
      const result = answer(requests.length);
      return result instanceof GatewayError ? Promise.reject(result) : Promise.resolve(result);
    },
  } as unknown as UpstreamHttpClient;
  return { http, requests };
}

function cache(
  http: UpstreamHttpClient,
  store: MemoryStore,
  options: GigaChatTokenCacheOptions = {},
): { tokens: GigaChatTokenCache; store: MemoryStore } {
  return { tokens: new GigaChatTokenCache(http, store, { now: () => NOW, ...options }), store };
}

const stores: MemoryStore[] = [];
afterAll(async () => Promise.all(stores.map((store) => store.close())));
const newStore = (): MemoryStore => {
  const store = new MemoryStore();
  stores.push(store);
  return store;
};

describe('GigaChatTokenCache', () => {
  it('should ask the OAuth host with Basic auth, a v4 RqUID, the form scope and JSON accepted', async () => {
    const { http, requests } = fakeHttp(() => ({ access_token: 't1', expires_at: NOW + 1_800_000 }));
    const { tokens } = cache(http, newStore());
    expect(await tokens.token(target, signal)).toBe('t1');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: 'http://giga/api/v2/oauth',
      body: `scope=${GIGACHAT_DEFAULT_SCOPE}`,
      headers: {
        authorization: 'Basic c2VjcmV0LWtleQ==',
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
    });
    expect(requests[0].headers.rquid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it.each<[string, GigaChatTokenResponse, number, number]>([
    ['expires_at in milliseconds', { access_token: 't', expires_at: NOW + 1_800_000 }, NOW + 1_800_000, 60_000],
    ['expires_at in seconds', { access_token: 't', expires_at: (NOW + 1_800_000) / 1000 }, NOW + 1_800_000, 60_000],
    ['the legacy tok/exp (seconds)', { tok: 't', exp: (NOW + 1_800_000) / 1000 }, NOW + 1_800_000, 60_000],
    [
      'a short-lived token (refreshed at half life)',
      { access_token: 't', expires_at: NOW + 2_000 },
      NOW + 2_000,
      1_000,
    ],
  ])('should store %s until the refresh margin', async (_title, answer, expiresAt, margin) => {
    const { tokens, store } = cache(fakeHttp(() => answer).http, newStore());
    await tokens.token(target, signal);
    const stored = JSON.parse((await store.get(GigaChatTokenCache.keyOf(target))) ?? 'null') as unknown;
    expect(stored).toEqual({ token: 't', expiresAt, refreshAt: expiresAt - margin });
  });

  it('should refresh once the refresh margin is reached', async () => {
    let now = NOW;
    const { http, requests } = fakeHttp((n) => ({ access_token: `t${n}`, expires_at: NOW + 1_800_000 * n }));
    const tokens = new GigaChatTokenCache(http, newStore(), { now: () => now });
    expect(await tokens.token(target, signal)).toBe('t1');
    now = NOW + 1_800_000 - 60_001;
    expect(await tokens.token(target, signal)).toBe('t1');
    now = NOW + 1_800_000 - 60_000;
    expect(await tokens.token(target, signal)).toBe('t2');
    expect(requests).toHaveLength(2);
  });

  it.each([
    [400, ErrorCode.UPSTREAM_AUTH],
    [401, ErrorCode.UPSTREAM_AUTH],
    [403, ErrorCode.UPSTREAM_AUTH],
    [429, ErrorCode.RATE_LIMITED],
    [500, ErrorCode.UPSTREAM_5XX],
  ])('should turn an OAuth %i into %s', async (status, code) => {
    const refused = upstreamHttpError('giga', status, '{"code":6,"message":"credentials doesn\'t match db data"}', {});
    const { tokens } = cache(fakeHttp(() => refused).http, newStore());
    const error = await tokens.token(target, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe(code);
    expect((error as GatewayError).upstreamStatus).toBe(status);
  });

  it('should refuse an OAuth answer without a token as a bad upstream response', async () => {
    const { tokens } = cache(fakeHttp(() => ({ expires_at: NOW + 1_000_000 })).http, newStore());
    await expect(tokens.token(target, signal)).rejects.toMatchObject({ code: ErrorCode.UPSTREAM_BAD_RESPONSE });
  });

  it('should drop a refused token, but not a newer one that already replaced it', async () => {
    const { http, requests } = fakeHttp((n) => ({ access_token: `t${n}`, expires_at: NOW + 1_800_000 }));
    const { tokens, store } = cache(http, newStore());
    expect(await tokens.token(target, signal)).toBe('t1');
    await tokens.invalidate(target, 't1');
    expect(await store.get(GigaChatTokenCache.keyOf(target))).toBeNull();
    expect(await tokens.token(target, signal)).toBe('t2');
    await tokens.invalidate(target, 't1'); // a late 401 of a call that still used t1
    expect(await tokens.token(target, signal)).toBe('t2');
    expect(await store.get(GigaChatTokenCache.keyOf(target))).toContain('"t2"');
    expect(requests).toHaveLength(2);
  });

  it("should wait for the lock holder's token instead of calling OAuth (another replica refreshing)", async () => {
    const store = newStore();
    const { http, requests } = fakeHttp(() => ({ access_token: 'mine', expires_at: NOW + 1_800_000 }));
    const { tokens } = cache(http, store, { lockPollMs: 5, lockWaitMs: 2_000 });
    const key = GigaChatTokenCache.keyOf(target);
    const lock = await store.acquireLock(`${key}:refresh`, 10_000);
    const pending = tokens.token(target, signal);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const theirs = { token: 'theirs', expiresAt: NOW + 1_800_000, refreshAt: NOW + 1_740_000 };
    await store.set(key, JSON.stringify(theirs), 60_000);
    await lock?.release();
    expect(await pending).toBe('theirs');
    expect(requests).toHaveLength(0);
  });

  it('should refresh itself when the lock holder produces nothing within lockWaitMs', async () => {
    const store = newStore();
    const { http, requests } = fakeHttp(() => ({ access_token: 'mine', expires_at: NOW + 1_800_000 }));
    const { tokens } = cache(http, store, { lockPollMs: 5, lockWaitMs: 40 });
    const lock = await store.acquireLock(`${GigaChatTokenCache.keyOf(target)}:refresh`, 10_000);
    const started = Date.now();
    expect(await tokens.token(target, signal)).toBe('mine');
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(requests).toHaveLength(1);
    await lock?.release();
  });

  it('should fetch and keep tokens in-process while the store is down, warning once for the outage', async () => {
    const store = newStore();
    await store.close();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const { http, requests } = fakeHttp((n) => ({ access_token: `t${n}`, expires_at: NOW + 1_800_000 }));
      const { tokens } = cache(http, store);
      expect(await tokens.token(target, signal)).toBe('t1');
      expect(await tokens.token(target, signal)).toBe('t1');
      await tokens.invalidate(target, 't1');
      expect(await tokens.token(target, signal)).toBe('t2');
      expect(requests).toHaveLength(2);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/store is unavailable for gigachat_token/);
    } finally {
      warn.mockRestore();
    }
  });

  it('should key the cache by a SHA-256 of URL, scope and key: other scope, other entry; the key never appears', () => {
    const key = GigaChatTokenCache.keyOf(target);
    expect(key).toMatch(/^gigachat:token:[0-9a-f]{64}$/);
    expect(key).not.toContain(account.auth_key);
    const b2b = { ...target, account: { ...account, scope: 'GIGACHAT_API_B2B' } };
    expect(GigaChatTokenCache.keyOf(b2b)).not.toBe(key);
    expect(GigaChatTokenCache.keyOf({ ...target, key: 'other/deployment' })).toBe(key);
  });
});
