import { applyDecorators, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated, type Scope } from '@xrouter/auth';
import { FastRoute } from '../front-door/route-table';

const ERRORS: Array<[number, string]> = [
  [400, 'Invalid request or JSON'],
  [401, 'Missing, unknown, revoked or expired credential'],
  [403, 'The credential lacks the scope'],
  [404, 'Unknown model, or one the credential may not use'],
  [413, 'Body larger than MAX_BODY_SIZE'],
  [429, 'Rate limit or budget exceeded'],
  [502, 'Every deployment failed'],
  [503, 'No deployment available'],
];

/**
 * One route of the OpenAI API that makes an LLM call, declared once: the POST, the scope a credential needs, its
 * OpenAPI description (request schema from the handler's `@Body()` DTO; the answers; the errors in OpenAI's
 * envelope) and {@link FastRoute}, so the dispatcher serves it ahead of express with the same guards and pipes.
 */
export function LlmRoute(path: string, scope: Scope, summary: string, ok: string): MethodDecorator {
  return applyDecorators(
    Post(path),
    HttpCode(200),
    FastRoute(),
    Authenticated({ scopes: [scope] }),
    ApiTags('OpenAI'),
    ApiOperation({ summary }),
    ApiOkResponse({ description: ok }),
    ...ERRORS.map(([status, description]) =>
      ApiResponse({
        status,
        description: `${description} (OpenAI's error envelope: {"error": {"message", "type", "code", "param"}})`,
      }),
    ),
  );
}
