import OpenAI from 'openai';
import { callApi } from '../support/api';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-completions-0123456789';
/** 'tokens here' in cl100k_base. */
const TOKENS_HERE = [31666, 1618];
const ANSWER = (prompt: string) => `Echo: ${prompt} The provider emulator answers deterministically.`;

/** The legacy completions API on the bundled emulators, through the official openai client. */
describe('POST /v1/completions (legacy) end to end', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let client: OpenAI;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY });
    client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('should answer a text prompt with a text_completion, billed in its header', async () => {
    const { data, response } = await client.completions
      .create({ model: 'mws-gpt-alpha', prompt: 'Привет, шлюз', max_tokens: 50, temperature: 0.2, user: 'u-1' })
      .withResponse();
    expect(data).toMatchObject({
      object: 'text_completion',
      model: 'mws-gpt-alpha',
      choices: [{ index: 0, text: ANSWER('Привет, шлюз'), finish_reason: 'stop', logprobs: null }],
    });
    expect(data.id).toMatch(/^cmpl-/);
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-xrouter-provider')).toBe('mts');
    expect(Number(response.headers.get('x-xrouter-cost-rub'))).toBeGreaterThan(0);
  });

  it('should answer several prompts and n choices each, numbered prompt × n + choice', async () => {
    const data = await client.completions.create({ model: 'GigaChat-2', prompt: ['one', 'two'], n: 2 });
    expect(data.choices.map((c) => [c.index, c.text])).toEqual([
      [0, ANSWER('one')],
      [1, ANSWER('one')],
      [2, ANSWER('two')],
      [3, ANSWER('two')],
    ]);
  });

  it('should decode token prompts and echo the prompt when asked', async () => {
    const data = await client.completions.create({ model: 'GigaChat-2', prompt: TOKENS_HERE, echo: true });
    expect(data.choices[0].text).toBe(`tokens here${ANSWER('tokens here')}`);
  });

  it('should stream text_completion chunks, the usage chunk when asked, then [DONE]', async () => {
    const stream = await client.completions.create({
      model: 't-pro',
      prompt: 'stream please',
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: (OpenAI.CompletionUsage & { cost_rub?: string }) | undefined;
    const objects = new Set<string>();
    for await (const chunk of stream) {
      objects.add(chunk.object);
      text += chunk.choices[0]?.text ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect([...objects]).toEqual(['text_completion']);
    expect(text).toBe(ANSWER('stream please'));
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(Number(usage?.cost_rub)).toBeGreaterThan(0);
  });

  it('should end the raw stream with data: [DONE]', async () => {
    const res = await fetch(`${gateway.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'GigaChat-2', prompt: 'hi', stream: true }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(body).not.toContain('"usage"');
  });

  it.each([
    [{ suffix: 'the end' }, 'suffix'],
    [{ logprobs: 2 }, 'logprobs'],
    [{ best_of: 3 }, 'best_of'],
    [{ prompt: ['a', 'b'], stream: true }, 'prompt'],
    [{ prompt: [] }, 'prompt'],
  ])('should refuse %j with a 400 naming %s', async (fields, param) => {
    const res = await callApi<{ error: { param: string; code: string } }>(
      gateway.url,
      ADMIN_KEY,
      'POST',
      '/v1/completions',
      { model: 'GigaChat-2', prompt: 'hi', ...fields },
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ param, code: 'invalid_request' });
  });

  it('should refuse an unknown model with a 404', async () => {
    await expect(client.completions.create({ model: 'no-such-model', prompt: 'hi' })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('should retrieve every listed model and a direct provider/model id that chat accepts', async () => {
    for (const model of (await client.models.list()).data) {
      expect(await client.models.retrieve(model.id)).toEqual(model);
    }
    const direct = 'mts/qwen2.5-72b-instruct';
    expect(await client.models.retrieve(direct)).toMatchObject({ id: direct, owned_by: 'emulator' });
    expect((await client.completions.create({ model: direct, prompt: 'hi' })).choices[0].text).toBe(ANSWER('hi'));
    await expect(client.models.retrieve('mts/unpriced-model')).rejects.toMatchObject({ status: 404 });
  });
});
