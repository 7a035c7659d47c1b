import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { OperationObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ChatCompletionRequestDto } from './openai/dto/chat-completion-request.dto';
import { EmbeddingRequestDto } from './openai/dto/embedding-request.dto';

function openAiOperation(summary: string, requestSchema: string, ok: string): OperationObject {
  const error = (description: string) => ({
    description: `${description} (OpenAI's error envelope: {"error": {"message", "type", "code", "param"}})`,
  });
  return {
    tags: ['OpenAI'],
    summary,
    security: [{ bearer: [] }],
    requestBody: {
      required: true,
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${requestSchema}` } } },
    },
    responses: {
      '200': { description: ok },
      '400': error('Invalid request or JSON'),
      '401': error('Missing, unknown, revoked or expired credential'),
      '403': error('The credential lacks the scope'),
      '404': error('Unknown model, or one the credential may not use'),
      '413': error('Body larger than MAX_BODY_SIZE'),
      '429': error('Rate limit or budget exceeded'),
      '502': error('Every deployment failed'),
      '503': error('No deployment available'),
    },
  };
}

/**
 * The OpenAI POST routes are served ahead of Nest's router (`openai/openai-routes.ts`), so Nest's scanner does not
 * see them: they are described here, from the same DTOs their requests are validated with.
 */
export function describeOpenAiRoutes(document: OpenAPIObject): void {
  document.paths['/v1/chat/completions'] = {
    post: openAiOperation(
      'Create a chat completion (stream: true answers Server-Sent Events)',
      ChatCompletionRequestDto.name,
      'An OpenAI chat.completion object, or an SSE stream of chat.completion.chunk objects',
    ),
  };
  document.paths['/v1/embeddings'] = {
    post: openAiOperation('Create embeddings', EmbeddingRequestDto.name, 'An OpenAI embeddings list'),
  };
}

/** Swagger UI at /docs and the OpenAPI JSON at /docs-json, with the bearer "Authorize" button wired. */
export function setupSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('XRouter')
    .setDescription(
      'OpenAI-compatible gateway for GigaChat, YandexGPT, MTS AI and T-Bank. Authorize with an XRouter API key.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'xr-… API key or OAuth token',
      description: 'An XRouter API key (xr-…)',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ChatCompletionRequestDto, EmbeddingRequestDto],
  });
  describeOpenAiRoutes(document);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
