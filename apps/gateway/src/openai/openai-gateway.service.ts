import { Inject, Injectable } from '@nestjs/common';
import { permitsModel, type Principal } from '@xrouter/auth';
import {
  type BudgetSubject,
  ChatCompletion,
  ChatCompletionChunk,
  clientClosed,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
  ModelList,
  ModelObject,
  Usage,
} from '@xrouter/common';
import { MODEL_CATALOG, ModelCatalog, RouteOutcome, RoutingService, type CatalogTarget } from '@xrouter/routing';
import { XRouterMetrics } from '@xrouter/metrics';
import { RateLimitService } from '@xrouter/rate-limit';
import { BudgetService, costRub, UsageRecorder, type RequestLogEntry } from '@xrouter/usage';
import type { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import type { EmbeddingRequestDto } from './dto/embedding-request.dto';
import { estimateTokens, failureOf, promptText, UsageDraft, usageEntry, watchStream } from './request-usage';

export interface CallerContext {
  principal: Principal;
  requestId: string;
  signal: AbortSignal;
}

/** A non-streamed answer with what it cost (RUB, exact decimal string): the client sees it in a header. */
export type BilledOutcome<T> = RouteOutcome<T> & { costRub: string };

const STARTED_AT = Math.floor(Date.now() / 1000);

/**
 * Every monthly budget the caller spends against — its key's, each issuing key's pool, its user's — as the credential
 * resolver found them (a caller without budgets costs no store call).
 */
export function budgetSubjects(principal: Principal): readonly BudgetSubject[] {
  return principal.budgets;
}

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
 * The OpenAI surface over the router: checks the caller may use the model, routes, and hands every finished
 * request (success, failure, finished or abandoned stream) to the usage recorder — in memory, never awaited.
 */
@Injectable()
export class OpenAiGatewayService {
  constructor(
    private readonly routing: RoutingService,
    @Inject(MODEL_CATALOG) private readonly catalog: ModelCatalog,
    private readonly usage: UsageRecorder,
    private readonly rateLimits: RateLimitService,
    private readonly metrics: XRouterMetrics,
    private readonly budgets: BudgetService,
  ) {}

  /** A finished request: its usage row, and its tokens charged to the key's tokens-per-minute window. */
  private finished(entry: RequestLogEntry, principal: Principal, outcome: RouteOutcome<unknown>): void {
    this.usage.record(entry);
    const labels = { provider: entry.provider ?? 'none', model: outcome.model.direct ? 'direct' : entry.model };
    if (entry.promptTokens > 0) this.metrics.tokens.inc({ ...labels, kind: 'prompt' }, entry.promptTokens);
    if (entry.completionTokens > 0) this.metrics.tokens.inc({ ...labels, kind: 'completion' }, entry.completionTokens);
    const cost = Number(entry.costRub);
    if (cost > 0) this.metrics.costRub.inc(labels, cost);
    const tokens = entry.promptTokens + entry.completionTokens;
    if (tokens > 0) void this.rateLimits.charge(principal, tokens);
    const budgeted = budgetSubjects(principal);
    if (budgeted.length > 0) this.budgets.charge(budgeted, tokens, entry.costRub);
  }

  private assertAllowed(principal: Principal, model: string): void {
    if (!permitsModel(principal, model)) {
      throw new GatewayError(
        ErrorCode.MODEL_NOT_FOUND,
        `The model '${model}' does not exist or you do not have access to it`,
        {
          param: 'model',
        },
      );
    }
  }

  /** May this caller use this model now: allowed for the key, and within every monthly budget that applies. */
  private async admit(principal: Principal, model: string): Promise<void> {
    this.assertAllowed(principal, model);
    await this.budgets.assertWithin(budgetSubjects(principal));
  }

  private draft(caller: CallerContext, model: string, stream: boolean): UsageDraft {
    return { startedAt: Date.now(), requestId: caller.requestId, principal: caller.principal, model, stream };
  }

  /** The cost of a request at the price of the deployment that served it (a fallback is billed at its own price). */
  private priceOf(target: CatalogTarget, usage: Usage | null | undefined): string {
    return costRub(usage?.prompt_tokens ?? 0, usage?.completion_tokens ?? 0, target.pricing);
  }

  private recordFailure(draft: UsageDraft, error: unknown): void {
    const { status, code } = failureOf(error);
    this.usage.record(usageEntry(draft, null, { status, errorCode: code, costRub: '0' }));
  }

  async chat(body: ChatCompletionRequestDto, caller: CallerContext): Promise<BilledOutcome<ChatCompletion>> {
    const draft = this.draft(caller, body.model, false);
    try {
      await this.admit(caller.principal, body.model);
      const outcome = await this.routing.chat(
        { ...body, stream: false },
        { requestId: caller.requestId, clientSignal: caller.signal },
      );
      const usage = outcome.value.usage;
      const cost = this.priceOf(outcome.target, usage);
      this.finished(
        usageEntry(draft, outcome, { status: 200, errorCode: null, usage, costRub: cost }),
        caller.principal,
        outcome,
      );
      return { ...outcome, costRub: cost };
    } catch (error) {
      this.recordFailure(draft, error);
      throw error;
    }
  }

  async chatStream(
    body: ChatCompletionRequestDto,
    caller: CallerContext,
  ): Promise<RouteOutcome<AsyncIterable<ChatCompletionChunk>>> {
    const draft = this.draft(caller, body.model, true);
    let outcome: RouteOutcome<AsyncIterable<ChatCompletionChunk>>;
    try {
      await this.admit(caller.principal, body.model);
      outcome = await this.routing.chatStream(
        { ...body, stream: true },
        { requestId: caller.requestId, clientSignal: caller.signal },
      );
    } catch (error) {
      this.recordFailure(draft, error);
      throw error;
    }
    const price = (usage: Usage) => this.priceOf(outcome.target, usage);
    const value = watchStream(outcome.value, draft.startedAt, price, (end) => {
      // A provider that reported no usage (a broken or abandoned stream) is billed by an estimate.
      const usage: Usage = end.usage ?? {
        prompt_tokens: estimateTokens(promptText(body.messages)),
        completion_tokens: estimateTokens(end.text),
        total_tokens: 0,
      };
      const failed = end.error ? failureOf(end.error) : null;
      const closed = end.completed || failed ? null : failureOf(clientClosed());
      this.finished(
        usageEntry(draft, outcome, {
          status: closed?.status ?? 200,
          errorCode: failed?.code ?? closed?.code ?? null,
          usage,
          ttftMs: end.ttftMs,
          costRub: price(usage),
        }),
        caller.principal,
        outcome,
      );
    });
    return { ...outcome, value };
  }

  async embeddings(body: EmbeddingRequestDto, caller: CallerContext): Promise<BilledOutcome<EmbeddingResponse>> {
    const draft = this.draft(caller, body.model, false);
    try {
      await this.admit(caller.principal, body.model);
      const outcome = await this.routing.embeddings(
        { ...body, encoding_format: 'float' },
        { requestId: caller.requestId, clientSignal: caller.signal },
      );
      const usage: Usage = {
        prompt_tokens: outcome.value.usage.prompt_tokens,
        completion_tokens: 0,
        total_tokens: outcome.value.usage.total_tokens,
      };
      const cost = this.priceOf(outcome.target, usage);
      this.finished(
        usageEntry(draft, outcome, { status: 200, errorCode: null, usage, costRub: cost }),
        caller.principal,
        outcome,
      );
      const value = body.encoding_format === 'base64' ? toBase64Embeddings(outcome.value) : outcome.value;
      return { ...outcome, value, costRub: cost };
    } catch (error) {
      this.recordFailure(draft, error);
      throw error;
    }
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
