import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@xrouter/auth';
import {
  ChatCompletion,
  ChatCompletionChunk,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
  ModelList,
  ModelObject,
} from '@xrouter/common';
import { MODEL_CATALOG, ModelCatalog, RouteOutcome, RoutingService } from '@xrouter/routing';
import type { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import type { EmbeddingRequestDto } from './dto/embedding-request.dto';

export interface CallerContext {
  principal: Principal;
  requestId: string;
  signal: AbortSignal;
}

const STARTED_AT = Math.floor(Date.now() / 1000);

/** OpenAI's base64 encoding of embeddings (what the official SDKs ask for by default): float32 little-endian. */
export function toBase64Embeddings(response: EmbeddingResponse): EmbeddingResponse {
  return {
    ...response,
    data: response.data.map((item) => ({
      ...item,
      embedding:
        typeof item.embedding === 'string'
          ? item.embedding
          : Buffer.from(new Float32Array(item.embedding).buffer).toString('base64'),
    })),
  };
}

/** The OpenAI surface over the router: checks the caller may use the model, then routes. */
@Injectable()
export class OpenAiGatewayService {
  constructor(
    private readonly routing: RoutingService,
    @Inject(MODEL_CATALOG) private readonly catalog: ModelCatalog,
  ) {}

  private assertAllowed(principal: Principal, model: string): void {
    if (principal.allowedModels && !principal.allowedModels.includes(model)) {
      throw new GatewayError(
        ErrorCode.MODEL_NOT_FOUND,
        `The model '${model}' does not exist or you do not have access to it`,
        {
          param: 'model',
        },
      );
    }
  }

  chat(body: ChatCompletionRequestDto, caller: CallerContext): Promise<RouteOutcome<ChatCompletion>> {
    this.assertAllowed(caller.principal, body.model);
    return this.routing.chat({ ...body, stream: false }, { requestId: caller.requestId, clientSignal: caller.signal });
  }

  chatStream(
    body: ChatCompletionRequestDto,
    caller: CallerContext,
  ): Promise<RouteOutcome<AsyncIterable<ChatCompletionChunk>>> {
    this.assertAllowed(caller.principal, body.model);
    return this.routing.chatStream(
      { ...body, stream: true },
      { requestId: caller.requestId, clientSignal: caller.signal },
    );
  }

  async embeddings(body: EmbeddingRequestDto, caller: CallerContext): Promise<RouteOutcome<EmbeddingResponse>> {
    this.assertAllowed(caller.principal, body.model);
    const outcome = await this.routing.embeddings(
      { ...body, encoding_format: 'float' },
      { requestId: caller.requestId, clientSignal: caller.signal },
    );
    return body.encoding_format === 'base64' ? { ...outcome, value: toBase64Embeddings(outcome.value) } : outcome;
  }

  listModels(principal: Principal): ModelList {
    const data = this.catalog
      .list(STARTED_AT)
      .filter((m) => !principal.allowedModels || principal.allowedModels.includes(m.id));
    return { object: 'list', data };
  }

  getModel(principal: Principal, id: string): ModelObject {
    const model = this.listModels(principal).data.find((m) => m.id === id);
    if (!model)
      throw new GatewayError(
        ErrorCode.MODEL_NOT_FOUND,
        `The model '${id}' does not exist or you do not have access to it`,
      );
    return model;
  }
}
