import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import { ErrorCode, type ChatCompletionRequest, type ChatContentPart } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, UpstreamHttpClient } from '@xrouter/providers';
import { MemoryStore } from '@xrouter/store';
import { GigaChatProvider } from '../../libs/providers/src/gigachat/gigachat.provider';
import { DEFAULT_GIGACHAT_AUTH_KEY } from '../../apps/provider-emulator/src/emulator-defaults';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { collect, failure } from '../support/outcomes';
import { createTestPki, type TestPki } from '../support/test-ca';

/**
 * Images reach GigaChat as uploaded files: the adapter against the emulator over HTTPS (test CA), which stores the
 * uploads per account, refuses unknown attachment ids, and answers saying what it saw of the attached image.
 */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(randomUUID())]);
const seen = (type: string, bytes: Buffer): string =>
  `[saw ${type}, ${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}]`;

describe('GigaChat images through /files and attachments (emulator over HTTPS)', () => {
  let pki: TestPki;
  let emulator: EmulatorServer;
  let http: UpstreamHttpClient;
  let target: DeploymentTarget;
  let provider: GigaChatProvider;

  beforeAll(async () => {
    pki = createTestPki();
    emulator = createEmulatorServer({ chunks: 3 }, { tls: { cert: pki.serverCert, key: pki.serverKey } });
    const base = `https://127.0.0.1:${await emulator.listen(0)}/gigachat/api`;
    const config = parseRoutingConfig(
      `providers:
  - id: giga
    type: gigachat
    base_url: ${base}/v1
    auth_url: ${base}/v2/oauth
    ca_file: ${pki.caPemFile}
    accounts: [{ id: main, auth_key: "\${KEY}" }]
    free: true
models:
  - name: giga
    deployments: [{ provider: giga, model: GigaChat-2-Max }]
`,
      'test.yaml',
      { KEY: DEFAULT_GIGACHAT_AUTH_KEY },
    );
    const giga = config.providers[0];
    target = {
      key: 'giga/main/GigaChat-2-Max',
      provider: giga,
      account: giga.accounts[0],
      upstreamModel: 'GigaChat-2-Max',
    };
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    provider = new GigaChatProvider(http, new MemoryStore());
  });

  afterAll(async () => {
    await provider.beforeApplicationShutdown();
    await http.onApplicationShutdown();
    await emulator.close();
    pki.remove();
  });

  const ctx = (): CallContext => ({
    target,
    signal: AbortSignal.timeout(10_000),
    requestId: randomUUID(),
    publicModel: 'giga',
    completionId: 'chatcmpl-img',
  });
  const image = (bytes: Buffer, type: string): ChatContentPart => ({
    type: 'image_url',
    image_url: { url: `data:${type};base64,${bytes.toString('base64')}` },
  });
  const ask = (...parts: ChatContentPart[]): ChatCompletionRequest => ({
    model: 'giga',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, ...parts] }],
  });
  const routes = (): Record<string, number> => emulator.state.stats.snapshot().gigachat.routes;
  const uploads = (): number => routes()['POST /files'] ?? 0;

  it('should upload the image and send its id as an attachment the model sees', async () => {
    const before = uploads();
    const completion = await provider.chat(ask(image(PNG, 'image/png')), ctx());
    expect(completion.choices[0].message.content).toContain(seen('image/png', PNG));
    expect(uploads()).toBe(before + 1);
    const stored = emulator.state.gigachatFiles.list(DEFAULT_GIGACHAT_AUTH_KEY);
    expect(stored.map((f) => [f.type, f.purpose, f.bytes])).toContainEqual(['image/png', 'general', PNG.length]);
  });

  it('should reuse the upload of the same image, and upload a different one', async () => {
    const before = uploads();
    const again = await provider.chat(ask(image(PNG, 'image/png')), ctx());
    expect(again.choices[0].message.content).toContain(seen('image/png', PNG));
    expect(uploads()).toBe(before);
    const other = await provider.chat(ask(image(JPEG, 'image/jpeg')), ctx());
    expect(other.choices[0].message.content).toContain(seen('image/jpeg', JPEG));
    expect(uploads()).toBe(before + 1);
  });

  it('should stream an answer about an attached image', async () => {
    const chunks = await collect(await provider.chatStream({ ...ask(image(PNG, 'image/png')), stream: true }, ctx()));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toContain(seen('image/png', PNG));
  });

  it('should upload concurrent requests with one new image once', async () => {
    const fresh = Buffer.concat([JPEG, Buffer.from('concurrent')]);
    const before = uploads();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => provider.chat(ask(image(fresh, 'image/jpeg')), ctx())),
    );
    expect(answers.every((a) => String(a.choices[0].message.content).includes(seen('image/jpeg', fresh)))).toBe(true);
    expect(uploads()).toBe(before + 1);
  });

  it.each([
    ['a remote URL', { type: 'image_url', image_url: { url: 'https://127.0.0.1/cat.png' } }, 'remote URLs'],
    ['a GIF', image(Buffer.from('GIF89a-----'), 'image/gif'), 'is not of a type GigaChat takes'],
  ])('should refuse %s with 400 naming the part, calling nothing upstream', async (_title, part, message) => {
    const before = { ...routes() };
    const error = await failure(provider.chat(ask(part), ctx()));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.param).toBe('messages[0].content[1].image_url.url');
    expect(error.message).toContain(message);
    expect(routes()).toEqual(before);
  });

  it('should delete its uploads on shutdown', async () => {
    const other = new GigaChatProvider(http, new MemoryStore());
    const bytes = Buffer.concat([JPEG, Buffer.from('shutdown')]);
    await other.chat(ask(image(bytes, 'image/jpeg')), ctx());
    const sha = createHash('sha256').update(bytes).digest('hex');
    const mine = (): number => emulator.state.gigachatFiles.list().filter((f) => f.sha256 === sha).length;
    expect(mine()).toBe(1);
    await other.beforeApplicationShutdown();
    expect(mine()).toBe(0);
    expect(routes()['POST /files/{id}/delete']).toBeGreaterThanOrEqual(1);
  });
});
