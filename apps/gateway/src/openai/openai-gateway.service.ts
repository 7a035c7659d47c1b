import { Inject, Injectable } from '@nestjs/common';
import { permitsModel, type Principal } from '@xrouter/auth';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
  ModelList,
  ModelObject,
} from '@xrouter/common';
import { MODEL_CATALOG, ModelCatalog, RouteOutcome, RoutingService } from '@xrouter/routing';
import { CallPipeline, type BilledOutcome } from './call-pipeline';
import type { EmbeddingRequestDto } from './dto/embedding-request.dto';
import type { CallerContext } from './request-context';
import { promptText } from './request-usage';

export type { BilledOutcome } from './call-pipeline';

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

/**
 * The OpenAI surface over the router: each LLM call is admitted, routed and settled by the {@link CallPipeline};
 * this service says what the OpenAI request means to the router (no stream flag for plain calls, float embeddings
 * upstream whatever the client asked) and to the client.
 */
@Injectable()
export class OpenAiGatewayService {
  constructor(
    private readonly routing: RoutingService,
    @Inject(MODEL_CATALOG) private readonly catalog: ModelCatalog,
    private readonly calls: CallPipeline,
  ) {}

  async chat(body: ChatCompletionRequest, caller: CallerContext): Promise<BilledOutcome<ChatCompletion>> {
    const call = await this.calls.admit(caller, body.model, 'chat', false);
    return this.calls.complete(
      call,
      (options) => this.routing.chat({ ...body, stream: false }, options),
      (value) => value.usage,
    );
  }

  async chatStream(
    body: ChatCompletionRequest,
    caller: CallerContext,
  ): Promise<RouteOutcome<AsyncIterable<ChatCompletionChunk>>> {
    const call = await this.calls.admit(caller, body.model, 'chat', true);
    return this.calls.stream(
      call,
      (options) => this.routing.chatStream({ ...body, stream: true }, options),
      () => promptText(body.messages),
    );
  }

  async embeddings(body: EmbeddingRequestDto, caller: CallerContext): Promise<BilledOutcome<EmbeddingResponse>> {
    const call = await this.calls.admit(caller, body.model, 'embeddings', false);
    const outcome = await this.calls.complete(
      call,
      (options) => this.routing.embeddings({ ...body, encoding_format: 'float' }, options),
      (value) => ({
        prompt_tokens: value.usage.prompt_tokens,
        completion_tokens: 0,
        total_tokens: value.usage.total_tokens,
      }),
    );
    return body.encoding_format === 'base64' ? { ...outcome, value: toBase64Embeddings(outcome.value) } : outcome;
  }

  listModels(principal: Principal): ModelList {
    const data = this.catalog.list(STARTED_AT).filter((m) => permitsModel(principal, m.id));
    return { object: 'list', data };
  }

  getModel(principal: Principal, id: string): ModelObject {
    const model = this.listModels(principal).data.find((m) => m.id === id);
    if (!model) {
      throw new GatewayError(
        ErrorCode.MODEL_NOT_FOUND,
        `The model '${id}' does not exist or you do not have access to it`,
      );
    }
    return model;
  }
}
