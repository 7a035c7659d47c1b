import type { AccountConfig } from '@xrouter/config';

/**
 * Yandex AI Studio's OpenAI-compatible endpoint (`llm.api.cloud.yandex.net/v1`), as its recordings show: the model is
 * a URI with the folder and a version — `gpt://<folder>/<model>/<version>` for chat, `emb://<folder>/<model>/<version>`
 * for embeddings; the SDK always sends a version (`latest` by default), so a bare model name gets `/latest`. A
 * deployment naming a full URI is sent as it is.
 */
export function yandexModelUri(scheme: 'gpt' | 'emb', model: string, folderId: string | undefined): string {
  if (/^[a-z]+:\/\//.test(model)) return model;
  return `${scheme}://${folderId ?? ''}/${model.includes('/') ? model : `${model}/latest`}`;
}

/**
 * `Authorization: Api-Key <key>` (the SDK's scheme for API keys; `Bearer <IAM token>` otherwise: the one issued for
 * the account's service-account key, `iamToken`, or the static `iam_token`), the
 * folder in `OpenAI-Project` as documented, and `x-data-logging-enabled: false` unless the account opts in — by
 * default Yandex keeps prompts and answers.
 */
export function yandexHeaders(account: AccountConfig, iamToken?: string): Record<string, string> {
  const authorization = account.api_key
    ? `Api-Key ${account.api_key}`
    : `Bearer ${iamToken ?? account.iam_token ?? ''}`;
  return {
    authorization,
    ...(account.folder_id ? { 'openai-project': account.folder_id } : {}),
    'x-data-logging-enabled': account.data_logging === true ? 'true' : 'false',
  };
}
