import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource, type EntityManager } from 'typeorm';
import { displayPrefix, generateApiKeySecret, hashSecret } from './api-key-secret';
import { authConfig } from './auth.config';
import { SCOPES } from './authority';

const BOOTSTRAP_EMAIL = 'admin@xrouter.local';
const BOOTSTRAP_KEY_NAME = 'bootstrap admin key';
const BOOTSTRAP_LOCK_ID = 4_627_002;

/**
 * What a start did: with ADMIN_API_KEY, nothing (a live key has its hash), registered it, or brought it back;
 * without, nothing (an admin key exists) or generated one.
 */
type BootstrapOutcome =
  { kind: 'live' | 'registered' | 'restored' | 'admin-exists' } | { kind: 'generated'; secret: string };

/**
 * Makes sure an admin can get in. ADMIN_API_KEY set: that key is an admin key — registered on first sight, and
 * registered again (its row brought back: the hash is unique) when it was revoked, rotated away or expired, with a
 * log line saying so. Unset on a first start (no admin key at all): one is generated, stored hashed, and printed once
 * to stdout. Runs under an advisory lock so replicas starting together create one admin.
 */
@Injectable()
export class BootstrapAdminService implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapAdminService.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const outcome = await this.dataSource.transaction(async (tx): Promise<BootstrapOutcome> => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_ID]);
      const [admin] = await tx.query<Array<{ id: string }>>(
        `INSERT INTO users (email, name, role) VALUES ($1, 'Bootstrap admin', 'admin')
         ON CONFLICT (lower(email)) DO UPDATE SET role = 'admin' RETURNING id`,
        [BOOTSTRAP_EMAIL],
      );
      if (this.config.adminApiKey) return this.registerAdminKey(tx, admin.id, this.config.adminApiKey);
      const [{ count }] = await tx.query<Array<{ count: number }>>(
        `SELECT count(*)::int AS count FROM api_keys k JOIN users u ON u.id = k.user_id
         WHERE u.role = 'admin' AND k.revoked_at IS NULL AND 'admin' = ANY (k.scopes)`,
      );
      if (count > 0) return { kind: 'admin-exists' };
      const secret = generateApiKeySecret();
      await tx.query(`INSERT INTO api_keys (user_id, name, prefix, secret_hash, scopes) VALUES ($1, $2, $3, $4, $5)`, [
        admin.id,
        BOOTSTRAP_KEY_NAME,
        displayPrefix(secret),
        hashSecret(secret),
        [...SCOPES],
      ]);
      return { kind: 'generated', secret };
    });
    this.report(outcome);
  }

  private report(outcome: BootstrapOutcome): void {
    switch (outcome.kind) {
      case 'live':
      case 'admin-exists':
        return;
      case 'registered':
        this.logger.log('ADMIN_API_KEY registered as the bootstrap admin key');
        return;
      case 'restored':
        this.logger.warn(
          'ADMIN_API_KEY was revoked or expired: registered it again as the bootstrap admin key ' +
            '(to retire it for good, unset or change ADMIN_API_KEY)',
        );
        return;
      case 'generated':
        // Deliberately outside the logger (which redacts keys): this is the one time the admin can see it.
        process.stdout.write(
          `\n  XRouter generated an admin API key (shown once, stored only as a hash):\n\n    ${outcome.secret}\n\n` +
            `  Set ADMIN_API_KEY to choose your own.\n\n`,
        );
    }
  }

  /**
   * ADMIN_API_KEY as a live admin key of the bootstrap admin. Its row (secret_hash is unique) is inserted on first
   * sight; when it was revoked or expired it is brought back as the bootstrap key it was: the admin's, unrestricted.
   */
  private async registerAdminKey(tx: EntityManager, adminId: string, secret: string): Promise<BootstrapOutcome> {
    const hash = hashSecret(secret);
    const [row] = await tx.query<Array<{ id: string; live: boolean }>>(
      `SELECT id, (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) AS live
       FROM api_keys WHERE secret_hash = $1`,
      [hash],
    );
    if (row?.live) return { kind: 'live' };
    if (!row) {
      await tx.query(`INSERT INTO api_keys (user_id, name, prefix, secret_hash, scopes) VALUES ($1, $2, $3, $4, $5)`, [
        adminId,
        BOOTSTRAP_KEY_NAME,
        displayPrefix(secret),
        hash,
        [...SCOPES],
      ]);
      return { kind: 'registered' };
    }
    await tx.query(
      `UPDATE api_keys SET user_id = $2, name = $3, revoked_at = NULL, expires_at = NULL, scopes = $4,
         allowed_models = NULL, rpm_limit = NULL, tpm_limit = NULL, parent_key_id = NULL, parent_token_id = NULL
       WHERE id = $1`,
      [row.id, adminId, BOOTSTRAP_KEY_NAME, [...SCOPES]],
    );
    return { kind: 'restored' };
  }
}
