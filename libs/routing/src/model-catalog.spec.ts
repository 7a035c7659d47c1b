import { parseRoutingConfig } from '@xrouter/config';
import { ModelCatalog } from './model-catalog';

const YAML = `
providers:
  - id: mts
    type: openai
    base_url: http://mts.local/v1
    accounts:
      - { id: a, api_key: '\${MTS_A}' }
      - { id: b, api_key: '\${MTS_B}' }
  - id: yandex
    type: yandex
    base_url: http://yandex.local/v1
    accounts:
      - { id: main, api_key: '\${YANDEX_KEY}', folder_id: f1 }
models:
  - name: smart
    aliases: [best]
    deployments:
      - { provider: yandex, model: yandexgpt }
      - { provider: mts, model: qwen }
  - name: pinned
    deployments:
      - { provider: mts, account: b, model: qwen }
  - name: yandex-only
    deployments:
      - { provider: yandex, model: yandexgpt-lite }
  - name: embed
    kind: embeddings
    deployments:
      - { provider: mts, model: bge-m3 }
`;

function catalog(env: NodeJS.ProcessEnv, supported?: (type: string) => boolean): ModelCatalog {
  return new ModelCatalog(parseRoutingConfig(YAML, 't.yaml', env), supported);
}

describe('ModelCatalog', () => {
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
    expect(c.list(0).map((m) => m.id)).toEqual(['smart', 'best', 'embed']);
  });

  it('should leave out provider types without an adapter', () => {
    const c = catalog({ MTS_A: 'ka', YANDEX_KEY: 'y' }, (type) => type === 'openai');
    expect(c.resolve('yandex-only')).toBeUndefined();
    expect(c.resolve('smart')?.deployments.map((d) => d.key)).toEqual(['mts/a/qwen']);
  });

  it('should address provider/model directly over every configured account', () => {
    const model = catalog({ MTS_A: 'ka', MTS_B: 'kb' }).resolve('mts/some-new-model');
    expect(model?.deployments.map((d) => d.key)).toEqual(['mts/a/some-new-model', 'mts/b/some-new-model']);
    expect(catalog({}).resolve('mts/x')).toBeUndefined();
    expect(catalog({ MTS_A: 'ka' }).resolve('nobody/x')).toBeUndefined();
  });

  it('should say owned_by emulator only when every deployment is emulated', () => {
    const config = parseRoutingConfig(YAML, 't.yaml', { MTS_A: 'ka' });
    config.providers[0].emulated = true;
    const c = new ModelCatalog(config);
    expect(c.list(0).find((m) => m.id === 'smart')?.owned_by).toBe('emulator');
  });
});
