import { BadRequestException, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { StoreUnavailableError } from '@xrouter/store';
import { describeErrorCode, ErrorCode } from './error-code';
import { GatewayError } from './gateway.error';
import { toOpenAiErrorBody } from './openai-error-body';
import { toGatewayError } from './to-gateway-error';

describe('toGatewayError', () => {
  it.each([
    [new NotFoundException('Cannot GET /nope'), ErrorCode.NOT_FOUND, 404],
    [new PayloadTooLargeException(), ErrorCode.PAYLOAD_TOO_LARGE, 413],
    [new BadRequestException('bad'), ErrorCode.BAD_REQUEST, 400],
    [{ type: 'entity.parse.failed', status: 400, message: 'Unexpected token' }, ErrorCode.INVALID_JSON, 400],
    [{ type: 'entity.too.large', status: 413 }, ErrorCode.PAYLOAD_TOO_LARGE, 413],
    [new StoreUnavailableError('publish', new Error('ECONNREFUSED')), ErrorCode.SERVICE_UNAVAILABLE, 503],
    [new Error('secret internals'), ErrorCode.INTERNAL, 500],
  ])('should map %p to %s', (input, code, status) => {
    const error = toGatewayError(input);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
  });

  it('should not leak the text of unknown errors', () => {
    expect(toGatewayError(new Error('password=hunter2')).message).not.toContain('hunter2');
  });

  it('should keep a GatewayError as it is', () => {
    const original = new GatewayError(ErrorCode.TIMEOUT, 'slow');
    expect(toGatewayError(original)).toBe(original);
  });
});

describe('error envelope', () => {
  it('should render OpenAI fields', () => {
    const body = toOpenAiErrorBody(new GatewayError(ErrorCode.BAD_REQUEST, 'Invalid x', { param: 'messages[0].role' }));
    expect(body).toEqual({
      error: {
        message: 'Invalid x',
        type: 'invalid_request_error',
        param: 'messages[0].role',
        code: 'invalid_request',
      },
    });
  });

  it('should describe every code with a status in the 4xx/5xx range', () => {
    for (const code of Object.values(ErrorCode)) {
      const { status } = describeErrorCode(code);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('should let a caller override retryable', () => {
    expect(new GatewayError(ErrorCode.UPSTREAM_5XX, 'x').retryable).toBe(true);
    expect(new GatewayError(ErrorCode.UPSTREAM_5XX, 'x', { retryable: false }).retryable).toBe(false);
  });
});
