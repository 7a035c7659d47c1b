import type { ServerResponse } from 'node:http';
import { Body, Controller, Res } from '@nestjs/common';
import { writeJson } from '@xrouter/common';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { CompletionRequestDto } from './dto/completion-request.dto';
import { EmbeddingRequestDto } from './dto/embedding-request.dto';
import { LlmRoute } from './openai-api.decorators';
import { OpenAiGatewayService } from './openai-gateway.service';
import { Caller, type CallerContext, setRouteHeaders } from './request-context';
import { writeSse } from './sse-writer';

/** `POST /v1/chat/completions`: a completion, or with `stream: true` Server-Sent Events. */
@Controller('v1')
export class ChatCompletionsController {
  constructor(private readonly gateway: OpenAiGatewayService) {}

  @LlmRoute(
    'chat/completions',
    'chat',
    'Create a chat completion (stream: true answers Server-Sent Events)',
    'An OpenAI chat.completion object, or an SSE stream of chat.completion.chunk objects',
  )
  async create(
    @Body() body: ChatCompletionRequestDto,
    @Caller() caller: CallerContext,
    @Res() res: ServerResponse,
  ): Promise<void> {
    if (body.stream) {
      const outcome = await this.gateway.chatStream(body, caller);
      setRouteHeaders(res, outcome);
      return writeSse(res, outcome.value, body.stream_options?.include_usage === true);
    }
    const outcome = await this.gateway.chat(body, caller);
    setRouteHeaders(res, outcome);
    writeJson(res, 200, outcome.value);
  }
}

/**
 * `POST /v1/completions` (legacy): text prompts answered by chat models, or with `stream: true` Server-Sent Events of
 * `text_completion` chunks.
 */
@Controller('v1')
export class CompletionsController {
  constructor(private readonly gateway: OpenAiGatewayService) {}

  @LlmRoute(
    'completions',
    'chat',
    'Create a completion (legacy; each prompt is sent to the chat model as one user message)',
    'An OpenAI text_completion object, or an SSE stream of text_completion chunks',
  )
  async create(
    @Body() body: CompletionRequestDto,
    @Caller() caller: CallerContext,
    @Res() res: ServerResponse,
  ): Promise<void> {
    if (body.stream) {
      const outcome = await this.gateway.completionStream(body, caller);
      setRouteHeaders(res, outcome);
      return writeSse(res, outcome.value, body.stream_options?.include_usage === true);
    }
    const outcome = await this.gateway.completion(body, caller);
    setRouteHeaders(res, outcome);
    writeJson(res, 200, outcome.value);
  }
}

/** `POST /v1/embeddings`. */
@Controller('v1')
export class EmbeddingsController {
  constructor(private readonly gateway: OpenAiGatewayService) {}

  @LlmRoute('embeddings', 'embeddings', 'Create embeddings', 'An OpenAI embeddings list')
  async create(
    @Body() body: EmbeddingRequestDto,
    @Caller() caller: CallerContext,
    @Res() res: ServerResponse,
  ): Promise<void> {
    const outcome = await this.gateway.embeddings(body, caller);
    setRouteHeaders(res, outcome);
    writeJson(res, 200, outcome.value);
  }
}
