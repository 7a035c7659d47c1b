import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per gateway request, range-partitioned by UTC day. The usage lib's partition maintenance creates
 * `request_logs_YYYYMMDD` partitions ahead of time and drops expired ones whole; the DEFAULT partition catches a row
 * whose day has no partition yet, so an insert never fails. Indexes declared on the parent are created on every
 * partition.
 */
export class RequestLogs1732492800000 implements MigrationInterface {
  name = 'RequestLogs1732492800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE request_logs (
        id bigint GENERATED ALWAYS AS IDENTITY,
        created_at timestamptz NOT NULL,
        request_id text NOT NULL,
        key_id uuid,
        user_id uuid,
        model text NOT NULL,
        provider text,
        account text,
        upstream_model text,
        status integer NOT NULL,
        error_code text,
        attempts smallint NOT NULL,
        latency_ms integer NOT NULL,
        ttft_ms integer,
        prompt_tokens integer NOT NULL DEFAULT 0,
        completion_tokens integer NOT NULL DEFAULT 0,
        total_tokens integer NOT NULL DEFAULT 0,
        cost_rub numeric(20, 9) NOT NULL DEFAULT 0,
        stream boolean NOT NULL,
        PRIMARY KEY (created_at, id)
      ) PARTITION BY RANGE (created_at)`);
    await q.query(`CREATE TABLE request_logs_default PARTITION OF request_logs DEFAULT`);
    await q.query(`CREATE INDEX request_logs_key_id_created_at_idx ON request_logs (key_id, created_at)`);
    await q.query(`CREATE INDEX request_logs_user_id_created_at_idx ON request_logs (user_id, created_at)`);
    await q.query(`CREATE INDEX request_logs_model_created_at_idx ON request_logs (model, created_at)`);
    await q.query(`CREATE INDEX request_logs_provider_created_at_idx ON request_logs (provider, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Dropping the partitioned table drops every partition with it.
    await q.query('DROP TABLE request_logs');
  }
}
