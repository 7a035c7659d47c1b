import 'reflect-metadata';
import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, type ChatCompletionRequest } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, OpenAiCompatibleProvider, UpstreamHttpClient } from '@xrouter/providers';
import { MemoryStore } from '@xrouter/store';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { failure } from '../support/outcomes';

const KEY_ID = 'test-key-id';
const KEY_SECRET = 'test-key-secret';
/** Cloud.ru answers `expires_in: 3600`; here 2 s, so the cache refreshes at half its life (1 s). */
const TTL_MS = 2_000;

describe('Cloud.ru access key (key_id + key_secret) exchanged for IAM tokens, against the emulator over HTTP', () => {
  let emulator: EmulatorServer;
  let http: UpstreamHttpClient;
  let base: string;

  beforeAll(async () => {
    emulator = createEmulatorServer({ tbankKeyId: KEY_ID, tbankKeySecret: KEY_SECRET, tbankTokenTtlMs: TTL_MS });
    base = `http://127.0.0.1:${await emulator.listen(0)}`;
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
  });
  beforeEach(() => emulator.state.stats.reset());
  afterAll(async () => {
    await http.onApplicationShutdown();
    await emulator.close();
  });

  const target = (secret = KEY_SECRET): DeploymentTarget => {
    const config = parseRoutingConfig(
      `providers:
  - id: tbank
    type: openai
    profile: tbank
    base_url: ${base}/tbank/v1
    auth_url: ${base}/cloudru-iam/api/v1/auth/token
    accounts: [{ id: main, key_id: "\${KEY_ID}", key_secret: "\${KEY_SECRET}" }]
    free: true
models:
  - name: t-pro
    deployments: [{ provider: tbank, model: t-tech/T-pro-it-2.0 }]
`,
      'test.yaml',
      { KEY_ID, KEY_SECRET: secret },
    );
    const provider = config.providers[0];
    return { key: 'tbank/main/t-pro', provider, account: provider.accounts[0], upstreamModel: 't-tech/T-pro-it-2.0' };
  };

  const ctx = (t: DeploymentTarget): CallContext => ({
    target: t,
    signal: new AbortController().signal,
    requestId: 'req-1',
    publicModel: 't-pro',
    completionId: 'chatcmpl-test',
  });
  const ask: ChatCompletionRequest = { model: 't-pro', messages: [{ role: 'user', content: 'hello there' }] };
  const exchanges = () => emulator.state.stats.snapshot().tbank.oauthTokensIssued;
  /** Chat calls the API got: one per answer when no token was refused on the way. */
  const chatCalls = () => emulator.state.stats.snapshot().tbank.routes['POST /chat/completions'] ?? 0;

  it('should exchange the key once for concurrent calls and answer with the token', async () => {
    const provider = new OpenAiCompatibleProvider(http, new MemoryStore());
    const t = target();
    const answers = await Promise.all(Array.from({ length: 5 }, () => provider.chat(ask, ctx(t))));
    expect(answers.every((answer) => answer.choices[0].message.content?.includes('hello there'))).toBe(true);
    expect(exchanges()).toBe(1);
  });

  it('should refresh the token before it expires and keep answering across the expiry', async () => {
    const provider = new OpenAiCompatibleProvider(http, new MemoryStore());
    const t = target();
    await provider.chat(ask, ctx(t));
    expect(exchanges()).toBe(1);
    await delay(TTL_MS + 200);
    const stream = await provider.chatStream(ask, ctx(t));
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('hello there');
    expect(exchanges()).toBe(2);
    // Refreshed ahead of the expiry, not after a 401.
    expect(chatCalls()).toBe(2);
  });

  it('should exchange once per expiry across three replicas sharing the store', async () => {
    const store = new MemoryStore();
    const replicas = [1, 2, 3].map(() => new OpenAiCompatibleProvider(http, store));
    const t = target();
    await Promise.all(replicas.map((replica) => replica.chat(ask, ctx(t))));
    expect(exchanges()).toBe(1);
    await delay(TTL_MS / 2 + 200);
    await Promise.all(replicas.map((replica) => replica.chat(ask, ctx(t))));
    expect(exchanges()).toBe(2);
    expect(chatCalls()).toBe(6);
  });

  it('should drop a token the API refuses and retry once with a new one', async () => {
    const provider = new OpenAiCompatibleProvider(http, new MemoryStore());
    const t = target();
    await provider.chat(ask, ctx(t));
    emulator.state.faults.add({ provider: 'tbank', fault: 'status=401', count: 1, route: '/chat/completions' });
    const answer = await provider.chat(ask, ctx(t));
    expect(answer.choices[0].message.content).toContain('hello there');
    expect(exchanges()).toBe(2);
  });

  it('should answer UPSTREAM_AUTH when IAM refuses the key pair', async () => {
    const provider = new OpenAiCompatibleProvider(http, new MemoryStore());
    const error = await failure(provider.chat(ask, ctx(target('wrong-secret'))));
    expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
    expect(error.message).toContain('Cloud.ru IAM refused');
    expect(exchanges()).toBe(0);
  });

  it('should answer the exchange as Cloud.ru documents it: access_token, id_token, expires_in in seconds', async () => {
    const res = await fetch(`${base}/cloudru-iam/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keyId: KEY_ID, secret: KEY_SECRET }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'id_token']);
    expect(body.expires_in).toBe(TTL_MS / 1000);
    const missing = await fetch(`${base}/cloudru-iam/api/v1/auth/token`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(400);
  });

  it('should keep sending a configured api_key as it is, with no exchange', async () => {
    const provider = new OpenAiCompatibleProvider(http, new MemoryStore());
    const t = target();
    const withKey = { ...t, account: { ...t.account, api_key: 'emulator-tbank-key' } };
    await provider.chat(ask, ctx(withKey));
    expect(exchanges()).toBe(0);
  });
});
