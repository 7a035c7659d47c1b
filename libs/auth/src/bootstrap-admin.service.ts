import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { displayPrefix, generateApiKeySecret, hashSecret } from './api-key-secret';
import { authConfig } from './auth.config';
import { SCOPES } from './authority';

const BOOTSTRAP_EMAIL = 'admin@xrouter.local';
const BOOTSTRAP_KEY_NAME = 'bootstrap admin key';
const BOOTSTRAP_LOCK_ID = 4_627_002;

/**
 * Makes sure an admin can get in. ADMIN_API_KEY set: that key is an admin key (registered on first sight).
 * Unset on a first start (no admin key at all): one is generated, stored hashed, and printed once to stdout.
 * Runs under an advisory lock so replicas starting together create one admin.
 */
@Injectable()
export class BootstrapAdminService implements OnApplicationBootstrap {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const printed = await this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_ID]);
      const [admin] = await tx.query<Array<{ id: string }>>(
        `INSERT INTO users (email, name, role) VALUES ($1, 'Bootstrap admin', 'admin')
         ON CONFLICT (lower(email)) DO UPDATE SET role = 'admin' RETURNING id`,
        [BOOTSTRAP_EMAIL],
      );
      if (this.config.adminApiKey) {
        await tx.query(
          `INSERT INTO api_keys (user_id, name, prefix, secret_hash, scopes)
           SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE secret_hash = $4)`,
          [
            admin.id,
            BOOTSTRAP_KEY_NAME,
            displayPrefix(this.config.adminApiKey),
            hashSecret(this.config.adminApiKey),
            [...SCOPES],
          ],
        );
        return null;
      }
      const [{ count }] = await tx.query<Array<{ count: number }>>(
        `SELECT count(*)::int AS count FROM api_keys k JOIN users u ON u.id = k.user_id
         WHERE u.role = 'admin' AND k.revoked_at IS NULL AND 'admin' = ANY (k.scopes)`,
      );
      if (count > 0) return null;
      const secret = generateApiKeySecret();
      await tx.query(`INSERT INTO api_keys (user_id, name, prefix, secret_hash, scopes) VALUES ($1, $2, $3, $4, $5)`, [
        admin.id,
        BOOTSTRAP_KEY_NAME,
        displayPrefix(secret),
        hashSecret(secret),
        [...SCOPES],
      ]);
      return secret;
    });
    if (printed) {
      // Deliberately outside the logger (which redacts keys): this is the one time the admin can see it.
      process.stdout.write(
        `\n  XRouter generated an admin API key (shown once, stored only as a hash):\n\n    ${printed}\n\n` +
          `  Set ADMIN_API_KEY to choose your own.\n\n`,
      );
    }
  }
}
