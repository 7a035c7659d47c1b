import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import OpenAI from 'openai';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import {
  RunningProcess,
  runGatewayToExit,
  startEmulator,
  startGateway,
  writeRoutingConfig,
} from '../support/processes';
import { createTestPki, type TestPki } from '../support/test-ca';

const ADMIN_KEY = 'xr-e2e-admin-key-gigachat-images-0123';
const AUTH_KEY = Buffer.from('emulator-client-id:emulator-client-secret').toString('base64');
/** A 1×1 PNG. */
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const routing = (base: string, caFile: string): string => `
providers:
  - id: gigachat
    type: gigachat
    base_url: ${base}/gigachat/api/v1
    auth_url: ${base}/gigachat/api/v2/oauth
    ca_file: "${caFile}"
    accounts: [{ id: main, auth_key: "\${GIGACHAT_AUTH_KEY}" }]
    free: true
models:
  - name: giga-vision
    deployments: [{ provider: gigachat, model: GigaChat-2-Max }]
`;

/**
 * The built gateway in front of the built GigaChat emulator served over HTTPS with a test CA (as GigaChat is served
 * under the Russian Trusted Root CA), driven by the official `openai` client sending an image part.
 */
describe('GigaChat images over HTTPS with a custom CA, through the gateway', () => {
  let db: TestDatabase;
  let pki: TestPki;
  let emulator: RunningProcess;
  let gateway: RunningProcess;
  let client: OpenAI;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    pki = createTestPki();
    const cert = join(pki.dir, 'server.pem');
    const key = join(pki.dir, 'server.key');
    writeFileSync(cert, pki.serverCert);
    emulator = await startEmulator({ EMULATOR_TLS_CERT_FILE: cert, EMULATOR_TLS_KEY_FILE: key });
    base = emulator.url.replace(/^http:/, 'https:');
    gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      GIGACHAT_AUTH_KEY: AUTH_KEY,
      XROUTER_CONFIG: writeRoutingConfig(routing(base, pki.caDerFile)),
    });
    client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await emulator?.stop();
    await db?.drop();
    pki?.remove();
  });

  it('should send an image part to GigaChat as an uploaded attachment, and answer about it', async () => {
    const completion = await client.chat.completions.create({
      model: 'giga-vision',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in the picture?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
          ],
        },
      ],
    });
    expect(completion.choices[0].message.content).toMatch(/\[saw image\/png, 70 bytes, sha256 [0-9a-f]{16}\]$/);
  });

  it('should refuse a remote image URL with 400 naming the parameter', async () => {
    const error: unknown = await client.chat.completions
      .create({
        model: 'giga-vision',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://10.0.0.1/x.png' } }] }],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages[0].content[0].image_url.url');
  });

  it('should refuse to start when ca_file cannot be read, naming the provider and the file', async () => {
    const missing = join(pki.dir, 'russian_trusted_root_ca.cer');
    const { code, output } = await runGatewayToExit({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      GIGACHAT_AUTH_KEY: AUTH_KEY,
      XROUTER_CONFIG: writeRoutingConfig(routing(base, missing)),
    });
    expect(code).toBe(1);
    expect(output).toContain(`providers[0].ca_file (line 7): provider 'gigachat': ca_file '${missing}' cannot be read`);
  });
});
