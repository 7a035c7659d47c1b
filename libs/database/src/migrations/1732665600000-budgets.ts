import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Monthly budgets per key and per user: tokens and/or RUB (exact numeric). Null = no budget. */
export class Budgets1732665600000 implements MigrationInterface {
  name = 'Budgets1732665600000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['api_keys', 'users']) {
      await q.query(`ALTER TABLE ${table} ADD COLUMN monthly_token_budget bigint CHECK (monthly_token_budget > 0)`);
      await q.query(`ALTER TABLE ${table} ADD COLUMN monthly_budget_rub numeric(20,9) CHECK (monthly_budget_rub > 0)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['api_keys', 'users']) {
      await q.query(`ALTER TABLE ${table} DROP COLUMN monthly_token_budget, DROP COLUMN monthly_budget_rub`);
    }
  }
}
