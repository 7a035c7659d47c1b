import { ErrorCode, GatewayError } from '@xrouter/common';
import { parseRetryAfter, transportError, upstreamHttpError, upstreamMessage } from './upstream-error';

describe('upstreamHttpError', () => {
  it.each([
    [401, ErrorCode.UPSTREAM_AUTH, true],
    [400, ErrorCode.BAD_REQUEST, false],
    [404, ErrorCode.MODEL_NOT_FOUND, false],
    [422, ErrorCode.BAD_REQUEST, false],
    [429, ErrorCode.RATE_LIMITED, true],
    [500, ErrorCode.UPSTREAM_5XX, true],
    [503, ErrorCode.UPSTREAM_5XX, true],
  ])('should map %i to %s (retryable %s)', (status, code, retryable) => {
    const error = upstreamHttpError('mts', status, '{"error":{"message":"boom"}}', {});
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.upstreamStatus).toBe(status);
  });

  it('should keep Retry-After', () => {
    expect(upstreamHttpError('mts', 429, '', { 'retry-after': '2' }).retryAfterMs).toBe(2000);
  });

  it('should not echo the upstream message on auth failures (it may describe our credentials)', () => {
    expect(upstreamHttpError('mts', 401, '{"error":{"message":"key sk-123 invalid"}}', {}).message).not.toContain(
      'sk-123',
    );
  });
});

describe('upstreamMessage', () => {
  it.each([
    ['{"error":{"message":"m1"}}', 'm1'],
    ['{"status":400,"message":"m2"}', 'm2'],
    ['{"error":"m3","code":3}', 'm3'],
    ['plain text', 'plain text'],
  ])('should read %s', (body, expected) => expect(upstreamMessage(body)).toBe(expected));
});

describe('parseRetryAfter', () => {
  it('should read seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 5_000)).toBe(5000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('transportError', () => {
  it('should prefer the abort reason set by the router', () => {
    const controller = new AbortController();
    const reason = new GatewayError(ErrorCode.TIMEOUT, 'first-token timeout');
    controller.abort(reason);
    expect(transportError('mts', new Error('aborted'), controller.signal)).toBe(reason);
  });

  it('should call a refused connection unreachable', () => {
    const error = transportError(
      'mts',
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      new AbortController().signal,
    );
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNREACHABLE);
    expect(error.retryable).toBe(true);
  });

  it.each(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID'])(
    'should say that the certificate is not trusted (%s) and point at ca_file',
    (code) => {
      const error = transportError('giga', Object.assign(new Error('x'), { code }), new AbortController().signal);
      expect(error.code).toBe(ErrorCode.UPSTREAM_UNREACHABLE);
      expect(error.message).toBe(
        `giga: the upstream's TLS certificate was refused (${code}); is its CA in the provider's ca_file?`,
      );
    },
  );
});
