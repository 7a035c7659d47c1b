import type { RequestLogEntry, RequestLogRow } from './request-log-entry';
import type { RequestLogWriter } from './request-log.writer';
import { USAGE_DEFAULTS, type UsageSettings } from './usage.config';
import { RETRY_MAX_MS, UsageRecorder } from './usage.recorder';

function entry(n: number, overrides: Partial<RequestLogEntry> = {}): RequestLogEntry {
  return {
    createdAt: new Date('2024-11-24T12:00:00Z'),
    requestId: `req-${n}`,
    keyId: null,
    userId: null,
    model: 'GigaChat',
    provider: 'gigachat',
    account: 'main',
    upstreamModel: 'GigaChat-2',
    status: 200,
    errorCode: null,
    attempts: 1,
    latencyMs: 120,
    ttftMs: null,
    promptTokens: 10,
    completionTokens: 5,
    costRub: '0.015000000',
    stream: false,
    endUser: null,
    ...overrides,
  };
}

/** The edge the recorder is tested against: records batches, fails when told to, can be held open. */
class FakeWriter implements RequestLogWriter {
  readonly batches: string[][] = [];
  failNext = 0;
  failWith: () => Error = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;

  get written(): string[] {
    return this.batches.flat();
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
  }

  async write(rows: readonly RequestLogRow[]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw this.failWith();
    }
    this.batches.push(rows.map((r) => r.requestId));
  }
}

function settings(overrides: Partial<UsageSettings> = {}): UsageSettings {
  return { ...USAGE_DEFAULTS, ...overrides };
}

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `req-${from + i}`);

describe('UsageRecorder', () => {
  let writer: FakeWriter;
  let recorder: UsageRecorder;

  beforeEach(() => {
    jest.useFakeTimers();
    writer = new FakeWriter();
  });

  afterEach(async () => {
    writer.failNext = 0;
    writer.release();
    const closed = recorder?.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(60_000);
    await closed;
    jest.useRealTimers();
  });

  it('should write a full batch at once, without waiting for the interval', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 3, flushIntervalMs: 60_000 }));
    for (let i = 0; i < 7; i++) recorder.record(entry(i));
    await jest.advanceTimersByTimeAsync(0);
    expect(writer.batches).toEqual([ids(0, 3), ids(3, 6)]);
    expect(recorder.stats()).toMatchObject({ buffered: 1, written: 6, flushes: 2, dropped: 0, failures: 0 });
  });

  it('should write a partial batch when the interval passes', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 100, flushIntervalMs: 1_000 }));
    recorder.record(entry(0));
    recorder.record(entry(1));
    await jest.advanceTimersByTimeAsync(999);
    expect(writer.batches).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(writer.batches).toEqual([ids(0, 2)]);
  });

  it('should never run two writes at once', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 2, flushIntervalMs: 10 }));
    let active = 0;
    let maxActive = 0;
    const write = writer.write.bind(writer);
    writer.write = async (rows) => {
      maxActive = Math.max(maxActive, ++active);
      await new Promise((resolve) => setTimeout(resolve, 25));
      await write(rows);
      active -= 1;
    };
    for (let i = 0; i < 20; i++) recorder.record(entry(i));
    await jest.advanceTimersByTimeAsync(500);
    expect(writer.written).toEqual(ids(0, 20));
    expect(maxActive).toBe(1);
  });

  it('should not resolve flush() while a batch started in the background is still being written', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 2 }));
    const write = writer.write.bind(writer);
    writer.write = async (rows) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await write(rows);
    };
    for (let i = 0; i < 6; i++) recorder.record(entry(i)); // the background drain writes 2-row batches
    let writtenWhenFlushed: string[] = [];
    const flushed = recorder.flush().then(() => (writtenWhenFlushed = [...writer.written]));
    await jest.advanceTimersByTimeAsync(100);
    await flushed;
    expect(writtenWhenFlushed).toEqual(ids(0, 6));
  });

  it('should return immediately from record() even while a write hangs', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 2 }));
    writer.hold();
    for (let i = 0; i < 10; i++) recorder.record(entry(i));
    expect(recorder.stats().buffered).toBe(10);
    writer.release();
    await recorder.flush();
    expect(writer.written).toEqual(ids(0, 10));
  });

  it('should drop the oldest rows beyond bufferMax and count every drop', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 2, bufferMax: 5 }));
    writer.failNext = Infinity;
    for (let i = 0; i < 12; i++) recorder.record(entry(i));
    await jest.advanceTimersByTimeAsync(0);
    expect(recorder.stats()).toMatchObject({ buffered: 5, dropped: 7 });
    writer.failNext = 0;
    await recorder.flush();
    expect(writer.written).toEqual(ids(7, 12));
    expect(recorder.stats()).toMatchObject({ buffered: 0, dropped: 7, written: 5 });
  });

  it('should drop queued rows while a batch is in flight, and that batch first if its write fails', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 2, bufferMax: 4 }));
    writer.hold();
    writer.failNext = 1;
    for (let i = 0; i < 8; i++) recorder.record(entry(i)); // req-0, req-1 in flight; req-2, req-3 dropped
    expect(recorder.stats()).toMatchObject({ buffered: 6, dropped: 2 });
    writer.release();
    await jest.advanceTimersByTimeAsync(0); // the write fails: req-0, req-1 come back and are the oldest
    expect(recorder.stats()).toMatchObject({ buffered: 4, dropped: 4 });
    await recorder.flush();
    expect(writer.written).toEqual(ids(4, 8));
  });

  it('should not drop a batch in flight that then succeeds', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 2, bufferMax: 4 }));
    writer.hold();
    for (let i = 0; i < 8; i++) recorder.record(entry(i));
    writer.release();
    await recorder.flush();
    expect(writer.written).toEqual(['req-0', 'req-1', ...ids(4, 8)]);
    expect(recorder.stats()).toMatchObject({ dropped: 2, written: 6 });
  });

  it('should keep a failed batch, retry it with backoff and keep the order', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 3, flushIntervalMs: 100 }));
    writer.failNext = 3;
    for (let i = 0; i < 3; i++) recorder.record(entry(i));
    await jest.advanceTimersByTimeAsync(0);
    expect(recorder.stats()).toMatchObject({ failures: 1, buffered: 3, written: 0 });
    for (let i = 3; i < 8; i++) recorder.record(entry(i)); // arrives while the database is down
    await jest.advanceTimersByTimeAsync(RETRY_MAX_MS * 3);
    expect(writer.written).toEqual(ids(0, 8));
    expect(recorder.stats()).toMatchObject({ failures: 3, buffered: 0, written: 8, dropped: 0 });
  });

  it('should write again within 5 s of the database coming back, however long it was down', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 1, flushIntervalMs: 100 }));
    let attempts = 0;
    writer.failWith = () => {
      attempts += 1;
      return new Error('connect ECONNREFUSED');
    };
    writer.failNext = 20; // the database comes back right after the 20th failed write, with the backoff at its cap
    recorder.record(entry(0));
    while (attempts < 20) await jest.advanceTimersByTimeAsync(100);
    expect(recorder.stats()).toMatchObject({ written: 0, buffered: 1 });
    await jest.advanceTimersByTimeAsync(5_000);
    expect(recorder.stats()).toMatchObject({ written: 1, buffered: 0 });
  });

  it('should not retry before the backoff has passed, even with the interval ticking', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 1, flushIntervalMs: 10 }));
    let attempts = 0;
    writer.failWith = () => {
      attempts += 1;
      return new Error('Connection terminated unexpectedly');
    };
    writer.failNext = 5;
    recorder.record(entry(0));
    await jest.advanceTimersByTimeAsync(0);
    expect(attempts).toBe(1);
    await jest.advanceTimersByTimeAsync(140); // first backoff is 150-200 ms
    expect(attempts).toBe(1);
    await jest.advanceTimersByTimeAsync(60);
    expect(attempts).toBe(2);
  });

  it('should drop only the rows the database rejects and write the rest of the batch', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 8 }));
    const write = writer.write.bind(writer);
    writer.write = async (rows) => {
      if (rows.some((r) => r.requestId === 'req-5')) {
        throw Object.assign(new Error('value out of range'), { code: '22003' });
      }
      await write(rows);
    };
    for (let i = 0; i < 8; i++) recorder.record(entry(i));
    await recorder.flush();
    expect(writer.written).toEqual(ids(0, 8).filter((id) => id !== 'req-5'));
    expect(recorder.stats()).toMatchObject({ written: 7, dropped: 1, buffered: 0 });
  });

  it('should flush everything it holds on shutdown', async () => {
    recorder = new UsageRecorder(writer, settings({ batchSize: 500, flushIntervalMs: 60_000 }));
    for (let i = 0; i < 1234; i++) recorder.record(entry(i));
    await recorder.beforeApplicationShutdown();
    expect(writer.written).toEqual(ids(0, 1234));
    expect(recorder.stats()).toMatchObject({ buffered: 0, written: 1234, dropped: 0 });
  });

  it('should keep retrying on shutdown until the database answers', async () => {
    recorder = new UsageRecorder(writer, settings({ shutdownFlushMs: 10_000 }));
    writer.failNext = 4;
    for (let i = 0; i < 3; i++) recorder.record(entry(i));
    const done = recorder.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(10_000);
    await done;
    expect(writer.written).toEqual(ids(0, 3));
    expect(recorder.stats()).toMatchObject({ dropped: 0, failures: 4 });
  });

  it('should give up at the shutdown deadline and count what is left as dropped', async () => {
    recorder = new UsageRecorder(writer, settings({ shutdownFlushMs: 2_000 }));
    writer.failNext = Infinity;
    for (let i = 0; i < 3; i++) recorder.record(entry(i));
    const done = recorder.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(2_000);
    await done;
    expect(recorder.stats()).toMatchObject({ buffered: 0, dropped: 3, written: 0 });
    recorder.record(entry(3));
    expect(recorder.stats().dropped).toBe(4);
  });

  it('should stop waiting for a hung write at the shutdown deadline', async () => {
    recorder = new UsageRecorder(writer, settings({ shutdownFlushMs: 1_000 }));
    writer.hold();
    recorder.record(entry(0));
    const done = recorder.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(1_000);
    await done;
    expect(jest.getTimerCount()).toBe(0);
  });

  it('should clear every timer on shutdown', async () => {
    recorder = new UsageRecorder(writer, settings());
    writer.failNext = 1;
    recorder.record(entry(0));
    await jest.advanceTimersByTimeAsync(1_000); // interval fires, the write fails, a retry is scheduled
    expect(jest.getTimerCount()).toBeGreaterThan(0);
    await recorder.beforeApplicationShutdown();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('should never throw from record(), whatever the entry holds', () => {
    recorder = new UsageRecorder(writer, settings());
    const bad = {
      ...entry(0),
      createdAt: new Date('nope'),
      keyId: 'not-a-uuid',
      attempts: 1e9,
      latencyMs: Number.NaN,
      costRub: '1e5',
      model: 'a\0b',
    };
    expect(() => recorder.record(bad)).not.toThrow();
    expect(() => recorder.record(null as unknown as RequestLogEntry)).not.toThrow();
    expect(recorder.stats()).toMatchObject({ buffered: 1, dropped: 1 });
  });
});
