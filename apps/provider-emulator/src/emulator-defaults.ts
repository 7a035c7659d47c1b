/**
 * Defaults of the provider emulator and the reading of its environment.
 *
 * Environment (all optional):
 *   EMULATOR_PORT (8090; 0 = any free port), EMULATOR_HOST (127.0.0.1),
 *   EMULATOR_LATENCY_MS (0), EMULATOR_CHUNK_DELAY_MS (0), EMULATOR_CHUNKS (8),
 *   EMULATOR_MTS_API_KEY, EMULATOR_TBANK_API_KEY, EMULATOR_GIGACHAT_AUTH_KEY,
 *   EMULATOR_YANDEX_API_KEY, EMULATOR_YANDEX_FOLDER_ID (defaults below),
 *   EMULATOR_GIGACHAT_TOKEN_TTL_MS (1800000: 30 min, as the real OAuth host),
 *   EMULATOR_YANDEX_MAX_CONCURRENT (0 = unlimited; the real quota is 10 in-flight generations per folder),
 *   EMULATOR_TBANK_KEY_ID, EMULATOR_TBANK_KEY_SECRET (the Cloud.ru access key the IAM emulator exchanges),
 *   EMULATOR_TBANK_TOKEN_TTL_MS (3600000: Cloud.ru IAM's `expires_in` of one hour).
 *   EMULATOR_YANDEX_SA_KEY_FILE (an authorized key JSON with `public_key`: the IAM endpoint accepts JWTs it signed),
 *   EMULATOR_YANDEX_IAM_TOKEN_TTL_MS (43200000: 12 h, as the real IAM).
 */
import { readFileSync } from 'node:fs';

export type ProviderName = 'gigachat' | 'yandex' | 'mts' | 'tbank';
export const PROVIDER_NAMES: readonly ProviderName[] = ['gigachat', 'yandex', 'mts', 'tbank'];

export const DEFAULT_EMULATOR_PORT = 8090;
export const DEFAULT_EMULATOR_HOST = '127.0.0.1';
export const DEFAULT_EMULATOR_CHUNKS = 8;

export const DEFAULT_MTS_API_KEY = 'emulator-mts-key';
export const DEFAULT_TBANK_API_KEY = 'emulator-tbank-key';
export const DEFAULT_GIGACHAT_CLIENT_ID = 'emulator-client-id';
export const DEFAULT_GIGACHAT_CLIENT_SECRET = 'emulator-client-secret';
/** base64("emulator-client-id:emulator-client-secret") = "ZW11bGF0b3ItY2xpZW50LWlkOmVtdWxhdG9yLWNsaWVudC1zZWNyZXQ=" */
export const DEFAULT_GIGACHAT_AUTH_KEY = Buffer.from(
  `${DEFAULT_GIGACHAT_CLIENT_ID}:${DEFAULT_GIGACHAT_CLIENT_SECRET}`,
).toString('base64');
export const DEFAULT_GIGACHAT_TOKEN_TTL_MS = 30 * 60 * 1000;
export const DEFAULT_YANDEX_API_KEY = 'emulator-yandex-key';
export const DEFAULT_YANDEX_FOLDER_ID = 'b1gemulator';
export const DEFAULT_TBANK_KEY_ID = 'emulator-cloudru-key-id';
export const DEFAULT_TBANK_KEY_SECRET = 'emulator-cloudru-key-secret';
export const DEFAULT_TBANK_TOKEN_TTL_MS = 60 * 60 * 1000;
export const DEFAULT_YANDEX_IAM_TOKEN_TTL_MS = 12 * 60 * 60 * 1000;

/** The public half of a service account's authorized key, as `yc iam key create` writes it. */
export interface YandexServiceAccountPublicKey {
  id: string;
  service_account_id: string;
  /** SPKI PEM. */
  public_key: string;
}

export interface EmulatorOptions {
  latencyMs: number;
  chunkDelayMs: number;
  chunks: number;
  mtsApiKey: string;
  tbankApiKey: string;
  gigachatAuthKey: string;
  gigachatTokenTtlMs: number;
  yandexApiKey: string;
  yandexFolderId: string;
  yandexMaxConcurrent: number;
  tbankKeyId: string;
  tbankKeySecret: string;
  tbankTokenTtlMs: number;
  /** Keys whose JWTs `POST /yandex/iam/v1/tokens` accepts. */
  yandexServiceAccountKeys: YandexServiceAccountPublicKey[];
  yandexIamTokenTtlMs: number;
}

export const DEFAULT_EMULATOR_OPTIONS: Readonly<EmulatorOptions> = {
  latencyMs: 0,
  chunkDelayMs: 0,
  chunks: DEFAULT_EMULATOR_CHUNKS,
  mtsApiKey: DEFAULT_MTS_API_KEY,
  tbankApiKey: DEFAULT_TBANK_API_KEY,
  gigachatAuthKey: DEFAULT_GIGACHAT_AUTH_KEY,
  gigachatTokenTtlMs: DEFAULT_GIGACHAT_TOKEN_TTL_MS,
  yandexApiKey: DEFAULT_YANDEX_API_KEY,
  yandexFolderId: DEFAULT_YANDEX_FOLDER_ID,
  yandexMaxConcurrent: 0,
  tbankKeyId: DEFAULT_TBANK_KEY_ID,
  tbankKeySecret: DEFAULT_TBANK_KEY_SECRET,
  tbankTokenTtlMs: DEFAULT_TBANK_TOKEN_TTL_MS,
  yandexServiceAccountKeys: [],
  yandexIamTokenTtlMs: DEFAULT_YANDEX_IAM_TOKEN_TTL_MS,
};

export interface EmulatorEnv {
  port: number;
  host: string;
  options: EmulatorOptions;
}

/** Reads the emulator's variables; throws one error naming every invalid one. */
export function readEmulatorEnv(env: NodeJS.ProcessEnv): EmulatorEnv {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      problems.push(`${name} must be an integer >= ${min} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const str = (name: string, fallback: string): string => env[name] || fallback;

  const port = int('EMULATOR_PORT', DEFAULT_EMULATOR_PORT, 0);
  const result: EmulatorEnv = {
    port,
    host: str('EMULATOR_HOST', DEFAULT_EMULATOR_HOST),
    options: {
      latencyMs: int('EMULATOR_LATENCY_MS', 0, 0),
      chunkDelayMs: int('EMULATOR_CHUNK_DELAY_MS', 0, 0),
      chunks: int('EMULATOR_CHUNKS', DEFAULT_EMULATOR_CHUNKS, 1),
      mtsApiKey: str('EMULATOR_MTS_API_KEY', DEFAULT_MTS_API_KEY),
      tbankApiKey: str('EMULATOR_TBANK_API_KEY', DEFAULT_TBANK_API_KEY),
      gigachatAuthKey: str('EMULATOR_GIGACHAT_AUTH_KEY', DEFAULT_GIGACHAT_AUTH_KEY),
      gigachatTokenTtlMs: int('EMULATOR_GIGACHAT_TOKEN_TTL_MS', DEFAULT_GIGACHAT_TOKEN_TTL_MS, 1),
      yandexApiKey: str('EMULATOR_YANDEX_API_KEY', DEFAULT_YANDEX_API_KEY),
      yandexFolderId: str('EMULATOR_YANDEX_FOLDER_ID', DEFAULT_YANDEX_FOLDER_ID),
      yandexMaxConcurrent: int('EMULATOR_YANDEX_MAX_CONCURRENT', 0, 0),
      tbankKeyId: str('EMULATOR_TBANK_KEY_ID', DEFAULT_TBANK_KEY_ID),
      tbankKeySecret: str('EMULATOR_TBANK_KEY_SECRET', DEFAULT_TBANK_KEY_SECRET),
      tbankTokenTtlMs: int('EMULATOR_TBANK_TOKEN_TTL_MS', DEFAULT_TBANK_TOKEN_TTL_MS, 1),
      yandexServiceAccountKeys: [],
      yandexIamTokenTtlMs: int('EMULATOR_YANDEX_IAM_TOKEN_TTL_MS', DEFAULT_YANDEX_IAM_TOKEN_TTL_MS, 1),
    },
  };
  const keyFile = env.EMULATOR_YANDEX_SA_KEY_FILE;
  if (keyFile) {
    try {
      const key = JSON.parse(readFileSync(keyFile, 'utf8')) as YandexServiceAccountPublicKey;
      if (!key.id || !key.service_account_id || !key.public_key)
        throw new Error('needs id, service_account_id, public_key');
      result.options.yandexServiceAccountKeys = [key];
    } catch (error) {
      problems.push(`EMULATOR_YANDEX_SA_KEY_FILE ${keyFile}: ${(error as Error).message}`);
    }
  }
  if (port > 65535) problems.push(`EMULATOR_PORT must be <= 65535 (got ${port})`);
  if (problems.length > 0) throw new Error(`Invalid provider emulator environment: ${problems.join('; ')}`);
  return result;
}
