import GigaChat from 'gigachat';
import { DEFAULT_GIGACHAT_AUTH_KEY } from './emulator-defaults';
import { ANSWER_PADDING, embeddingVector } from './deterministic-answer';
import type { RunningEmulator } from './emulator-test-kit';
import { postJson, readJson, startEmulator } from './emulator-test-kit';

const HELLO_ANSWER = `Echo: Hello there ${ANSWER_PADDING}`;

describe('GigaChat emulator with the official gigachat SDK', () => {
  let running: RunningEmulator;
  let client: GigaChat;

  const stats = async () => (await readJson(await fetch(`${running.base}/_emulator/stats`))).gigachat;

  beforeAll(async () => {
    running = await startEmulator();
    // The SDK logs every token update and authentication error on the console.
    jest.spyOn(console, 'info').mockImplementation(() => undefined);
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  beforeEach(async () => {
    await postJson(`${running.base}/_emulator/reset`, {});
    client = new GigaChat({
      credentials: DEFAULT_GIGACHAT_AUTH_KEY,
      scope: 'GIGACHAT_API_PERS',
      baseUrl: `${running.base}/gigachat/api/v1`,
      authUrl: `${running.base}/gigachat/api/v2/oauth`,
      model: 'GigaChat-2',
      timeout: 5,
    });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await running.close();
  });

  it('should complete a chat after exactly one OAuth call', async () => {
    const completion = await client.chat({ messages: [{ role: 'user', content: 'Hello there' }] });
    expect(completion.choices[0].message.content).toBe(HELLO_ANSWER);
    expect(completion.model).toBe('GigaChat-2:2.0.28.2');
    expect(completion.usage.total_tokens).toBe(10);
    expect(completion.xHeaders?.xRequestID).toMatch(/^[0-9a-f-]{36}$/);
    await client.chat('Hello there');
    const s = await stats();
    expect(s.oauthTokensIssued).toBe(1);
    expect(s.routes).toEqual({ 'POST /oauth': 1, 'POST /chat/completions': 2 });
  });

  it('should stream a chat', async () => {
    let text = '';
    let finish: string | undefined;
    for await (const chunk of client.stream('Hello there')) {
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    expect(text).toBe(HELLO_ANSWER);
    expect(finish).toBe('stop');
  });

  it('should refresh the token when the API rejects it as expired (plain and stream)', async () => {
    await client.chat('warm up');
    await postJson(`${running.base}/_emulator/faults`, { provider: 'gigachat', fault: 'expire-token', count: 1 });
    const completion = await client.chat('Hello there');
    expect(completion.choices[0].message.content).toBe(HELLO_ANSWER);
    let s = await stats();
    expect(s.oauthTokensIssued).toBe(2);
    expect(s.routes['POST /chat/completions']).toBe(3);

    await postJson(`${running.base}/_emulator/faults`, { provider: 'gigachat', fault: 'expire-token', count: 1 });
    let text = '';
    for await (const chunk of client.stream('Hello there')) text += chunk.choices[0].delta.content ?? '';
    expect(text).toBe(HELLO_ANSWER);
    s = await stats();
    expect(s.oauthTokensIssued).toBe(3);
    expect(s.faultsInjected).toBe(2);
  });

  it('should embed, count tokens and list models', async () => {
    const embeddings = await client.embeddings(['alpha beta']);
    expect(embeddings.data[0].embedding).toEqual(embeddingVector('alpha beta'));
    const tokens = await client.tokensCount(['one two three']);
    // the SDK wraps the top-level array as { tokens: [...] }
    expect(tokens.tokens).toEqual([{ object: 'tokens', tokens: 3, characters: 13 }]);
    const models = await client.getModels();
    expect(models.data.map((m) => m.id)).toContain('GigaChat-2-Max');
  });
});
