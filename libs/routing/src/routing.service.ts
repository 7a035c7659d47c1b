import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  clientClosed,
  ErrorCode,
  GatewayError,
  withErrorHeaders,
} from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import {
  AccountRateLimiter,
  CallContext,
  capabilityLabel,
  chatFeatures,
  DeploymentTarget,
  embeddingFeatures,
  fitRequest,
  ProviderRegistry,
  withoutFields,
  type Feature,
} from '@xrouter/providers';
import {
  afterAttempt,
  INITIAL_ATTEMPT_STATE,
  nextPass,
  planNext,
  type AttemptResult,
  type AttemptState,
  type RequestPlan,
  type Stop,
} from './attempt-plan';
import { BreakerRegistry } from './breaker.registry';
import { AccountRotation, orderCandidates } from './candidate-order';
import { CredentialRejections } from './credential-rejections';
import { createDeadline, type AttemptBounds, type Deadline } from './deadline';
import { classifyFailure, triesOn } from './failure-class';
import { LatencyTracker } from './latency-tracker';
import { CatalogModel, ModelCatalog, type CatalogTarget } from './model-catalog';
import { MODEL_CATALOG } from './routing.constants';
import { orderGroups } from './strategies';

export interface RouteOptions {
  requestId: string;
  /** Aborts when the client disconnects. */
  clientSignal?: AbortSignal;
  /** The client's `x-session-id`, for providers that cache context by session. */
  sessionId?: string;
}

/** What the router did for one request: shown to the client in headers and recorded in usage. */
export interface RouteOutcome<T> {
  value: T;
  model: CatalogModel;
  /** The deployment that answered, with the price the request is billed at. */
  target: CatalogTarget;
  attempts: number;
  /** Request fields the deployment that answered was sent without (its `drop_params`): `x-xrouter-dropped-params`. */
  dropped?: readonly string[];
}

type Call<T> = (ctx: CallContext, deadline: Deadline) => Promise<T>;

/** The adapter call of one attempt, with the request as that deployment is to get it (its dropped fields removed). */
type RequestCall<R, T> = (request: R, ctx: CallContext, deadline: Deadline) => Promise<T>;

/** A deployment that can serve the request, and the fields it is to be sent without. */
interface Fitted {
  target: CatalogTarget;
  dropped: string[];
}

/** An error answer says how many attempts it took, as an answer does (`x-xrouter-attempts`). */
function attemptsTold(error: GatewayError, state: AttemptState): GatewayError {
  return withErrorHeaders(error, { 'x-xrouter-attempts': String(state.attempts) });
}

/** What every attempt of one request shares. */
interface AttemptRequest<T> {
  requestedModel: string;
  completionId: string;
  options: RouteOptions;
  streaming: boolean;
  giveUpAt: number;
  call: Call<T>;
}

/**
 * The orchestrator: picks the order of deployments (strategy, breakers, latencies — pure functions), then tries
 * them as the pure pass plan ({@link planNext}) says: a retryable failure moves to the next deployment at once; once
 * every deployment had its turn, the next pass waits a jittered backoff, never sooner than a deployment's
 * Retry-After, and never past the request's deadline. Attempts are capped by the model's `retry.max_attempts`. Each
 * attempt runs under an AbortSignal deadline (the remaining total for plain calls; first-token, then the remaining
 * total, for streams).
 */
@Injectable()
export class RoutingService implements OnModuleInit {
  private readonly rotation = new AccountRotation();
  private readonly turns = new Map<string, number>();

  constructor(
    @Inject(MODEL_CATALOG) private readonly catalog: ModelCatalog,
    private readonly providers: ProviderRegistry,
    private readonly accountLimiter: AccountRateLimiter,
    private readonly breakers: BreakerRegistry,
    private readonly latency: LatencyTracker,
    private readonly credentials: CredentialRejections,
    private readonly metrics: XRouterMetrics,
  ) {}

  /** Every configured deployment gets its breaker (and gauge series) from the start, not on first use. */
  onModuleInit(): void {
    for (const target of this.catalog.deployments()) this.breakers.get(target);
  }

  resolve(name: string, kind: 'chat' | 'embeddings'): CatalogModel {
    const model = this.catalog.resolve(name);
    if (!model || model.kind !== kind) {
      throw new GatewayError(ErrorCode.MODEL_NOT_FOUND, `The model '${name}' does not exist or is not available`, {
        param: 'model',
      });
    }
    return model;
  }

  chat(request: ChatCompletionRequest, options: RouteOptions): Promise<RouteOutcome<ChatCompletion>> {
    const model = this.resolve(request.model, 'chat');
    return this.run(model, request, chatFeatures(request), options, false, (sent, ctx) =>
      this.providers.get(ctx.target.provider.type).chat(sent, ctx),
    );
  }

  /** Resolves once a deployment has produced its first chunk; failures before that fall back, later ones throw. */
  chatStream(
    request: ChatCompletionRequest,
    options: RouteOptions,
  ): Promise<RouteOutcome<AsyncIterable<ChatCompletionChunk>>> {
    const model = this.resolve(request.model, 'chat');
    return this.run(model, request, chatFeatures(request), options, true, async (sent, ctx, deadline) => {
      const stream = await this.providers.get(ctx.target.provider.type).chatStream(sent, ctx);
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      return { first, iterator, deadline };
    }).then((outcome) => ({ ...outcome, value: this.continueStream(outcome.value, outcome.target, model.direct) }));
  }

  embeddings(request: EmbeddingRequest, options: RouteOptions): Promise<RouteOutcome<EmbeddingResponse>> {
    const model = this.resolve(request.model, 'embeddings');
    return this.run(model, request, embeddingFeatures(request), options, false, (sent, ctx) =>
      this.providers.get(ctx.target.provider.type).embeddings(sent, ctx),
    );
  }

  private candidates(model: CatalogModel): CatalogTarget[] {
    const turn = this.turns.get(model.name) ?? 0;
    this.turns.set(model.name, turn + 1);
    const groups = orderGroups(model.strategy, model.groups, {
      turn,
      random: Math.random,
      latency: (group) => this.latency.get(group.key),
      available: (group) => model.direct || group.targets.some((t) => this.breakers.get(t).isAvailable()),
    });
    return orderCandidates(groups, (group) => this.rotation.next(group));
  }

  private groupKeyOf(model: CatalogModel, target: CatalogTarget): string {
    return model.groups.find((g) => g.targets.includes(target))?.key ?? target.key;
  }

  /**
   * The candidates, in the strategy's order, that can honour every feature of the request (`capabilities.ts`),
   * each with the fields it is to be sent without; none: a 400 naming the first feature the first candidate lacks.
   * Checked before any attempt, so a request no deployment can serve costs no upstream call.
   */
  private fitting<R extends object>(
    model: CatalogModel,
    requestedModel: string,
    request: R,
    features: readonly Feature[],
  ): Fitted[] {
    const candidates = this.candidates(model);
    const fields = request as Record<string, unknown>;
    const present = (field: string) => fields[field] !== undefined && fields[field] !== null;
    const fitted: Fitted[] = [];
    let missing: Feature | undefined;
    for (const target of candidates) {
      const fit = fitRequest(features, target.capabilities, target.dropParams, present);
      if (fit.ok) fitted.push({ target, dropped: fit.dropped });
      else missing ??= fit.missing;
    }
    if (fitted.length > 0 || !missing) return fitted;
    const which = model.deployments.length > 1 ? 'none of the deployments of the model' : 'the model';
    const droppable =
      missing.fields.length > 0 ? `, or ask an administrator to list it in the model's drop_params` : '';
    throw new GatewayError(
      ErrorCode.BAD_REQUEST,
      `'${missing.param}' asks for ${capabilityLabel(missing.capability)}, which ${which} '${requestedModel}' ` +
        `does not support: send the request without it${droppable}`,
      { param: missing.param, headers: { 'x-xrouter-attempts': '0' } },
    );
  }

  private async run<T, R extends { model: string }>(
    model: CatalogModel,
    original: R,
    features: readonly Feature[],
    options: RouteOptions,
    streaming: boolean,
    send: RequestCall<R, T>,
  ): Promise<RouteOutcome<T>> {
    const requestedModel = original.model;
    const fitted = this.fitting(model, requestedModel, original, features);
    const dropped = new Map(fitted.map((f) => [f.target.key, f.dropped]));
    const call: Call<T> = (ctx, deadline) =>
      send(withoutFields(original, dropped.get(ctx.target.key) ?? []), ctx, deadline);
    const plan: RequestPlan<CatalogTarget> = {
      candidates: fitted.map((f) => f.target),
      budget: Math.max(1, model.retry.max_attempts),
      giveUpAt: Date.now() + model.timeouts.total_ms,
      timeouts: model.timeouts,
      retry: model.retry,
    };
    const request: AttemptRequest<T> = {
      requestedModel,
      completionId: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      options,
      streaming,
      giveUpAt: plan.giveUpAt,
      call,
    };
    let state = INITIAL_ATTEMPT_STATE;
    for (;;) {
      const next = planNext(plan, state, Date.now(), options.clientSignal?.aborted);
      if (next.kind === 'stop') {
        this.observeRequest(model, false, state.attempts);
        // A client that went away during a backoff wait stops the request as one that went away during a call.
        throw options.clientSignal?.aborted ? clientClosed() : attemptsTold(this.stopError(model, next), state);
      }
      if (next.kind === 'wait') {
        if (next.ms > 0) await sleep(next.ms, undefined, { signal: options.clientSignal }).catch(() => undefined);
        state = nextPass(state);
        continue;
      }
      const result = await this.attempt(model, next.target, next.bounds, state.charged.has(next.target.key), request);
      state = afterAttempt(state, next, result, Date.now());
      if (result.kind === 'answered') {
        this.observeRequest(model, next.target !== plan.candidates[0], state.attempts);
        return {
          value: result.value,
          model,
          target: next.target,
          attempts: state.attempts,
          dropped: dropped.get(next.target.key) ?? [],
        };
      }
      if (result.kind === 'closed') throw clientClosed();
      if (result.kind === 'failed' && !triesOn(result.failure)) {
        this.observeRequest(model, false, state.attempts);
        throw attemptsTold(result.error, state);
      }
    }
  }

  /**
   * One attempt on one deployment: its credentials, breaker and account limit first, then the call under its
   * deadline, then the bookkeeping of how it went (breaker, credentials, latency, metrics). `charged`: this request
   * already charged this deployment's breaker.
   */
  private async attempt<T>(
    model: CatalogModel,
    target: CatalogTarget,
    bounds: AttemptBounds,
    charged: boolean,
    request: AttemptRequest<T>,
  ): Promise<AttemptResult<T>> {
    const breakers = model.direct ? null : this.breakers;
    if (this.credentials.skip(target)) return { kind: 'skipped' };
    if (breakers && !(await breakers.tryAcquire(target))) return { kind: 'skipped' };
    const permit = await this.accountLimiter.acquire(target);
    if (!permit.allowed) {
      breakers?.onAbandoned(target);
      return { kind: 'limited', retryAfterMs: permit.retryAfterMs };
    }
    const { options, streaming } = request;
    const started = Date.now();
    const deadline = createDeadline(bounds.first.ms, bounds.first.what, options.clientSignal);
    // Once the answer has begun (headers, or a stream's first chunk) the attempt's whole bound applies.
    const begun = () => deadline.reset(bounds.whole.ms - (Date.now() - started), bounds.whole.what);
    const ctx: CallContext = {
      target,
      signal: deadline.signal,
      requestId: options.requestId,
      publicModel: request.requestedModel,
      completionId: request.completionId,
      onResponseStart: streaming ? undefined : begun,
      ...(options.sessionId !== undefined ? { sessionId: options.sessionId } : {}),
    };
    try {
      const value = await request.call(ctx, deadline);
      if (streaming) deadline.reset(Math.max(1, request.giveUpAt - Date.now()), 'total');
      else deadline.clear();
      const elapsed = Date.now() - started;
      breakers?.onSuccess(target);
      this.credentials.accept(target);
      if (!model.direct) this.latency.record(this.groupKeyOf(model, target), elapsed);
      this.observeAttempt(model, target, 'ok', elapsed, streaming);
      return { kind: 'answered', value };
    } catch (caught) {
      deadline.clear();
      const elapsed = Date.now() - started;
      if (options.clientSignal?.aborted) {
        breakers?.onAbandoned(target);
        this.observeAttempt(model, target, ErrorCode.CLIENT_CLOSED, elapsed, false);
        return { kind: 'closed' };
      }
      const error =
        caught instanceof GatewayError
          ? caught
          : new GatewayError(ErrorCode.INTERNAL, 'Provider call failed', { cause: caught });
      this.observeAttempt(model, target, error.code, elapsed, false);
      const failure = classifyFailure(error, deadline.expiredBy);
      const charge = failure === 'deployment' && breakers !== null && !charged;
      if (charge) await breakers.onFailure(target);
      else breakers?.onAbandoned(target);
      if (failure === 'credentials') this.credentials.reject(target, error.message);
      if (error.code === ErrorCode.TIMEOUT && failure === 'deployment' && !model.direct) {
        this.latency.record(this.groupKeyOf(model, target), elapsed);
      }
      return { kind: 'failed', error, failure, charged: charge };
    }
  }

  private stopError(model: CatalogModel, stop: Stop): GatewayError {
    switch (stop.because) {
      case 'failed':
        return stop.error;
      case 'accounts-at-limit':
        return new GatewayError(
          ErrorCode.RATE_LIMITED,
          `Every account serving '${model.name}' is at its request limit`,
          { retryAfterMs: stop.retryAfterMs },
        );
      case 'no-deployment':
        return this.noDeploymentAvailable(model);
    }
  }

  /** Every deployment is cut off by its breaker: come back when the first of them lets a probe through. */
  private noDeploymentAvailable(model: CatalogModel): GatewayError {
    const waitMs = model.direct ? 0 : this.breakers.msUntilFirstProbe(model.deployments);
    return new GatewayError(
      ErrorCode.NO_DEPLOYMENT_AVAILABLE,
      `Every deployment of '${model.name}' is failing; try again shortly`,
      { retryAfterMs: Math.max(1_000, waitMs) },
    );
  }

  private modelLabel(model: CatalogModel): string {
    return model.direct ? 'direct' : model.name;
  }

  private observeAttempt(
    model: CatalogModel,
    target: DeploymentTarget,
    outcome: string,
    ms: number,
    streaming: boolean,
  ): void {
    const labels = { provider: target.provider.id, model: this.modelLabel(model), outcome };
    this.metrics.upstreamRequests.inc(labels);
    this.metrics.upstreamDuration.observe(labels, ms / 1000);
    if (streaming && outcome === 'ok') {
      this.metrics.upstreamTimeToFirstToken.observe({ provider: labels.provider, model: labels.model }, ms / 1000);
    }
  }

  private observeRequest(model: CatalogModel, fellBack: boolean, attempts: number): void {
    const label = { model: this.modelLabel(model) };
    if (attempts > 1) this.metrics.retries.inc(label, attempts - 1);
    if (fellBack) this.metrics.fallbacks.inc(label);
  }

  /** The stream after its first chunk: the deadline is cleared and the breaker told when it ends, however it ends. */
  private async *continueStream(
    opened: {
      first: IteratorResult<ChatCompletionChunk>;
      iterator: AsyncIterator<ChatCompletionChunk>;
      deadline: Deadline;
    },
    target: DeploymentTarget,
    direct: boolean,
  ): AsyncGenerator<ChatCompletionChunk> {
    const { first, iterator, deadline } = opened;
    try {
      if (first.done) return;
      yield first.value;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } catch (error) {
      if (!direct && error instanceof GatewayError && classifyFailure(error, deadline.expiredBy) === 'deployment') {
        await this.breakers.onFailure(target);
      }
      throw error;
    } finally {
      deadline.clear();
      await iterator.return?.();
    }
  }
}
