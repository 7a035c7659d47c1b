import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileError, interpolate, parseRoutingConfig } from './routing-config.loader';

const VALID = `
providers:
  - id: mts
    type: openai
    profile: mts
    base_url: \${MTS_BASE_URL:-https://api.gpt.mws.ru/v1}
    accounts:
      - id: main
        api_key: \${MTS_API_KEY}
models:
  - name: mws-gpt-alpha
    aliases: [cheap]
    deployments:
      - { provider: mts, model: mws-gpt-alpha }
    timeouts: { first_token_ms: 1500 }
    pricing: { prompt_per_1k: 0.15, completion_per_1k: 0.3 }
`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigFileError {
  try {
    parseRoutingConfig(text, 'test.yaml', env);
  } catch (error) {
    if (error instanceof ConfigFileError) return error;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('interpolate', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A}', {}, ''],
    ['${A:-fallback}', {}, 'fallback'],
    ['${A:-fallback}', { A: '' }, 'fallback'],
    ['${A:-fallback}', { A: 'set' }, 'set'],
    ['pre-${A}-${B}', { A: '1', B: '2' }, 'pre-1-2'],
    ['no variables', { A: '1' }, 'no variables'],
    ['${URL:-https://h/p/${P}/v1}', { P: 'proj' }, 'https://h/p/proj/v1'],
    ['${URL:-https://h/p/${P:-none}/v1}', {}, 'https://h/p/none/v1'],
    ['${URL:-https://h/p/${P}/v1}', { URL: 'http://set', P: 'proj' }, 'http://set'],
    ['${A', { A: 'x' }, '${A'],
    ['${A}', { A: '${B}', B: 'no' }, '${B}'],
  ])('%s with %j gives %s', (text, env, expected) => {
    expect(interpolate(text, env)).toBe(expected);
  });
});

describe('parseRoutingConfig', () => {
  it('should read capability overrides on a provider and a deployment, and a model’s drop_params', () => {
    const text = VALID.replace('    profile: mts\n', '    profile: mts\n    capabilities: { logprobs: false }\n')
      .replace(
        '{ provider: mts, model: mws-gpt-alpha }',
        '{ provider: mts, model: mws-gpt-alpha, capabilities: { images: true } }',
      )
      .replace('    aliases: [cheap]\n', '    aliases: [cheap]\n    drop_params: [seed, penalties]\n');
    const config = parseRoutingConfig(text, 'test.yaml', {});
    expect(config.providers[0].capabilities).toEqual({ logprobs: false });
    expect(config.models[0].deployments[0].capabilities).toEqual({ images: true });
    expect(config.models[0].drop_params).toEqual(['seed', 'penalties']);
  });

  it.each([
    ['an unknown capability', '{ imagez: true }', 'models[0].deployments[0].capabilities.imagez'],
    ['a capability that is not true or false', '{ images: yes }', 'models[0].deployments[0].capabilities.images'],
  ])('should refuse %s, naming its path', (_what, capabilities, path) => {
    const text = VALID.replace(
      '{ provider: mts, model: mws-gpt-alpha }',
      `{ provider: mts, model: mws-gpt-alpha, capabilities: ${capabilities} }`,
    );
    expect(problemsOf(text).problems.map((p) => p.path)).toContain(path);
  });

  it('should interpolate variables and fill defaults field by field', () => {
    const config = parseRoutingConfig(VALID, 'test.yaml', { MTS_API_KEY: 'sk-test' });
    expect(config.providers[0].base_url).toBe('https://api.gpt.mws.ru/v1');
    expect(config.providers[0].accounts[0].api_key).toBe('sk-test');
    expect(config.models[0].strategy).toBe('fallback');
    expect(config.models[0].timeouts).toMatchObject({ first_token_ms: 1500, connect_ms: 5000, total_ms: 300000 });
    expect(config.defaults.circuit_breaker.failure_threshold).toBe(5);
  });

  it('should record the variables an account’s credentials come from', () => {
    const config = parseRoutingConfig(VALID, 'test.yaml', { MTS_API_KEY: 'sk-test' });
    expect(config.providers[0].accounts[0].credential_vars).toEqual(['MTS_API_KEY']);
  });

  it('should merge breaker settings field by field: defaults, then the model, then the deployment', () => {
    const text = `defaults: { circuit_breaker: { failure_threshold: 7, cooldown_ms: 900 } }\n${VALID.replace(
      '      - { provider: mts, model: mws-gpt-alpha }\n',
      '      - { provider: mts, model: mws-gpt-alpha, circuit_breaker: { window_ms: 100 } }\n',
    ).replace(
      '    timeouts: { first_token_ms: 1500 }',
      '    timeouts: { first_token_ms: 1500 }\n    circuit_breaker: { failure_threshold: 2 }',
    )}`;
    const [model] = parseRoutingConfig(text, 'test.yaml', { MTS_API_KEY: 'k' }).models;
    expect(model.circuit_breaker).toMatchObject({ failure_threshold: 2, cooldown_ms: 900 });
    expect(model.deployments[0].circuit_breaker).toEqual({
      failure_threshold: 2,
      cooldown_ms: 900,
      window_ms: 100,
      half_open_probes: 1,
    });
  });

  it('should name the path and line of a bad value', () => {
    const error = problemsOf(VALID.replace('type: openai', 'type: openia'));
    expect(error.problems).toEqual([
      expect.objectContaining({
        path: 'providers[0].type',
        line: 4,
        message: expect.stringContaining('type must be one of'),
      }),
    ]);
    expect(error.message).toContain('providers[0].type (line 4)');
  });

  it('should reject unknown keys so typos do not pass silently', () => {
    const error = problemsOf(VALID.replace('    aliases: [cheap]', '    aliases: [cheap]\n    stratgy: weighted'));
    expect(error.problems[0]).toMatchObject({ path: 'models[0].stratgy', line: 13 });
  });

  it('should reject a deployment of an unknown provider, naming its line', () => {
    const error = problemsOf(VALID.replace('{ provider: mts, model', '{ provider: mtss, model'));
    expect(error.problems).toEqual([
      { path: 'models[0].deployments[0].provider', line: 14, message: "unknown provider 'mtss'" },
    ]);
  });

  it('should refuse a deployment with no price anywhere, naming the model, provider, upstream model and line', () => {
    const error = problemsOf(VALID.replace('    pricing: { prompt_per_1k: 0.15, completion_per_1k: 0.3 }\n', ''));
    expect(error.problems).toEqual([
      {
        path: 'models[0].deployments[0]',
        line: 14,
        message: expect.stringMatching(
          /^model 'mws-gpt-alpha': .*provider 'mts', upstream model 'mws-gpt-alpha'.* no price/,
        ),
      },
    ]);
    expect(error.message).toContain('models[0].deployments[0] (line 14)');
  });

  it.each([
    [
      'the provider price list',
      '    pricing:\n      mws-gpt-alpha: { prompt_per_1k: 0.1, completion_per_1k: 0.2 }\n',
      '',
    ],
    ['a free provider', '    free: true\n', ''],
    ['a free deployment', '', ', free: true'],
    ['a deployment price', '', ', pricing: { prompt_per_1k: 1, completion_per_1k: 1 }'],
  ])('should accept an unpriced model whose deployment is priced by %s', (_name, providerLines, deploymentFields) => {
    const text = VALID.replace('    pricing: { prompt_per_1k: 0.15, completion_per_1k: 0.3 }\n', '')
      .replace('models:\n', `${providerLines}models:\n`)
      .replace('model: mws-gpt-alpha }', `model: mws-gpt-alpha${deploymentFields} }`);
    expect(() => parseRoutingConfig(text, 'test.yaml', {})).not.toThrow();
  });

  it('should refuse a deployment that is both free and priced', () => {
    const error = problemsOf(
      VALID.replace(
        'model: mws-gpt-alpha }',
        'model: mws-gpt-alpha, free: true, pricing: { prompt_per_1k: 1, completion_per_1k: 1 } }',
      ),
    );
    expect(error.problems).toEqual([
      {
        path: 'models[0].deployments[0].free',
        line: 14,
        message: 'a deployment is either free or has pricing, not both',
      },
    ]);
  });

  it('should check the provider price list like any other price, naming its line', () => {
    const error = problemsOf(
      VALID.replace(
        'models:\n',
        '    pricing:\n      mws-gpt-alpha: { prompt_per_1k: -1, completion_per_1k: 0.2 }\nmodels:\n',
      ),
    );
    expect(error.problems).toEqual([
      expect.objectContaining({ path: 'providers[0].pricing.mws-gpt-alpha.prompt_per_1k', line: 11 }),
    ]);
  });

  it('should reject a name used twice', () => {
    const error = problemsOf(VALID.replace('aliases: [cheap]', 'aliases: [mws-gpt-alpha]'));
    expect(error.problems[0].message).toBe("model name or alias 'mws-gpt-alpha' is used twice");
  });

  it('should report YAML syntax errors with their line', () => {
    const error = problemsOf('providers:\n  - id: [unclosed\nmodels: []\n');
    expect(error.problems[0].line).toBeGreaterThan(0);
  });

  it('should reject a file that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n').problems[0].message).toContain('must be a mapping');
  });
});

describe('Yandex service-account keys', () => {
  const KEY = JSON.stringify({
    id: 'ajekey',
    service_account_id: 'ajesa',
    private_key:
      'PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <ajekey>\n-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n',
  });
  const yaml = (account: string) => `
providers:
  - id: yandex
    type: yandex
    base_url: https://llm.api.cloud.yandex.net/foundationModels/v1
    accounts:
      - { id: sa, folder_id: b1g, ${account} }
    free: true
models:
  - name: yandex-pro
    deployments: [{ provider: yandex, model: yandexgpt }]
`;

  it('should read service_account_key_file at load time into service_account_key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xr-sa-'));
    const file = join(dir, 'key.json');
    writeFileSync(file, KEY);
    const account = parseRoutingConfig(yaml(`service_account_key_file: ${file}`), 'test.yaml', {}).providers[0]
      .accounts[0];
    expect(account.service_account_key).toBe(KEY);
  });

  it('should take the key JSON from a variable and name the variable as its credential', () => {
    const account = parseRoutingConfig(yaml('service_account_key: "${YC_SA_KEY}"'), 'test.yaml', { YC_SA_KEY: KEY })
      .providers[0].accounts[0];
    expect(account.service_account_key).toBe(KEY);
    expect(account.credential_vars).toEqual(['YC_SA_KEY']);
  });

  it('should refuse a key file it cannot read, naming the file', () => {
    const error = problemsOf(yaml('service_account_key_file: /nonexistent/key.json'));
    expect(error.problems).toEqual([
      expect.objectContaining({
        path: 'providers[0].accounts[0].service_account_key_file',
        message: expect.stringContaining('/nonexistent/key.json') as unknown,
      }),
    ]);
  });

  it('should refuse key JSON without a private key, without quoting it', () => {
    const error = problemsOf(yaml('service_account_key: "${YC_SA_KEY}"'), {
      YC_SA_KEY: JSON.stringify({ id: 'k', service_account_id: 'secret-sa' }),
    });
    expect(error.problems[0].path).toBe('providers[0].accounts[0].service_account_key');
    expect(error.problems[0].message).toContain('has no private_key');
    expect(error.message).not.toContain('secret-sa');
  });
});
