import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A key may have its non-streamed answers cached (`cache` in the key APIs): an identical request by the same key is
 * then answered from the store. Off for every existing key. A hit's usage row needs no column of its own: its
 * provider is `cache`, at no tokens and no cost.
 */
export class AnswerCache1733100000000 implements MigrationInterface {
  name = 'AnswerCache1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys ADD COLUMN answer_cache boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN answer_cache`);
  }
}
