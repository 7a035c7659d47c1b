import { Injectable, Logger } from '@nestjs/common';
import { XRouterMetrics } from '@xrouter/metrics';
import type { DeploymentTarget } from '@xrouter/providers';

/** How long an account whose credentials were rejected is left alone before one request tries it again. */
export const CREDENTIALS_RETRY_MS = 60_000;

interface Rejection {
  since: number;
  /** When the next single try may go out. */
  nextTryAt: number;
  message: string;
}

/**
 * Accounts whose credentials the upstream refused (401/403). Not a breaker matter — the deployment is fine, the
 * gateway's key is not — so such an account is skipped (the next account or deployment serves), one WARN says which
 * account and which variable holds its credential, and every {@link CREDENTIALS_RETRY_MS} one request tries it again
 * (new credentials, a refreshed token): the first success clears it. One per process: the router writes it,
 * /admin/providers reads it, `xrouter_credentials_rejected` mirrors it.
 */
@Injectable()
export class CredentialRejections {
  private readonly logger = new Logger('Credentials');
  private readonly rejected = new Map<string, Rejection>();

  constructor(private readonly metrics: XRouterMetrics) {}

  private onChange(target: DeploymentTarget, rejected: boolean): void {
    this.metrics.credentialsRejected.set(
      { provider: target.provider.id, account: target.account.id },
      rejected ? 1 : 0,
    );
  }

  private key(target: DeploymentTarget): string {
    return `${target.provider.id}/${target.account.id}`;
  }

  /** Whether this account should be skipped now; at most one caller per retry interval is let through. */
  skip(target: DeploymentTarget): boolean {
    const rejection = this.rejected.get(this.key(target));
    if (!rejection) return false;
    if (Date.now() < rejection.nextTryAt) return true;
    rejection.nextTryAt = Date.now() + CREDENTIALS_RETRY_MS;
    return false;
  }

  reject(target: DeploymentTarget, message: string): void {
    const key = this.key(target);
    const known = this.rejected.get(key);
    if (known) {
      known.nextTryAt = Date.now() + CREDENTIALS_RETRY_MS;
      return;
    }
    this.rejected.set(key, { since: Date.now(), nextTryAt: Date.now() + CREDENTIALS_RETRY_MS, message });
    const variables = target.account.credential_vars?.length ? target.account.credential_vars.join(', ') : null;
    this.logger.warn(
      `${target.provider.id} rejected the credentials of account '${target.account.id}'` +
        (variables ? ` (from ${variables})` : '') +
        `: its requests go to other accounts and deployments; retried every ${CREDENTIALS_RETRY_MS / 1000} s. ` +
        `Upstream said: ${message}`,
    );
    this.onChange(target, true);
  }

  accept(target: DeploymentTarget): void {
    const key = this.key(target);
    if (!this.rejected.delete(key)) return;
    this.logger.log(`${target.provider.id} accepts the credentials of account '${target.account.id}' again`);
    this.onChange(target, false);
  }

  /** The rejection of this account, for /admin/providers; null when its credentials work. */
  state(target: DeploymentTarget): { since: string; message: string } | null {
    const rejection = this.rejected.get(this.key(target));
    return rejection ? { since: new Date(rejection.since).toISOString(), message: rejection.message } : null;
  }
}
