import 'reflect-metadata';
import { ErrorCode, type ChatCompletionRequest } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, OpenAiCompatibleProvider, UpstreamHttpClient } from '@xrouter/providers';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { collect, failure } from '../support/outcomes';

const MTS_KEY = 'test-mts-key';

describe('OpenAI-compatible adapter against the MTS emulator over HTTP', () => {
  let emulator: EmulatorServer;
  let http: UpstreamHttpClient;
  let provider: OpenAiCompatibleProvider;
  let target: DeploymentTarget;

  beforeAll(async () => {
    emulator = createEmulatorServer({ mtsApiKey: MTS_KEY, chunks: 4 });
    const port = await emulator.listen(0, '127.0.0.1');
    const config = parseRoutingConfig(
      `providers:
  - id: mts
    type: openai
    profile: mts
    base_url: http://127.0.0.1:${port}/mts/v1
    accounts: [{ id: main, api_key: "\${KEY}" }]
    free: true
models:
  - name: alpha
    deployments: [{ provider: mts, model: mws-gpt-alpha }]
`,
      'test.yaml',
      { KEY: MTS_KEY },
    );
    const mts = config.providers[0];
    target = { key: 'mts/main/mws-gpt-alpha', provider: mts, account: mts.accounts[0], upstreamModel: 'mws-gpt-alpha' };
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    provider = new OpenAiCompatibleProvider(http);
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await emulator.close();
  });

  const ctx = (overrides: Partial<CallContext> = {}): CallContext => ({
    target,
    signal: new AbortController().signal,
    requestId: 'req-1',
    publicModel: 'alpha',
    completionId: 'chatcmpl-test',
    ...overrides,
  });

  const ask = (text: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
    model: 'alpha',
    messages: [{ role: 'user', content: text }],
    ...extra,
  });

  it('should carry a tool call round trip', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
      },
    ];
    const first = await provider.chat(ask('Moscow', { tools }), ctx());
    const call = first.choices[0].message.tool_calls?.[0];
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    expect(call?.function).toEqual({ name: 'get_weather', arguments: JSON.stringify({ city: 'Moscow' }) });
    const second = await provider.chat(
      {
        model: 'alpha',
        tools,
        messages: [
          { role: 'user', content: 'Moscow' },
          { role: 'assistant', content: null, tool_calls: [call!] },
          { role: 'tool', tool_call_id: call!.id, content: '-3 C' },
        ],
      },
      ctx(),
    );
    expect(second.choices[0].message.content).toContain('Tool result: -3 C');
  });

  it('should map an upstream 400 to a BAD_REQUEST the router does not retry', async () => {
    const error = await failure(provider.chat(ask('hi [[fault:status=400]]'), ctx()));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.retryable).toBe(false);
  });

  describe('T-Bank profile (T-Pro puts its thoughts in <think>)', () => {
    const tbank = (): DeploymentTarget => {
      const config = parseRoutingConfig(
        `providers:
  - id: tbank
    type: openai
    profile: tbank
    base_url: ${target.provider.base_url.replace('/mts/v1', '/tbank/v1')}
    accounts: [{ id: main, api_key: "emulator-tbank-key" }]
    free: true
models:
  - name: t-pro
    deployments: [{ provider: tbank, model: t-tech/T-pro-it-2.0 }]
`,
        'test.yaml',
        {},
      );
      const provider = config.providers[0];
      return { key: 'tbank/main/t-pro', provider, account: provider.accounts[0], upstreamModel: 't-tech/T-pro-it-2.0' };
    };

    it('should move the thoughts to reasoning_content in a plain answer', async () => {
      const completion = await provider.chat(ask('hello there'), ctx({ target: tbank() }));
      const message = completion.choices[0].message;
      expect(message.content).toBe('Echo: hello there The provider emulator answers deterministically.');
      expect(message.reasoning_content).toBe('\nThe emulator thinks before it echoes.\n');
    });

    it('should move the thoughts to reasoning_content chunk by chunk in a stream', async () => {
      const chunks = await collect(
        await provider.chatStream(ask('hello there', { stream: true }), ctx({ target: tbank() })),
      );
      const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
      const reasoning = chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('');
      expect(content).toBe('Echo: hello there The provider emulator answers deterministically.');
      expect(reasoning).toBe('\nThe emulator thinks before it echoes.\n');
      expect(chunks.filter((c) => c.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
    });

    it('should keep the block in content when the provider says keep', async () => {
      const kept = tbank();
      const completion = await provider.chat(
        ask('hi'),
        ctx({ target: { ...kept, provider: { ...kept.provider, think_tags: 'keep' } } }),
      );
      expect(completion.choices[0].message.content).toMatch(/^<think>/);
    });
  });
});
