import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stored responses of `POST /v1/responses` (`store: true`): the response object, this request's input items and the
 * items carried from earlier responses of the chain (`context`), for `GET /v1/responses/{id}`, its input items and
 * `previous_response_id`. Range-partitioned by UTC day like `request_logs`, so retention drops whole partitions; the
 * DEFAULT partition catches a day without one. `json`, not `jsonb`: the documents are only ever read whole, and `json`
 * keeps a client's `\u0000` that `jsonb` refuses.
 */
export class Responses1733000000000 implements MigrationInterface {
  name = 'Responses1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE responses (
        id text NOT NULL,
        created_at timestamptz NOT NULL,
        user_id uuid NOT NULL,
        context json NOT NULL,
        input json NOT NULL,
        response json NOT NULL,
        PRIMARY KEY (created_at, id)
      ) PARTITION BY RANGE (created_at)`);
    await q.query(`CREATE TABLE responses_default PARTITION OF responses DEFAULT`);
    await q.query(`CREATE INDEX responses_id_idx ON responses (id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE responses');
  }
}
