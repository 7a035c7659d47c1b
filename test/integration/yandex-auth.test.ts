import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type ChatCompletionRequest } from '@xrouter/common';
import { parseRoutingConfig, type AccountConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, OpenAiCompatibleProvider, UpstreamHttpClient } from '@xrouter/providers';
import { MemoryStore, RedisStore, type Store } from '@xrouter/store';
import { YandexProvider, type YandexProviderOptions } from '../../libs/providers/src/yandex/yandex.provider';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import type { EmulatorOptions } from '../../apps/provider-emulator/src/emulator-defaults';
import { collect, failure } from '../support/outcomes';
import { startRedis } from '../support/local-services';

const FOLDER = 'b1gtestfolder';
const API_KEY = 'test-yandex-key';

/** A service account's authorized key as `yc iam key create` writes it, from a key pair generated for this run. */
function authorizedKey(id: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    id,
    service_account_id: 'ajetestserviceaccount',
    created_at: '2026-12-01T00:00:00Z',
    key_algorithm: 'RSA_2048',
    public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    private_key: `PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <${id}>\n${privatePem}`,
  };
}

const ask: ChatCompletionRequest = { model: 'yandex-pro', messages: [{ role: 'user', content: 'Hello there' }] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Yandex credentials and limits against the emulator over HTTP', () => {
  const key = authorizedKey('ajetestkey');
  const stranger = authorizedKey('ajetestkey'); // same key id, another key pair: its signature cannot verify
  const dir = mkdtempSync(join(tmpdir(), 'xr-yandex-auth-'));
  const keyFile = join(dir, 'key.json');
  writeFileSync(keyFile, JSON.stringify(key));

  let emulator: EmulatorServer;
  let base: string;
  const http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
  const closers: Array<() => Promise<void> | void> = [];

  async function startYandex(options: Partial<EmulatorOptions>): Promise<void> {
    if (emulator) await emulator.close();
    emulator = createEmulatorServer({
      yandexApiKey: API_KEY,
      yandexFolderId: FOLDER,
      yandexServiceAccountKeys: [key],
      ...options,
    });
    base = `http://127.0.0.1:${await emulator.listen(0, '127.0.0.1')}`;
  }

  /** The target of one account written as in a config file (so the loader's key-file reading is part of it). */
  function target(account: string, env: NodeJS.ProcessEnv = {}): DeploymentTarget {
    const config = parseRoutingConfig(
      `providers:
  - id: yandex
    type: yandex
    base_url: ${base}/yandex/foundationModels/v1
    iam_url: ${base}/yandex
    accounts: [{ id: main, folder_id: ${FOLDER}, ${account} }]
    free: true
models:
  - name: yandex-pro
    deployments: [{ provider: yandex, model: yandexgpt }]
`,
      'test.yaml',
      env,
    );
    const provider = config.providers[0];
    return { key: 'yandex/main/yandexgpt', provider, account: provider.accounts[0], upstreamModel: 'yandexgpt' };
  }

  function adapter(store: Store = new MemoryStore(), options: YandexProviderOptions = {}): YandexProvider {
    closers.push(() => store.close());
    return new YandexProvider(http, store, options);
  }

  const ctx = (t: DeploymentTarget): CallContext => ({
    target: t,
    signal: new AbortController().signal,
    requestId: 'req-1',
    publicModel: 'yandex-pro',
    completionId: 'chatcmpl-test',
  });

  const stats = () => emulator.state.stats.snapshot().yandex;

  afterAll(async () => {
    for (const close of closers) await close();
    await http.onApplicationShutdown();
    await emulator.close();
  });

  describe('service-account keys', () => {
    beforeAll(() => startYandex({ yandexIamTokenTtlMs: 60_000 }));
    beforeEach(() => emulator.state.stats.reset());

    it('should exchange a PS256 JWT for an IAM token once and use it as Bearer for chats, streams and embeddings', async () => {
      const t = target(`service_account_key_file: ${keyFile}`);
      const yandex = adapter();
      expect((await yandex.chat(ask, ctx(t))).choices[0].message.content).toMatch(/^Echo: Hello there/);
      const chunks = await collect(await yandex.chatStream(ask, ctx(t)));
      expect(chunks.at(-2)?.choices[0].finish_reason).toBe('stop');
      const embedding = await yandex.embeddings(
        { model: 'emb', input: 'hi' },
        ctx({ ...t, upstreamModel: 'text-search-doc/latest' }),
      );
      expect(embedding.data).toHaveLength(1);
      expect(stats().oauthTokensIssued).toBe(1);
      expect(stats().routes).toEqual({
        'POST /iam/v1/tokens': 1,
        'POST /completion': 2,
        'POST /textEmbedding': 1,
      });
    });

    it('should take the key JSON from a variable as well', async () => {
      const t = target('service_account_key: "${YC_KEY}"', { YC_KEY: JSON.stringify(key) });
      expect((await adapter().chat(ask, ctx(t))).choices[0].message.content).toMatch(/^Echo:/);
      expect(stats().oauthTokensIssued).toBe(1);
    });

    it("should give Yandex's OpenAI-compatible endpoint the same IAM token as the native API, from the store", async () => {
      const config = parseRoutingConfig(
        `providers:
  - id: yandex
    type: yandex
    base_url: ${base}/yandex/foundationModels/v1
    iam_url: ${base}/yandex
    accounts: [{ id: main, folder_id: ${FOLDER}, service_account_key_file: ${keyFile} }]
    free: true
  - id: yandex-openai
    type: openai
    profile: yandex
    base_url: ${base}/yandex/v1
    iam_url: ${base}/yandex
    accounts: [{ id: main, folder_id: ${FOLDER}, service_account_key_file: ${keyFile} }]
    free: true
models:
  - name: yandex-pro
    deployments: [{ provider: yandex, model: yandexgpt }, { provider: yandex-openai, model: yandexgpt }]
`,
        'test.yaml',
        {},
      );
      const [native, compatible] = config.providers.map((provider): DeploymentTarget => ({
        key: `${provider.id}/main/yandexgpt`,
        provider,
        account: provider.accounts[0],
        upstreamModel: 'yandexgpt',
      }));
      const store = new MemoryStore();
      const openai = new OpenAiCompatibleProvider(http, store);
      closers.push(() => store.close());
      expect((await adapter(store).chat(ask, ctx(native))).choices[0].message.content).toMatch(/^Echo:/);
      const answer = await openai.chat(ask, ctx(compatible));
      expect(answer.choices[0].message.content).toContain('Hello there');
      expect(stats().oauthTokensIssued).toBe(1);
      expect(stats().routes['POST /v1/chat/completions']).toBe(1);
    });

    it('should drop the token and retry once when the model API answers 401', async () => {
      const t = target(`service_account_key_file: ${keyFile}`);
      const yandex = adapter();
      await yandex.chat(ask, ctx(t));
      emulator.state.faults.add({ provider: 'yandex', fault: 'status=401', count: 1, route: '/completion' });
      expect((await yandex.chat(ask, ctx(t))).choices[0].message.content).toMatch(/^Echo:/);
      expect(stats().oauthTokensIssued).toBe(2);
      expect(stats().routes['POST /completion']).toBe(3);
    });

    it('should refuse a key IAM does not accept as an upstream auth error naming the account and the key', async () => {
      const t = target('service_account_key: "${YC_KEY}"', { YC_KEY: JSON.stringify(stranger) });
      const error = await failure(adapter().chat(ask, ctx(t)));
      expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
      expect(error.message).toBe('yandex/main: Yandex IAM refused the service-account key ajetestkey (HTTP 401)');
      expect(stats().routes).toEqual({ 'POST /iam/v1/tokens': 1 });
    });
  });

  describe('an emulated IAM token expiry', () => {
    const TTL_MS = 1_200;
    let redis: { url: string; stop(): void };
    beforeAll(async () => {
      await startYandex({ yandexIamTokenTtlMs: TTL_MS });
      redis = await startRedis();
    });
    afterAll(() => redis.stop());

    it('should keep three replicas sharing Redis working across expiries with one token exchange per expiry', async () => {
      emulator.state.stats.reset();
      const t = target(`service_account_key_file: ${keyFile}`);
      const keyPrefix = `xr-iam-${Date.now()}:`;
      const replicas = [0, 1, 2].map(() => adapter(RedisStore.fromUrl(redis.url, { keyPrefix })));
      const rounds = 3;
      for (let round = 1; round <= rounds; round++) {
        // Three concurrent calls on each replica: nine callers needing a token at once.
        const answers = await Promise.all(
          replicas.flatMap((replica) => [0, 1, 2].map(() => replica.chat(ask, ctx(t)))),
        );
        expect(answers.every((answer) => answer.choices[0].message.content?.startsWith('Echo:'))).toBe(true);
        expect(stats().oauthTokensIssued).toBe(round);
        // Past the token's expiry: the next round cannot use it.
        await sleep(TTL_MS + 100);
      }
      expect(stats().routes['POST /completion']).toBe(rounds * 9);
    });
  });

  describe('static IAM tokens', () => {
    beforeAll(() => startYandex({}));
    beforeEach(() => emulator.state.stats.reset());

    it('should refuse a static iam_token past iam_token_expires_at without calling Yandex, naming the account', async () => {
      const t = target('iam_token: t1.static, iam_token_expires_at: "2026-01-01T00:00:00Z"');
      const error = await failure(adapter().chat(ask, ctx(t)));
      expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
      expect(error.message).toContain("the iam_token of account 'main' expired at 2026-01-01T00:00:00Z");
      expect(stats().requests).toBe(0);
    });

    it('should use a static iam_token before its expiry, and after one 401 stop sending it', async () => {
      const good = target(`iam_token: ${API_KEY}, iam_token_expires_at: "2099-01-01T00:00:00Z"`);
      expect((await adapter().chat(ask, ctx(good))).choices[0].message.content).toMatch(/^Echo:/);
      const yandex = adapter();
      const refused = target('iam_token: t1.revoked');
      const first = await failure(yandex.chat(ask, ctx(refused)));
      const second = await failure(yandex.chat(ask, ctx(refused)));
      for (const error of [first, second]) {
        expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
        expect(error.message).toContain("the iam_token of account 'main' was refused by Yandex");
      }
      expect(stats().routes['POST /completion']).toBe(2);
    });

    it('should keep API keys working', async () => {
      expect((await adapter().chat(ask, ctx(target(`api_key: ${API_KEY}`)))).choices[0].message.content).toMatch(
        /^Echo:/,
      );
    });
  });

  describe('the per-folder in-flight limit', () => {
    // The emulator refuses a third concurrent generation with 429, as Yandex's folder quota does.
    beforeAll(() => startYandex({ yandexMaxConcurrent: 2, latencyMs: 300 }));
    beforeEach(() => emulator.state.stats.reset());

    const limited = (account: Partial<AccountConfig>): DeploymentTarget => {
      const t = target(`api_key: ${API_KEY}`);
      return { ...t, account: { ...t.account, ...account } };
    };

    it('should queue generations beyond max_in_flight so the folder quota is never exceeded', async () => {
      const yandex = adapter(new MemoryStore(), { inFlightWaitMs: 2_000 });
      const t = limited({ max_in_flight: 2 });
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 5 }, () => yandex.chat(ask, ctx(t))));
      expect(answers).toHaveLength(5);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 300 - 50);
      expect(stats().routes['POST /completion']).toBe(5);
    });

    it('should answer 429 with Retry-After, not from Yandex, when no slot frees up within the wait', async () => {
      const yandex = adapter(new MemoryStore(), { inFlightWaitMs: 100 });
      const t = limited({ max_in_flight: 2 });
      const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => yandex.chat(ask, ctx(t))));
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
      expect(refused).toHaveLength(2);
      for (const outcome of refused) {
        const error = outcome.reason as {
          code: string;
          retryAfterMs: number;
          upstreamStatus?: number;
        };
        expect(error.code).toBe(ErrorCode.RATE_LIMITED);
        expect(error.retryAfterMs).toBeGreaterThan(0);
        expect(error.upstreamStatus).toBeUndefined();
      }
      expect(stats().routes['POST /completion']).toBe(2);
    });

    it('should hold a stream’s slot until its body is done', async () => {
      const yandex = adapter(new MemoryStore(), { inFlightWaitMs: 100 });
      const t = limited({ max_in_flight: 1 });
      const stream = await yandex.chatStream(ask, ctx(t));
      expect((await failure(yandex.chat(ask, ctx(t)))).code).toBe(ErrorCode.RATE_LIMITED);
      await collect(stream);
      expect((await yandex.chat(ask, ctx(t))).choices[0].message.content).toMatch(/^Echo:/);
    });

    it('should let each account set its own limit, 10 by default', async () => {
      const yandex = adapter(new MemoryStore(), { inFlightWaitMs: 100 });
      // max_in_flight 3 against a folder quota of 2: the third reaches Yandex and gets Yandex's own 429.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 3 }, () => yandex.chat(ask, ctx(limited({ max_in_flight: 3 })))),
      );
      const rejected = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
      expect((rejected.reason as { upstreamStatus?: number }).upstreamStatus).toBe(429);
    });
  });
});
