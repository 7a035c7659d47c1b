import type { AccountConfig, ProviderConfig } from './routing-config.schema';

/** Whether an account has the credentials its provider type needs (an unset `${VAR}` leaves them empty). */
export function isAccountConfigured(provider: ProviderConfig, account: AccountConfig): boolean {
  switch (provider.type) {
    case 'openai':
      if (provider.profile === 'yandex') {
        const credential =
          account.api_key || account.iam_token || account.service_account_key || account.service_account_key_file;
        return Boolean(credential && account.folder_id);
      }
      return Boolean(account.api_key || (account.key_id && account.key_secret));
    case 'gigachat':
      return Boolean(account.auth_key);
    case 'yandex':
      return Boolean(
        (account.api_key || account.iam_token || account.service_account_key || account.service_account_key_file) &&
        account.folder_id,
      );
  }
}

export function configuredAccounts(provider: ProviderConfig): AccountConfig[] {
  return provider.accounts.filter((account) => isAccountConfigured(provider, account));
}
