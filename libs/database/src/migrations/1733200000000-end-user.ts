import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The end user a request was made for — OpenAI's `user` (or `safety_identifier`), as the client's app sends it —
 * kept on the usage row so a team can see its spend per end user. Added to the partitioned parent, so every
 * partition (and each one made later) has it; existing rows read null.
 */
export class EndUser1733200000000 implements MigrationInterface {
  name = 'EndUser1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE request_logs ADD COLUMN end_user text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE request_logs DROP COLUMN end_user`);
  }
}
