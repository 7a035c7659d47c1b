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
  TextCompletion,
} from '@xrouter/common';
import {
  MODEL_CATALOG,
  ModelCatalog,
  modelCapabilities,
  RouteOutcome,
  RoutingService,
  type CatalogModel,
} from '@xrouter/routing';
import { sumRub } from '@xrouter/usage';
import { AnswerCache } from './answer-cache';
import { CallPipeline, type AdmittedCall, type BilledOutcome } from './call-pipeline';
import type { CompletionRequestDto } from './dto/completion-request.dto';
import { embeddingTexts, type EmbeddingRequestDto } from './dto/embedding-request.dto';
import type { CallerContext } from './request-context';
import { planCompletion, toTextCompletion, toTextCompletionChunks } from './legacy-completions';
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
    private readonly answers: AnswerCache,
  ) {}

  async chat(body: ChatCompletionRequest, caller: CallerContext): Promise<BilledOutcome<ChatCompletion>> {
    return this.routeChat(await this.calls.admit(caller, body, 'chat', false), body, caller);
  }

  /** A non-streamed chat call, from the answer cache when the caller asked for it (`answer-cache.ts`). */
  private routeChat(
    call: AdmittedCall,
    body: ChatCompletionRequest,
    caller: CallerContext,
  ): Promise<BilledOutcome<ChatCompletion>> {
    const request = { ...body, stream: false };
    return this.calls.complete(
      call,
      (options) => this.routing.chat(request, options),
      (value) => value.usage,
      this.answers.keyFor(caller, request),
    );
  }

  async chatStream(
    body: ChatCompletionRequest,
    caller: CallerContext,
  ): Promise<RouteOutcome<AsyncIterable<ChatCompletionChunk>>> {
    const call = await this.calls.admit(caller, body, 'chat', true);
    return this.calls.stream(
      call,
      (options) => this.routing.chatStream({ ...body, stream: true }, options),
      () => promptText(body.messages),
    );
  }

  /**
   * `POST /v1/completions` (legacy): one chat call per choice (`legacy-completions.ts`), each admitted — all before
   * any is routed, so a refusal sends nothing upstream — then routed concurrently and settled on its own (a usage row
   * each, under the one request id). The answer costs the sum of its calls.
   */
  async completion(body: CompletionRequestDto, caller: CallerContext): Promise<BilledOutcome<TextCompletion>> {
    const plan = planCompletion(body);
    const admitted: AdmittedCall[] = [];
    for (const request of plan.calls) admitted.push(await this.calls.admit(caller, request, 'chat', false));
    const answers = await Promise.all(admitted.map((call, i) => this.routeChat(call, plan.calls[i], caller)));
    return {
      ...answers[0],
      value: toTextCompletion(
        plan,
        answers.map((answer) => answer.value),
        `cmpl-${caller.requestId}`,
      ),
      attempts: Math.max(...answers.map((answer) => answer.attempts)),
      costRub: sumRub(answers.map((answer) => answer.costRub)),
      // A hit only when every choice came from the cache.
      cache: answers[0].cache && (answers.every((answer) => answer.cache === 'hit') ? 'hit' : 'miss'),
    };
  }

  /** `POST /v1/completions` with `stream: true`: one choice, its chat stream as `text_completion` chunks. */
  async completionStream(
    body: CompletionRequestDto,
    caller: CallerContext,
  ): Promise<RouteOutcome<AsyncIterable<TextCompletion>>> {
    const plan = planCompletion(body);
    const outcome = await this.chatStream(plan.calls[0], caller);
    return { ...outcome, value: toTextCompletionChunks(plan, outcome.value, `cmpl-${caller.requestId}`) };
  }

  async embeddings(body: EmbeddingRequestDto, caller: CallerContext): Promise<BilledOutcome<EmbeddingResponse>> {
    // Token ids become text before anything else, so a bad id is refused before admission, as a bad field is.
    const input = embeddingTexts(body.input);
    const call = await this.calls.admit(caller, body, 'embeddings', false);
    const outcome = await this.calls.complete(
      call,
      (options) => this.routing.embeddings({ ...body, input, encoding_format: 'float' }, options),
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

  /**
   * One model by any id chat accepts: a listed name or alias, or a direct `provider/model` that resolves (a priced
   * upstream model of a configured provider). Anything else, or a model the credential may not use, is a 404.
   */
  getModel(principal: Principal, id: string): ModelObject {
    const listed = this.listModels(principal).data.find((m) => m.id === id);
    if (listed) return listed;
    const direct = permitsModel(principal, id) ? this.resolveQuietly(id) : undefined;
    if (!direct) {
      throw new GatewayError(
        ErrorCode.MODEL_NOT_FOUND,
        `The model '${id}' does not exist or you do not have access to it`,
      );
    }
    return {
      id,
      object: 'model',
      created: STARTED_AT,
      owned_by: direct.ownedBy,
      capabilities: modelCapabilities(direct),
    };
  }

  /** The catalog's model, or undefined where a call would be refused (an unpriced direct model is a 400 there). */
  private resolveQuietly(id: string): CatalogModel | undefined {
    try {
      return this.catalog.resolve(id);
    } catch (error) {
      if (error instanceof GatewayError) return undefined;
      throw error;
    }
  }
}
