import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { createTestPki, type TestPki } from '../../../../test/support/test-ca';
import { ConfigFileError, parseRoutingConfig } from './routing-config.loader';

const config = (caFile: string): string => `
providers:
  - id: giga
    type: gigachat
    base_url: https://gigachat.example/api/v1
    auth_url: https://ngw.example:9443/api/v2/oauth
    ca_file: "${caFile}"
    accounts: [{ id: main, auth_key: k }]
    free: true
models:
  - name: giga
    deployments: [{ provider: giga, model: GigaChat-2 }]
`;

describe('parseRoutingConfig with a ca_file', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createTestPki('Loader Test CA');
  });
  afterAll(() => pki.remove());

  it.each([
    ['PEM', (p: TestPki) => p.caPemFile],
    ['DER', (p: TestPki) => p.caDerFile],
  ])('should load a %s CA file into the provider as PEM certificates', (_kind, file) => {
    const parsed = parseRoutingConfig(config(file(pki)), 'test.yaml', {});
    const certs = parsed.providers[0].ca_certs ?? [];
    expect(certs.map((pem) => new X509Certificate(pem).subject)).toEqual(['CN=Loader Test CA']);
  });

  it('should leave an empty ca_file (an unset ${VAR:-}) alone', () => {
    const parsed = parseRoutingConfig(config(''), 'test.yaml', {});
    expect(parsed.providers[0].ca_certs).toBeUndefined();
  });

  it('should refuse to start on a missing file, naming the provider, the file and the line', () => {
    const missing = join(pki.dir, 'missing.crt');
    let error: unknown;
    try {
      parseRoutingConfig(config(missing), 'test.yaml', {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as ConfigFileError).problems).toEqual([
      {
        path: 'providers[0].ca_file',
        line: 7,
        message: expect.stringContaining(`provider 'giga': ca_file '${missing}' cannot be read (ENOENT`),
      },
    ]);
  });
});
