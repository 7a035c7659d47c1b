import { join } from 'node:path';
import { configuredAccounts, loadRoutingConfig } from '@xrouter/config';

/** config/xrouter.yaml as shipped: the documented provider URLs and credentials (README "Providers"). */
describe('the shipped routing config', () => {
  const file = join(__dirname, '..', '..', 'config', 'xrouter.yaml');
  const provider = (env: NodeJS.ProcessEnv, id: string) => {
    const found = loadRoutingConfig(file, env).providers.find((p) => p.id === id);
    if (!found) throw new Error(`no provider ${id}`);
    return found;
  };

  it('should point MTS at the project-scoped Model Hub URL, and let MTS_BASE_URL replace it', () => {
    expect(provider({ MTS_PROJECT_ID: 'proj-1' }, 'mts').base_url).toBe(
      'https://gpt.mwsapis.ru/projects/proj-1/openai/v1',
    );
    expect(provider({ MTS_PROJECT_ID: 'proj-1', MTS_BASE_URL: 'http://mts.local/v1' }, 'mts').base_url).toBe(
      'http://mts.local/v1',
    );
  });

  it('should serve Yandex-OpenAI from the Yandex key and folder, configured only with both', () => {
    const yandex = provider({ YANDEX_API_KEY: 'AQVN-k', YANDEX_FOLDER_ID: 'b1gf' }, 'yandex-openai');
    expect(yandex.base_url).toBe('https://llm.api.cloud.yandex.net/v1');
    expect(yandex.profile).toBe('yandex');
    expect(configuredAccounts(yandex)).toHaveLength(1);
    expect(configuredAccounts(provider({ YANDEX_API_KEY: 'AQVN-k' }, 'yandex-openai'))).toHaveLength(0);
  });

  it('should configure Cloud.ru with an access key pair instead of an API key', () => {
    const tbank = provider({ TBANK_KEY_ID: 'id', TBANK_KEY_SECRET: 'secret' }, 'tbank');
    expect(tbank.auth_url).toBe('https://iam.api.cloud.ru/api/v1/auth/token');
    expect(configuredAccounts(tbank)).toHaveLength(1);
    expect(configuredAccounts(provider({ TBANK_KEY_ID: 'id' }, 'tbank'))).toHaveLength(0);
  });
});
