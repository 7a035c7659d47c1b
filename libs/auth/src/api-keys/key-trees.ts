import type { EntityManager } from 'typeorm';

/**
 * Revokes keys together with every key they made, at any depth (a key dies with its issuer), and returns the secret
 * hashes of the whole tree — already revoked ones too — for the credential caches to forget. `roots` picks the top
 * of the trees: keys by id, or the keys made by OAuth access tokens (by the tokens' ids).
 */
export async function revokeKeyTrees(
  manager: EntityManager,
  roots: { keyIds: readonly string[] } | { tokenIds: readonly string[] },
): Promise<string[]> {
  const [column, ids] = 'keyIds' in roots ? ['id', roots.keyIds] : ['parent_token_id', roots.tokenIds];
  if (ids.length === 0) return [];
  const rows = await manager.query<Array<{ secret_hash: string }>>(
    `WITH RECURSIVE tree AS (
       SELECT id FROM api_keys WHERE ${column} = ANY($1::uuid[])
       UNION
       SELECT k.id FROM api_keys k JOIN tree t ON k.parent_key_id = t.id
     ), revoked AS (
       UPDATE api_keys SET revoked_at = now() WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL RETURNING id
     )
     SELECT k.secret_hash FROM api_keys k WHERE k.id IN (SELECT id FROM tree)
        OR k.id IN (SELECT id FROM revoked)`,
    [ids],
  );
  return rows.map((row) => row.secret_hash.trim());
}
