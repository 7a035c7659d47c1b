import { LineBatcher, type LineSink } from './line-batcher';

function sink() {
  const writes: string[] = [];
  const target: LineSink & { synced: number } = {
    synced: 0,
    write: (text: string) => writes.push(text),
    flushSync() {
      this.synced++;
    },
  };
  return { writes, target };
}

describe('LineBatcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('should write the lines of one interval in one write, in order', () => {
    const { writes, target } = sink();
    const batcher = new LineBatcher(target, 5, 1_000);
    batcher.write('a\n');
    batcher.write('b\n');
    expect(writes).toEqual([]);
    jest.advanceTimersByTime(5);
    expect(writes).toEqual(['a\nb\n']);
    batcher.write('c\n');
    jest.advanceTimersByTime(5);
    expect(writes).toEqual(['a\nb\n', 'c\n']);
    jest.advanceTimersByTime(50);
    expect(writes).toHaveLength(2);
  });

  it('should write at once when the gathered text reaches its size', () => {
    const { writes, target } = sink();
    const batcher = new LineBatcher(target, 5, 4);
    batcher.write('ab\n');
    batcher.write('cd\n');
    expect(writes).toEqual(['ab\ncd\n']);
    jest.advanceTimersByTime(5);
    expect(writes).toEqual(['ab\ncd\n']);
  });

  it('should hand everything to the sink and sync it on flushSync', () => {
    const { writes, target } = sink();
    const batcher = new LineBatcher(target, 5, 1_000);
    batcher.write('last words\n');
    batcher.flushSync();
    expect(writes).toEqual(['last words\n']);
    expect(target.synced).toBe(1);
    jest.advanceTimersByTime(5);
    expect(writes).toHaveLength(1);
  });
});
