import { createPartitionSql, dropPartitionSql } from './partition-maintenance.service';

describe('partition DDL', () => {
  it('should create the partition of the UTC day with its exact bounds', () => {
    const sql = createPartitionSql(new Date('2024-11-24T23:30:00.000-03:00'));
    expect(sql).toContain(`to_regclass('request_logs_20241125')`);
    expect(sql).toContain(
      `ATTACH PARTITION request_logs_20241125 FOR VALUES FROM ('2024-11-25T00:00:00.000Z') TO ('2024-11-26T00:00:00.000Z')`,
    );
    expect(sql).toContain(`set_config('lock_timeout', '5000', true)`);
  });

  it.each(['request_logs_default', 'request_logs', 'request_logs_20241301', 'request_logs_20241124; DROP TABLE users'])(
    'should refuse to drop %s',
    (name) => {
      expect(() => dropPartitionSql(name)).toThrow(/Refusing/);
    },
  );

  it("should build another table's partition from that table and its own DEFAULT", () => {
    const sql = createPartitionSql(new Date('2024-11-25T10:00:00.000Z'), 'responses');
    expect(sql).toContain('LOCK TABLE responses_default IN ACCESS EXCLUSIVE MODE');
    expect(sql).toContain('CREATE TABLE responses_20241125 (LIKE responses INCLUDING DEFAULTS)');
    expect(sql).toContain('ALTER TABLE responses ATTACH PARTITION responses_20241125');
    expect(() => dropPartitionSql('request_logs_20240101', 'responses')).toThrow(/Refusing/);
    expect(() => createPartitionSql(new Date(), 'responses; DROP TABLE users')).toThrow(/Refusing/);
  });

  it('should drop a day partition with a bounded lock wait', () => {
    expect(dropPartitionSql('request_logs_20240101')).toMatch(
      /lock_timeout[\s\S]*DROP TABLE IF EXISTS request_logs_20240101;/,
    );
  });
});
