import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import OpenAI from 'openai';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway, writeRoutingConfig } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-capabilities-0123456789';

/** The shipped config (on the bundled emulators), plus one model that serves requests without logprobs and seed. */
const CONFIG = `${readFileSync(join(__dirname, '..', '..', 'config', 'xrouter.yaml'), 'utf8')}
  - name: giga-lenient
    drop_params: [logprobs, seed]
    deployments:
      - { provider: gigachat, model: GigaChat-2 }
`;

/** Every embedding model of config/xrouter.yaml. */
const EMBEDDING_MODELS = ['bge-m3', 'gigachat-embeddings', 'text-search-doc'];

/** Never silently drop: declared capabilities, refusals by name, visible drops, token-array embeddings. */
describe('capabilities end to end', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let client: OpenAI;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY, XROUTER_CONFIG: writeRoutingConfig(CONFIG) });
    client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const hi = [{ role: 'user' as const, content: 'hi' }];

  it('should refuse logprobs to a GigaChat model with a 400 naming the field and the model', async () => {
    const error = (await client.chat.completions
      .create({ model: 'GigaChat-2', messages: hi, logprobs: true })
      .catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ status: 400, param: 'logprobs', type: 'invalid_request_error' });
    expect(error.message).toContain("'GigaChat-2'");
    expect(error.headers?.get('x-xrouter-attempts')).toBe('0');
  });

  it('should refuse a stream that asks for a seed, before it starts', async () => {
    await expect(
      client.chat.completions.create({ model: 'yandexgpt', messages: hi, seed: 1, stream: true }),
    ).rejects.toMatchObject({ status: 400, param: 'seed' });
  });

  it("should serve a model's drop_params without them, and say so in a header", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'giga-lenient', messages: hi, logprobs: true, seed: 1 })
      .withResponse();
    expect(data.choices[0].message.content).toBeTruthy();
    expect(response.headers.get('x-xrouter-dropped-params')).toBe('logprobs,seed');
    expect(response.headers.get('x-xrouter-attempts')).toBe('1');
  });

  it('should serve a fallback chain from the deployment that can honour the request', async () => {
    // `smart`: GigaChat first, then Yandex, MTS, T-Bank; only the OpenAI-compatible ones have logprobs.
    const { response } = await client.chat.completions
      .create({ model: 'smart', messages: hi, logprobs: true })
      .withResponse();
    expect(response.headers.get('x-xrouter-provider')).toBe('mts');
    expect(response.headers.get('x-xrouter-attempts')).toBe('1');
  });

  it('should apply the same check to legacy completions and to Responses (text.format)', async () => {
    await expect(
      client.completions.create({ model: 'yandexgpt', prompt: 'hi', presence_penalty: 1 }),
    ).rejects.toMatchObject({ status: 400, param: 'presence_penalty' });
    await expect(
      client.responses.create({ model: 'GigaChat-2', input: 'hi', text: { format: { type: 'json_object' } } }),
    ).rejects.toMatchObject({ status: 400, param: 'text.format' });
  });

  it('should refuse dimensions to an embedding model without them', async () => {
    const error = (await client.embeddings
      .create({ model: 'gigachat-embeddings', input: 'hi', dimensions: 256 })
      .catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toMatchObject({ status: 400, param: 'dimensions' });
    expect(error.message).toContain("'gigachat-embeddings'");
  });

  it('should list each model with its capabilities, the OpenAI fields intact', async () => {
    const models = (await client.models.list()).data as Array<OpenAI.Models.Model & { capabilities?: object }>;
    const giga = models.find((m) => m.id === 'GigaChat-2');
    expect(giga).toMatchObject({
      object: 'model',
      owned_by: 'emulator',
      capabilities: { tools: true, logprobs: false },
    });
    expect(models.find((m) => m.id === 'bge-m3')?.capabilities).toEqual({ dimensions: true });
    const one = (await client.models.retrieve('yandexgpt')) as OpenAI.Models.Model & { capabilities?: object };
    expect(one.capabilities).toMatchObject({ tools: true, parallel_tool_calls: true, images: false });
    const direct = (await client.models.retrieve('mts/mws-gpt-alpha')) as OpenAI.Models.Model & {
      capabilities?: object;
    };
    expect(direct.capabilities).toMatchObject({ logprobs: true });
  });

  it('should say x-xrouter-attempts on a refusal before routing (unknown model)', async () => {
    const error = (await client.chat.completions
      .create({ model: 'no-such-model', messages: hi })
      .catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toMatchObject({ status: 404 });
    expect(error.headers?.get('x-xrouter-attempts')).toBe('0');
  });

  describe.each(EMBEDDING_MODELS)('token-array inputs to %s', (model) => {
    const texts = ['Привет, мир', 'hello world'];

    it("should embed LangChain's default request (lists of cl100k_base ids) as the texts they encode", async () => {
      // The body langchain_openai's OpenAIEmbeddings sends (input: token-id lists from tiktoken cl100k_base),
      // through the official client (which asks for base64 and decodes it, as LangChain's client does).
      const byIds = await client.embeddings.create({ model, input: texts.map((t) => encode(t)) });
      const byText = await client.embeddings.create({ model, input: texts });
      expect(byIds.data).toHaveLength(2);
      expect(byIds.data.map((d) => d.embedding)).toEqual(byText.data.map((d) => d.embedding));
      const single = await client.embeddings.create({ model, input: encode(texts[0]) });
      expect(single.data[0].embedding).toEqual(byText.data[0].embedding);
    });

    it('should refuse ids outside the vocabulary with a 400 naming input', async () => {
      await expect(client.embeddings.create({ model, input: [[1, 999_999_999]] })).rejects.toMatchObject({
        status: 400,
        param: 'input[0]',
      });
    });
  });
});
