import { ErrorCode, GatewayError } from '@xrouter/common';
import { FREE, parseRoutingConfig } from '@xrouter/config';
import { ModelCatalog } from './model-catalog';

const YAML = `
providers:
  - id: mts
    type: openai
    base_url: http://mts.local/v1
    accounts:
      - { id: a, api_key: '\${MTS_A}' }
      - { id: b, api_key: '\${MTS_B}' }
    pricing:
      qwen: { prompt_per_1k: 0.2, completion_per_1k: 0.4 }
      bge-m3: { prompt_per_1k: 0.01, completion_per_1k: 0 }
  - id: yandex
    type: yandex
    base_url: http://yandex.local/v1
    accounts:
      - { id: main, api_key: '\${YANDEX_KEY}', folder_id: f1 }
  - id: local
    type: openai
    base_url: http://local.lan/v1
    free: true
    accounts:
      - { id: main, api_key: '\${LOCAL_KEY}' }
models:
  - name: smart
    aliases: [best]
    deployments:
      - { provider: yandex, model: yandexgpt, pricing: { prompt_per_1k: 1.2, completion_per_1k: 1.2 } }
      - { provider: mts, model: qwen }
  - name: pinned
    deployments:
      - { provider: mts, account: b, model: qwen }
  - name: yandex-only
    deployments:
      - { provider: yandex, model: yandexgpt-lite }
    pricing: { prompt_per_1k: 0.1, completion_per_1k: 0.2 }
  - name: trial
    deployments:
      - { provider: mts, model: qwen-preview, free: true }
  - name: on-prem
    deployments:
      - { provider: local, model: llama }
  - name: embed
    kind: embeddings
    deployments:
      - { provider: mts, model: bge-m3 }
`;

function catalog(env: NodeJS.ProcessEnv, supported?: (type: string) => boolean): ModelCatalog {
  return new ModelCatalog(parseRoutingConfig(YAML, 't.yaml', env), supported);
}

describe('ModelCatalog', () => {
  it("should list each model's capabilities: a feature any of its deployments has", () => {
    const c = catalog({ MTS_A: 'ka', YANDEX_KEY: 'y' });
    const listed = (id: string) => c.list(0).find((m) => m.id === id)?.capabilities;
    // Yandex alone: no logprobs, no image input; with an OpenAI-compatible fallback the model can do both.
    expect(listed('yandex-only')).toMatchObject({ tools: true, json_object: true, logprobs: false, images: false });
    expect(listed('smart')).toMatchObject({ tools: true, logprobs: true, images: true });
    expect(listed('best')).toEqual(listed('smart'));
    expect(listed('smart')).not.toHaveProperty('dimensions');
    expect(listed('embed')).toEqual({ dimensions: true });
  });

  it('should expand a deployment to every configured account, in order', () => {
    const keys = catalog({ MTS_A: 'ka', MTS_B: 'kb', YANDEX_KEY: 'y' })
      .resolve('smart')
      ?.deployments.map((d) => d.key);
    expect(keys).toEqual(['yandex/main/yandexgpt', 'mts/a/qwen', 'mts/b/qwen']);
  });

  it('should resolve aliases to the same model', () => {
    const c = catalog({ MTS_A: 'ka' });
    expect(c.resolve('best')).toBe(c.resolve('smart'));
  });

  it('should leave out accounts without credentials and models left with no deployment', () => {
    const c = catalog({ MTS_A: 'ka' });
    expect(c.resolve('smart')?.deployments.map((d) => d.key)).toEqual(['mts/a/qwen']);
    expect(c.resolve('pinned')).toBeUndefined();
    expect(c.resolve('yandex-only')).toBeUndefined();
    expect(c.list(0).map((m) => m.id)).toEqual(['smart', 'best', 'trial', 'embed']);
  });

  it('should leave out provider types without an adapter', () => {
    const c = catalog({ MTS_A: 'ka', YANDEX_KEY: 'y' }, (type) => type === 'openai');
    expect(c.resolve('yandex-only')).toBeUndefined();
    expect(c.resolve('smart')?.deployments.map((d) => d.key)).toEqual(['mts/a/qwen']);
  });

  it('should address provider/model directly over every configured account', () => {
    const model = catalog({ MTS_A: 'ka', MTS_B: 'kb' }).resolve('mts/bge-m3');
    expect(model?.deployments.map((d) => d.key)).toEqual(['mts/a/bge-m3', 'mts/b/bge-m3']);
    expect(catalog({}).resolve('mts/x')).toBeUndefined();
    expect(catalog({ MTS_A: 'ka' }).resolve('nobody/x')).toBeUndefined();
  });

  it('should say owned_by emulator only when every deployment is emulated', () => {
    const config = parseRoutingConfig(YAML, 't.yaml', { MTS_A: 'ka' });
    config.providers[0].emulated = true;
    const c = new ModelCatalog(config);
    expect(c.list(0).find((m) => m.id === 'smart')?.owned_by).toBe('emulator');
  });

  describe('prices', () => {
    const env = { MTS_A: 'ka', MTS_B: 'kb', YANDEX_KEY: 'y', LOCAL_KEY: 'l' };
    const pricesOf = (c: ModelCatalog, name: string) => c.resolve(name)?.deployments.map((d) => [d.key, d.pricing]);

    it('should carry on each target its deployment price, else the model price, else the provider list, else free', () => {
      const c = catalog(env);
      expect(pricesOf(c, 'smart')).toEqual([
        ['yandex/main/yandexgpt', { prompt_per_1k: 1.2, completion_per_1k: 1.2 }],
        ['mts/a/qwen', { prompt_per_1k: 0.2, completion_per_1k: 0.4 }],
        ['mts/b/qwen', { prompt_per_1k: 0.2, completion_per_1k: 0.4 }],
      ]);
      expect(pricesOf(c, 'yandex-only')).toEqual([
        ['yandex/main/yandexgpt-lite', { prompt_per_1k: 0.1, completion_per_1k: 0.2 }],
      ]);
      expect(pricesOf(c, 'trial')).toEqual([
        ['mts/a/qwen-preview', FREE],
        ['mts/b/qwen-preview', FREE],
      ]);
      expect(pricesOf(c, 'on-prem')).toEqual([['local/main/llama', FREE]]);
    });

    it.each([
      ['the provider list', 'mts/bge-m3', { prompt_per_1k: 0.01, completion_per_1k: 0 }],
      [
        'a configured deployment of that upstream model',
        'yandex/yandexgpt',
        { prompt_per_1k: 1.2, completion_per_1k: 1.2 },
      ],
      [
        'a configured deployment priced by its model',
        'yandex/yandexgpt-lite',
        { prompt_per_1k: 0.1, completion_per_1k: 0.2 },
      ],
      ['a free provider', 'local/anything', FREE],
    ])('should price a direct call from %s', (_source, name, pricing) => {
      const model = catalog(env).resolve(name);
      expect(model?.direct).toBe(true);
      expect(model?.deployments.map((d) => d.pricing)).toEqual(model?.deployments.map(() => pricing));
    });

    it('should refuse a direct call to an upstream model with no price with a 400 naming model', () => {
      const c = catalog(env);
      const refusal = (() => {
        try {
          return c.resolve('yandex/yandexgpt-32k');
        } catch (error) {
          return error;
        }
      })();
      expect(refusal).toBeInstanceOf(GatewayError);
      expect(refusal).toMatchObject({ code: ErrorCode.BAD_REQUEST, status: 400, param: 'model' });
      expect((refusal as GatewayError).message).toContain('yandexgpt-32k');
      // A provider without a configured account is unknown (404), whatever its prices.
      expect(catalog({}).resolve('yandex/yandexgpt-32k')).toBeUndefined();
    });

    it('should refuse to build from a config with an unpriced deployment, naming it', () => {
      const config = parseRoutingConfig(YAML, 't.yaml', env);
      config.models.find((m) => m.name === 'yandex-only')!.pricing = undefined;
      expect(() => new ModelCatalog(config)).toThrow(
        "model 'yandex-only': the deployment of provider 'yandex', upstream model 'yandexgpt-lite', has no price",
      );
    });
  });
});

describe('breaker settings', () => {
  const yaml = (second: string) => `
providers:
  - { id: mts, type: openai, base_url: http://mts.local/v1, free: true, accounts: [{ id: a, api_key: k }] }
models:
  - name: one
    deployments: [{ provider: mts, model: qwen, circuit_breaker: { failure_threshold: 1 } }]
  - name: two
    deployments: [{ provider: mts, model: qwen${second} }]
`;

  it('should give each target its deployment’s breaker settings', () => {
    const catalog = new ModelCatalog(
      parseRoutingConfig(yaml(', circuit_breaker: { failure_threshold: 1 }'), 't.yaml', {}),
    );
    expect(catalog.resolve('one')?.deployments[0].breaker.failure_threshold).toBe(1);
  });

  it('should refuse two models giving one deployment different breakers, naming both', () => {
    expect(() => new ModelCatalog(parseRoutingConfig(yaml(''), 't.yaml', {}))).toThrow(
      /mts\/a\/qwen .*'one' and 'two' give it different circuit_breaker settings/,
    );
  });
});
