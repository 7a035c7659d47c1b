import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configuredAccounts, type ProviderConfig, type RoutingConfig } from '@xrouter/config';

/** Credentials the spawned emulator accepts, made fresh for each start. */
interface EmulatorCredentials {
  EMULATOR_MTS_API_KEY: string;
  EMULATOR_TBANK_API_KEY: string;
  EMULATOR_GIGACHAT_AUTH_KEY: string;
  EMULATOR_YANDEX_API_KEY: string;
  EMULATOR_YANDEX_FOLDER_ID: string;
}

export interface BundledEmulator {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** True when no provider in the file has a single account with credentials: the newcomer's case. */
export function needsEmulators(config: RoutingConfig): boolean {
  return config.providers.every((provider) => configuredAccounts(provider).length === 0);
}

function newCredentials(): EmulatorCredentials {
  const token = () => randomBytes(16).toString('hex');
  return {
    EMULATOR_MTS_API_KEY: `emu-${token()}`,
    EMULATOR_TBANK_API_KEY: `emu-${token()}`,
    EMULATOR_GIGACHAT_AUTH_KEY: Buffer.from(`emu-${token()}:${token()}`).toString('base64'),
    EMULATOR_YANDEX_API_KEY: `emu-${token()}`,
    EMULATOR_YANDEX_FOLDER_ID: `b1g${token().slice(0, 12)}`,
  };
}

/** Points one provider at its emulator, by type and profile; null when the emulator has no such protocol. */
function emulated(provider: ProviderConfig, url: string, creds: EmulatorCredentials): ProviderConfig | null {
  const accounts = (fields: Record<string, string>) => provider.accounts.map((a) => ({ ...a, ...fields }));
  switch (provider.type) {
    case 'openai':
      if (provider.profile === 'mts') {
        return {
          ...provider,
          emulated: true,
          base_url: `${url}/mts/v1`,
          accounts: accounts({ api_key: creds.EMULATOR_MTS_API_KEY }),
        };
      }
      if (provider.profile === 'tbank') {
        return {
          ...provider,
          emulated: true,
          base_url: `${url}/tbank/v1`,
          auth_url: `${url}/cloudru-iam/api/v1/auth/token`,
          accounts: accounts({ api_key: creds.EMULATOR_TBANK_API_KEY, key_id: '', key_secret: '' }),
        };
      }
      if (provider.profile === 'yandex') {
        return {
          ...provider,
          emulated: true,
          base_url: `${url}/yandex/v1`,
          accounts: accounts({
            api_key: creds.EMULATOR_YANDEX_API_KEY,
            folder_id: creds.EMULATOR_YANDEX_FOLDER_ID,
            iam_token: '',
          }),
        };
      }
      return null;
    case 'gigachat':
      return {
        ...provider,
        emulated: true,
        base_url: `${url}/gigachat/api/v1`,
        auth_url: `${url}/gigachat/api/v2/oauth`,
        ca_file: undefined,
        accounts: accounts({ auth_key: creds.EMULATOR_GIGACHAT_AUTH_KEY }),
      };
    case 'yandex':
      return {
        ...provider,
        emulated: true,
        base_url: `${url}/yandex/foundationModels/v1`,
        accounts: accounts({
          api_key: creds.EMULATOR_YANDEX_API_KEY,
          folder_id: creds.EMULATOR_YANDEX_FOLDER_ID,
          iam_token: '',
        }),
      };
  }
}

/** The routing config with every emulatable provider pointed at the emulator (others stay unconfigured). */
export function routeToEmulator(config: RoutingConfig, url: string, creds: EmulatorCredentials): RoutingConfig {
  const providers = config.providers.map((p) => emulated(p, url, creds) ?? p);
  return Object.assign(Object.create(Object.getPrototypeOf(config) as object) as RoutingConfig, config, { providers });
}

/** The emulator's entry, built next to the gateway's (dist/apps/provider-emulator/src/main.js). */
function emulatorEntry(): string {
  const entry = join(__dirname, '..', '..', '..', 'provider-emulator', 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`The provider emulator is not built (${entry}); run npm run build`);
  return entry;
}

/**
 * Starts the bundled provider emulators as a child process on a free loopback port and rewrites the routing config
 * to use them. The child exits with the gateway (its IPC channel closes).
 */
export async function startBundledEmulator(
  config: RoutingConfig,
): Promise<{ emulator: BundledEmulator; config: RoutingConfig }> {
  const creds = newCredentials();
  const child = fork(emulatorEntry(), [], {
    env: { ...process.env, ...creds, EMULATOR_PORT: '0', EMULATOR_HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('The provider emulator did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`The provider emulator exited early (code ${code})`)));
    child.on('message', (message: { type?: string; port?: number }) => {
      if (message?.type === 'listening' && typeof message.port === 'number') {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
  });
  child.removeAllListeners('exit');
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { emulator: { url, process: child, stop }, config: routeToEmulator(config, url, creds) };
}
