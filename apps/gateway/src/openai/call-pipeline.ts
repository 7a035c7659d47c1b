import { Injectable } from '@nestjs/common';
import { permitsModel } from '@xrouter/auth';
import {
  clientClosed,
  ErrorCode,
  GatewayError,
  withErrorHeaders,
  type ChatCompletionChunk,
  type Usage,
} from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import { RateLimitService } from '@xrouter/rate-limit';
import {
  RoutingService,
  type CatalogModel,
  type CatalogTarget,
  type RouteOptions,
  type RouteOutcome,
} from '@xrouter/routing';
import { BudgetService, costRub, UsageRecorder } from '@xrouter/usage';
import { AnswerCache } from './answer-cache';
import { endUserOf, estimateTokens, failureOf, usageEntry, watchStream, type UsageDraft } from './request-usage';
import type { CallerContext } from './request-context';

/** A call that was admitted: what its usage row will say, and how the router is to treat it. */
export interface AdmittedCall extends UsageDraft {
  options: RouteOptions;
  /** The model as the catalog resolved it at admission. */
  resolved?: CatalogModel;
}

/**
 * A non-streamed answer with what it cost (RUB, exact decimal string): the client sees it in a header; and, when the
 * answer cache was asked, whether the answer came from it (`hit`) or was stored in it (`miss`).
 */
export type BilledOutcome<T> = RouteOutcome<T> & { costRub: string; cache?: 'hit' | 'miss' };

/** The cost of a request at the price of the deployment that served it (a fallback is billed at its own price). */
function priceOf(target: CatalogTarget, usage: Usage | null | undefined): string {
  return costRub(
    usage?.prompt_tokens ?? 0,
    usage?.completion_tokens ?? 0,
    target.pricing,
    usage?.prompt_tokens_details?.cached_tokens ?? 0,
  );
}

/**
 * Every LLM call, whichever route it came by, goes through here: {@link admit} before it is routed and one of the
 * settlements after — never both skipped, never one twice.
 *
 * Admission is in two parts, in this order: the global guards, before any body is read (the credential from the
 * cache, its scopes, its rate limit in one store call: `gateway.module.ts`), then, once the body says which model,
 * {@link admit}: the model exists and the credential may use it, and every budget that applies has room (the
 * store call of the budget is made only for a call that could be routed).
 *
 * Settlement writes the usage row (in memory, never awaited), the token and cost metrics, and charges the tokens to
 * the credential's tokens-per-minute window and the cost to every budget — for a success, a failure, or a stream
 * however it ends (completed, failed after the first byte, abandoned by its client: `client_closed`).
 */
@Injectable()
export class CallPipeline {
  constructor(
    private readonly routing: RoutingService,
    private readonly usage: UsageRecorder,
    private readonly rateLimits: RateLimitService,
    private readonly metrics: XRouterMetrics,
    private readonly budgets: BudgetService,
    private readonly answers: AnswerCache,
  ) {}

  /** May this caller make this call now; a refusal is settled (a usage row) before it is thrown. */
  async admit(
    caller: CallerContext,
    request: { model: string; user?: unknown; safety_identifier?: unknown },
    kind: 'chat' | 'embeddings',
    stream: boolean,
  ): Promise<AdmittedCall> {
    const { model } = request;
    const call: AdmittedCall = {
      startedAt: Date.now(),
      requestId: caller.requestId,
      principal: caller.principal,
      model,
      stream,
      endUser: endUserOf(request),
      options: {
        requestId: caller.requestId,
        clientSignal: caller.signal,
        ...(caller.sessionId !== undefined ? { sessionId: caller.sessionId } : {}),
      },
    };
    try {
      if (!permitsModel(caller.principal, model)) {
        throw new GatewayError(
          ErrorCode.MODEL_NOT_FOUND,
          `The model '${model}' does not exist or you do not have access to it`,
          { param: 'model' },
        );
      }
      call.resolved = this.routing.resolve(model, kind);
      await this.budgets.assertWithin(caller.principal.budgets);
    } catch (error) {
      this.settleFailure(call, error);
      // Refused before any attempt: the answer says so, as every routed answer says how many it took.
      throw error instanceof GatewayError ? withErrorHeaders(error, { 'x-xrouter-attempts': '0' }) : error;
    }
    return call;
  }

  /**
   * Routes an admitted call whose answer is complete before it is sent, and settles it either way. With a `cacheKey`
   * (`AnswerCache.keyFor`) an answer stored under it is served instead, with no upstream call: its usage row says
   * provider `cache`, at no tokens and no cost, and nothing is charged to the token window or a budget (the request
   * itself was counted by the rate limit at the door); an answer routed is stored under it.
   */
  async complete<T>(
    call: AdmittedCall,
    route: (options: RouteOptions) => Promise<RouteOutcome<T>>,
    usageOf: (value: T) => Usage | null | undefined,
    cacheKey: string | null = null,
  ): Promise<BilledOutcome<T>> {
    const cached = cacheKey === null ? null : await this.answers.get<T>(cacheKey);
    const model = call.resolved;
    if (cached && model) {
      const target = model.deployments.find((d) => d.key === cached.target) ?? model.deployments[0];
      this.usage.record({
        ...usageEntry(call, null, { status: 200, errorCode: null, costRub: costRub(0, 0) }),
        provider: 'cache',
        upstreamModel: target.upstreamModel,
      });
      return { value: cached.value, model, target, attempts: 0, costRub: costRub(0, 0), cache: 'hit' };
    }
    let outcome: RouteOutcome<T>;
    try {
      outcome = await route(call.options);
    } catch (error) {
      this.settleFailure(call, error);
      throw error;
    }
    const usage = usageOf(outcome.value);
    const cost = priceOf(outcome.target, usage);
    this.settle(call, outcome, { status: 200, errorCode: null, usage, costRub: cost });
    if (cacheKey === null) return { ...outcome, costRub: cost };
    this.answers.set(cacheKey, { target: outcome.target.key, value: outcome.value });
    return { ...outcome, costRub: cost, cache: 'miss' };
  }

  /**
   * Routes an admitted streaming call; the stream is settled when it ends, however it ends. A provider that
   * reported no usage (a broken or abandoned stream) is billed by an estimate of what it sent.
   */
  async stream(
    call: AdmittedCall,
    route: (options: RouteOptions) => Promise<RouteOutcome<AsyncIterable<ChatCompletionChunk>>>,
    promptText: () => string,
  ): Promise<RouteOutcome<AsyncIterable<ChatCompletionChunk>>> {
    let outcome: RouteOutcome<AsyncIterable<ChatCompletionChunk>>;
    try {
      outcome = await route(call.options);
    } catch (error) {
      this.settleFailure(call, error);
      throw error;
    }
    const price = (usage: Usage) => priceOf(outcome.target, usage);
    const value = watchStream(outcome.value, call.startedAt, price, (end) => {
      const usage: Usage = end.usage ?? {
        prompt_tokens: estimateTokens(promptText()),
        completion_tokens: estimateTokens(end.text),
        total_tokens: 0,
      };
      // A failure after the first byte was answered in the stream itself (the status stays 200); a stream that
      // neither completed nor failed was abandoned by its client.
      const abandoned = !end.completed && end.error === null;
      const failed = abandoned ? failureOf(clientClosed()) : end.error !== null ? failureOf(end.error) : null;
      this.settle(call, outcome, {
        status: abandoned && failed ? failed.status : 200,
        errorCode: failed?.code ?? null,
        usage,
        ttftMs: end.ttftMs,
        costRub: price(usage),
      });
    });
    return { ...outcome, value };
  }

  /** A call that failed before it was answered: its row, at no cost. */
  private settleFailure(call: AdmittedCall, error: unknown): void {
    const { status, code } = failureOf(error);
    this.usage.record(usageEntry(call, null, { status, errorCode: code, costRub: '0' }));
  }

  private settle(call: AdmittedCall, outcome: RouteOutcome<unknown>, result: Parameters<typeof usageEntry>[2]): void {
    const entry = usageEntry(call, outcome, result);
    this.usage.record(entry);
    const labels = { provider: entry.provider ?? 'none', model: outcome.model.direct ? 'direct' : entry.model };
    if (entry.promptTokens > 0) this.metrics.tokens.inc({ ...labels, kind: 'prompt' }, entry.promptTokens);
    if (entry.completionTokens > 0) this.metrics.tokens.inc({ ...labels, kind: 'completion' }, entry.completionTokens);
    const cost = Number(entry.costRub);
    if (cost > 0) this.metrics.costRub.inc(labels, cost);
    const tokens = entry.promptTokens + entry.completionTokens;
    if (tokens > 0) void this.rateLimits.charge(call.principal, tokens);
    if (call.principal.budgets.length > 0) this.budgets.charge(call.principal.budgets, tokens, entry.costRub);
  }
}
