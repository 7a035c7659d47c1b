import { toRequestLogRow, type RequestLogEntry } from './request-log-entry';

const base: RequestLogEntry = {
  createdAt: new Date('2024-11-24T12:00:00Z'),
  requestId: 'req-1',
  keyId: '7f0c5a7e-1111-4222-8333-444455556666',
  userId: null,
  model: 'GigaChat',
  provider: 'gigachat',
  account: null,
  upstreamModel: null,
  status: 200,
  errorCode: null,
  attempts: 2,
  latencyMs: 150,
  ttftMs: 40,
  promptTokens: 10,
  completionTokens: 5,
  costRub: '0.015000000',
  stream: true,
  endUser: null,
};

describe('toRequestLogRow', () => {
  it('should keep a valid entry as it is and add the total', () => {
    expect(toRequestLogRow(base)).toEqual({ ...base, totalTokens: 15 });
  });

  it.each<[string, Partial<RequestLogEntry>, Partial<RequestLogEntry> & { totalTokens?: number }]>([
    ['a key id that is not a UUID', { keyId: 'xr-secret' }, { keyId: null }],
    ['attempts past smallint', { attempts: 100_000 }, { attempts: 32_767 }],
    [
      'negative and NaN numbers',
      { latencyMs: -3, promptTokens: Number.NaN },
      { latencyMs: 0, promptTokens: 0, totalTokens: 5 },
    ],
    ['fractions', { latencyMs: 12.7 }, { latencyMs: 12 }],
    ['tokens past int4', { promptTokens: 3e9 }, { promptTokens: 2_147_483_647, totalTokens: 2_147_483_647 }],
    ['a NUL in text', { model: 'Giga\0Chat' }, { model: 'GigaChat' }],
    ['a cost that is not a plain decimal', { costRub: '-1' }, { costRub: '0' }],
    [
      'an end user with a NUL, and over 256 characters',
      { endUser: `a\0${'b'.repeat(300)}` },
      { endUser: `a${'b'.repeat(255)}` },
    ],
    ['an empty end user', { endUser: '' }, { endUser: null }],
    ['a huge text', { errorCode: 'x'.repeat(10_000) }, { errorCode: 'x'.repeat(256) }],
  ])('should make %s fit its column', (_, input, expected) => {
    expect(toRequestLogRow({ ...base, ...input })).toMatchObject(expected);
  });

  it('should stamp an invalid date with now', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    expect(toRequestLogRow({ ...base, createdAt: new Date(Number.NaN) }, () => now).createdAt).toBe(now);
  });
});
