import { FaultRegistry, FaultSpecError, findFaultDirective, parseFaultSpec, stripFaultDirectives } from './faults';

describe('parseFaultSpec', () => {
  it.each([
    ['status=429,retry-after=2', { status: 429, retryAfterSeconds: 2 }],
    ['slow-first-byte=250', { slowFirstByteMs: 250 }],
    ['hang', { hang: true }],
    ['reset', { reset: true }],
    ['malformed-json', { malformedJson: true }],
    ['truncate-after=0', { truncateAfter: 0 }],
    ['expire-token', { expireToken: true }],
    ['content-filter', { contentFilter: true }],
    [' chunk-delay=40 , truncate-after=3 ', { chunkDelayMs: 40, truncateAfter: 3 }],
  ])('should parse %s', (spec, expected) => {
    expect(parseFaultSpec(spec)).toEqual(expected);
  });

  it.each([
    ['', 'empty fault spec'],
    ['boom', 'unknown fault "boom"'],
    ['status=200', 'fault "status" needs an integer in [400, 599] (got "200")'],
    ['status=abc', 'fault "status" needs an integer in [400, 599] (got "abc")'],
    ['slow-first-byte=-1', 'fault "slow-first-byte" needs an integer in [0, 9007199254740991] (got "-1")'],
    ['retry-after=2', 'retry-after needs status=<code>'],
  ])('should reject %j', (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(new FaultSpecError(message));
  });
});

describe('fault directives', () => {
  it('should find and join every directive, and strip them from the text', () => {
    const text = 'Hello [[fault:status=429]] there [[fault:retry-after=1]]';
    expect(findFaultDirective(text)).toBe('status=429,retry-after=1');
    expect(stripFaultDirectives(text)).toBe('Hello there');
    expect(findFaultDirective('no directive')).toBeUndefined();
    expect(stripFaultDirectives('  plain  ')).toBe('plain');
  });
});

describe('FaultRegistry', () => {
  const pattern = (registry: FaultRegistry, n: number, route = 'POST /chat/completions'): string =>
    Array.from({ length: n }, () => (registry.take('mts', route) ? 'x' : '.')).join('');

  it.each([
    [1, 'xxxxxxxx'],
    [0.5, '.x.x.x.x'],
    [0.25, '...x...x'],
    [0, '........'],
  ])('should fire deterministically at rate %p', (rate, expected) => {
    const registry = new FaultRegistry();
    registry.add({ provider: 'mts', fault: 'status=500', rate });
    expect(pattern(registry, 8)).toBe(expected);
  });

  it('should fire 3 of 10 at rate 0.3 and drop an entry after `count` requests', () => {
    const registry = new FaultRegistry();
    registry.add({ provider: 'mts', fault: 'status=500', rate: 0.3 });
    expect(pattern(registry, 10)).toBe('...x..x..x');
    registry.clear();
    registry.add({ provider: 'mts', fault: 'status=500', rate: 0.5, count: 4 });
    expect(pattern(registry, 6)).toBe('.x.x..');
    expect(registry.list()).toEqual([]);
  });

  it('should skip other providers and OAuth unless the route says so', () => {
    const registry = new FaultRegistry();
    registry.add({ provider: 'gigachat', fault: 'status=500' });
    expect(registry.take('mts', 'POST /chat/completions')).toBeUndefined();
    expect(registry.take('gigachat', 'POST /oauth')).toBeUndefined();
    expect(registry.take('gigachat', 'POST /chat/completions')).toEqual({ status: 500 });
    registry.add({ provider: 'gigachat', fault: 'status=503', route: '/oauth' });
    registry.clear();
    registry.add({ provider: 'gigachat', fault: 'status=503', route: '/oauth' });
    expect(registry.take('gigachat', 'POST /chat/completions')).toBeUndefined();
    expect(registry.take('gigachat', 'POST /oauth')).toEqual({ status: 503 });
  });
});
