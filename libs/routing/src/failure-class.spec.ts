import { ErrorCode, GatewayError } from '@xrouter/common';
import { classifyFailure, triesOn, type FailureClass } from './failure-class';

describe('classifyFailure', () => {
  it.each<[string, ErrorCode, string | null, FailureClass, boolean]>([
    ['an upstream 5xx', ErrorCode.UPSTREAM_5XX, null, 'deployment', true],
    ['a reset connection', ErrorCode.UPSTREAM_UNREACHABLE, null, 'deployment', true],
    ['a malformed answer', ErrorCode.UPSTREAM_BAD_RESPONSE, null, 'deployment', true],
    ['an upstream 429', ErrorCode.RATE_LIMITED, null, 'deployment', true],
    ['no first token in time', ErrorCode.TIMEOUT, 'first-token', 'deployment', true],
    ['the attempt bound', ErrorCode.TIMEOUT, 'attempt', 'deployment', true],
    ["the request's own deadline", ErrorCode.TIMEOUT, 'total', 'deadline', false],
    ['rejected credentials', ErrorCode.UPSTREAM_AUTH, null, 'credentials', true],
    ["the account's quota", ErrorCode.INSUFFICIENT_QUOTA, null, 'quota', true],
    ['an upstream 400 (or 422)', ErrorCode.BAD_REQUEST, null, 'client', false],
    ['an upstream 404 (no such model there)', ErrorCode.MODEL_NOT_FOUND, null, 'absent', true],
    ['an upstream 413', ErrorCode.PAYLOAD_TOO_LARGE, null, 'client', false],
    ['a content filter', ErrorCode.CONTENT_FILTER, null, 'client', false],
    ['a bug of ours', ErrorCode.INTERNAL, null, 'client', false],
  ])('should class %s as %s', (_what, code, expiredBy, expected, retried) => {
    const failure = classifyFailure(new GatewayError(code, 'x'), expiredBy);
    expect(failure).toBe(expected);
    expect(triesOn(failure)).toBe(retried);
  });
});
