import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The grant model: a key made by a key or by an OAuth access token records its issuer (and dies with it), and an
 * empty scope list now means no scope at all. Existing keys get the scopes they had in effect — every scope their
 * owner's role allows (`admin` for admins' keys) where the list was empty; a non-empty list is kept as it was (an
 * admin's key listed as `chat` no longer passes /admin/*: that was the hole, not the intent).
 */
export class CredentialChains1732752000000 implements MigrationInterface {
  name = 'CredentialChains1732752000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys ADD COLUMN parent_key_id uuid REFERENCES api_keys (id) ON DELETE CASCADE`);
    await q.query(
      `ALTER TABLE api_keys ADD COLUMN parent_token_id uuid REFERENCES oauth_tokens (id) ON DELETE CASCADE`,
    );
    await q.query(`CREATE INDEX api_keys_parent_key_id_idx ON api_keys (parent_key_id)`);
    await q.query(`CREATE INDEX api_keys_parent_token_id_idx ON api_keys (parent_token_id)`);
    await q.query(`
      UPDATE api_keys k
         SET scopes = CASE WHEN u.role = 'admin' THEN '{chat,embeddings,keys,admin}'::text[]
                           ELSE '{chat,embeddings,keys}'::text[] END
        FROM users u
       WHERE u.id = k.user_id AND cardinality(k.scopes) = 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN parent_key_id, DROP COLUMN parent_token_id`);
  }
}
