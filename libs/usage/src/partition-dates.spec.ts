import {
  daysToCreate,
  msUntilNextRun,
  partitionBounds,
  partitionDay,
  partitionName,
  partitionsToDrop,
  retentionCutoff,
} from './partition-dates';

const at = (iso: string) => new Date(iso);

describe('partition date helpers', () => {
  it.each([
    ['2024-11-24T00:00:00.000Z', 'request_logs_20241124'],
    ['2024-11-24T23:59:59.999Z', 'request_logs_20241124'],
    ['2024-11-25T00:00:00.000Z', 'request_logs_20241125'],
    ['2024-11-24T23:30:00.000-03:00', 'request_logs_20241125'], // 02:30 UTC next day
    ['2024-02-29T12:00:00.000Z', 'request_logs_20240229'],
    ['1999-12-31T23:59:59.999Z', 'request_logs_19991231'],
  ])('should name the partition of %s %s', (iso, name) => {
    expect(partitionName(at(iso))).toBe(name);
  });

  it.each([
    ['2024-11-24T13:45:00.000Z', '2024-11-24T00:00:00.000Z', '2024-11-25T00:00:00.000Z'],
    ['2024-12-31T23:59:59.999Z', '2024-12-31T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
    ['2024-02-28T00:00:00.000Z', '2024-02-28T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    ['2024-03-10T01:30:00.000-08:00', '2024-03-10T00:00:00.000Z', '2024-03-11T00:00:00.000Z'],
  ])('should bound the day of %s as [%s, %s)', (iso, from, to) => {
    const bounds = partitionBounds(at(iso));
    expect(bounds.from.toISOString()).toBe(from);
    expect(bounds.to.toISOString()).toBe(to);
  });

  it.each([
    ['request_logs_20241124', '2024-11-24T00:00:00.000Z'],
    ['request_logs_20240229', '2024-02-29T00:00:00.000Z'],
    ['request_logs_20230229', null], // not a date
    ['request_logs_20241324', null],
    ['request_logs_default', null],
    ['request_logs_2024112', null],
    ['other_20241124', null],
  ])('should read the day of %s as %s', (name, iso) => {
    expect(partitionDay(name)?.toISOString() ?? null).toBe(iso);
  });

  it('should create today and the next N days', () => {
    expect(daysToCreate(at('2024-12-30T18:00:00Z'), 3).map((day) => partitionName(day))).toEqual([
      'request_logs_20241230',
      'request_logs_20241231',
      'request_logs_20250101',
      'request_logs_20250102',
    ]);
    expect(daysToCreate(at('2024-12-30T18:00:00Z'), 0).map((day) => partitionName(day))).toEqual([
      'request_logs_20241230',
    ]);
  });

  const existing = [
    'request_logs_default',
    'request_logs_20241127',
    'request_logs_20240826',
    'request_logs_20240825',
    'request_logs_20240701',
    'request_logs_20241124',
    'something_else',
  ];

  it.each([
    // today, retention days, expected drops (oldest first)
    ['2024-11-24T10:00:00Z', 90, ['request_logs_20240701', 'request_logs_20240825']], // cutoff 2024-08-26
    ['2024-11-24T23:59:59Z', 91, ['request_logs_20240701']], // cutoff 2024-08-25
    ['2024-11-24T00:00:00Z', 1, ['request_logs_20240701', 'request_logs_20240825', 'request_logs_20240826']],
    ['2024-11-25T00:00:00Z', 1, ['request_logs_20240701', 'request_logs_20240825', 'request_logs_20240826']],
    [
      '2024-11-26T00:00:00Z',
      1,
      ['request_logs_20240701', 'request_logs_20240825', 'request_logs_20240826', 'request_logs_20241124'],
    ],
    ['2024-07-01T00:00:00Z', 90, []],
  ])('should on %s with %i days of retention drop %j', (today, days, expected) => {
    expect(partitionsToDrop(existing, at(today), days)).toEqual(expected);
  });

  it('should never drop the partition of a day still inside retention', () => {
    const today = at('2024-11-24T12:00:00Z');
    expect(retentionCutoff(today, 90).toISOString()).toBe('2024-08-26T00:00:00.000Z');
    expect(partitionsToDrop(['request_logs_20240826', 'request_logs_20241124'], today, 90)).toEqual([]);
  });

  it("should drop only the given table's day partitions", () => {
    const names = ['responses_20240701', 'responses_default', 'request_logs_20240701', 'responses_x_20240701'];
    expect(partitionName(at('2024-07-01T10:00:00Z'), 'responses')).toBe('responses_20240701');
    expect(partitionsToDrop(names, at('2024-11-24T10:00:00Z'), 30, 'responses')).toEqual(['responses_20240701']);
    expect(partitionsToDrop(names, at('2024-11-24T10:00:00Z'), 30)).toEqual(['request_logs_20240701']);
  });

  it.each([
    ['2024-11-24T00:00:00Z', 5 * 60_000],
    ['2024-11-24T00:04:59Z', 1_000],
    ['2024-11-24T00:05:00Z', 86_400_000],
    ['2024-11-24T12:00:00Z', 12 * 3_600_000 + 5 * 60_000],
  ])('should schedule the next run from %s in %i ms', (now, ms) => {
    expect(msUntilNextRun(at(now))).toBe(ms);
  });
});
