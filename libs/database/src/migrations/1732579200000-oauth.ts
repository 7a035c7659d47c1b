import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OAuth 2.0 authorization server: registered (public) clients and the tokens issued to them. Tokens are stored only
 * as SHA-256 of the secret. Access and refresh tokens of one grant share a `family_id`, so presenting an already
 * rotated refresh token revokes the whole family. Authorization codes live in the store (short TTL), not here.
 */
export class Oauth1732579200000 implements MigrationInterface {
  name = 'Oauth1732579200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE oauth_clients (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        redirect_uris text[] NOT NULL,
        scopes text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE oauth_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        token_hash char(64) NOT NULL,
        kind text NOT NULL CHECK (kind IN ('access', 'refresh')),
        family_id uuid NOT NULL,
        client_id uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        scopes text[] NOT NULL DEFAULT '{}',
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX oauth_tokens_token_hash_key ON oauth_tokens (token_hash)`);
    await q.query(`CREATE INDEX oauth_tokens_family_id_idx ON oauth_tokens (family_id)`);
    await q.query(`CREATE INDEX oauth_tokens_client_id_idx ON oauth_tokens (client_id)`);
    await q.query(`CREATE INDEX oauth_tokens_user_id_idx ON oauth_tokens (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE oauth_tokens');
    await q.query('DROP TABLE oauth_clients');
  }
}
