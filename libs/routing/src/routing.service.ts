import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
} from '@xrouter/common';
import { AccountRateLimiter, CallContext, DeploymentTarget, ProviderRegistry } from '@xrouter/providers';
import { AccountRotation, orderCandidates } from './candidate-order';
import { createDeadline, Deadline } from './deadline';
import { CatalogModel, ModelCatalog } from './model-catalog';
import { MODEL_CATALOG } from './routing.constants';

export interface RouteOptions {
  requestId: string;
  /** Aborts when the client disconnects. */
  clientSignal?: AbortSignal;
}

/** What the router did for one request: shown to the client in headers and recorded in usage. */
export interface RouteOutcome<T> {
  value: T;
  model: CatalogModel;
  target: DeploymentTarget;
  attempts: number;
}

/**
 * Resolves the public model and tries its deployments in order until one answers: a retryable failure moves to the
 * next deployment, within the model's attempt budget; anything else is the client's answer. Accounts of a deployment
 * take turns; an account over its own request limit is skipped without spending an attempt. Each attempt runs under
 * an AbortSignal deadline (total for plain calls, first-token for streams until their first chunk).
 */
@Injectable()
export class RoutingService {
  private readonly rotation = new AccountRotation();

  constructor(
    @Inject(MODEL_CATALOG) private readonly catalog: ModelCatalog,
    private readonly providers: ProviderRegistry,
    private readonly accountLimiter: AccountRateLimiter,
  ) {}

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
    return this.run(model, request.model, options, model.timeouts.total_ms, 'total', async (ctx, deadline) => {
      try {
        return await this.providers.get(ctx.target.provider.type).chat(request, ctx);
      } finally {
        deadline.clear();
      }
    });
  }

  /** Resolves once a deployment has produced its first chunk; failures before that fall back, later ones throw. */
  chatStream(
    request: ChatCompletionRequest,
    options: RouteOptions,
  ): Promise<RouteOutcome<AsyncIterable<ChatCompletionChunk>>> {
    const model = this.resolve(request.model, 'chat');
    return this.run(
      model,
      request.model,
      options,
      model.timeouts.first_token_ms,
      'first-token',
      async (ctx, deadline) => {
        try {
          const stream = await this.providers.get(ctx.target.provider.type).chatStream(request, ctx);
          const iterator = stream[Symbol.asyncIterator]();
          const first = await iterator.next();
          deadline.reset(model.timeouts.total_ms, 'total');
          return continueStream(first, iterator, deadline);
        } catch (error) {
          deadline.clear();
          throw error;
        }
      },
    );
  }

  embeddings(request: EmbeddingRequest, options: RouteOptions): Promise<RouteOutcome<EmbeddingResponse>> {
    const model = this.resolve(request.model, 'embeddings');
    return this.run(model, request.model, options, model.timeouts.total_ms, 'total', async (ctx, deadline) => {
      try {
        return await this.providers.get(ctx.target.provider.type).embeddings(request, ctx);
      } finally {
        deadline.clear();
      }
    });
  }

  private async run<T>(
    model: CatalogModel,
    requestedModel: string,
    options: RouteOptions,
    timeoutMs: number,
    timeoutName: string,
    call: (ctx: CallContext, deadline: Deadline) => Promise<T>,
  ): Promise<RouteOutcome<T>> {
    const completionId = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
    const budget = Math.max(1, model.retry.max_attempts);
    let lastError: GatewayError | undefined;
    let attempts = 0;
    let soonestAccountRetryMs: number | undefined;
    for (const target of orderCandidates(model.groups, (group) => this.rotation.next(group))) {
      if (attempts >= budget) break;
      const permit = await this.accountLimiter.acquire(target);
      if (!permit.allowed) {
        soonestAccountRetryMs = Math.min(soonestAccountRetryMs ?? Infinity, permit.retryAfterMs);
        continue;
      }
      attempts++;
      const deadline = createDeadline(timeoutMs, timeoutName, options.clientSignal);
      const ctx: CallContext = {
        target,
        signal: deadline.signal,
        requestId: options.requestId,
        publicModel: requestedModel,
        completionId,
      };
      try {
        const value = await call(ctx, deadline);
        return { value, model, target, attempts };
      } catch (error) {
        lastError =
          error instanceof GatewayError
            ? error
            : new GatewayError(ErrorCode.INTERNAL, 'Provider call failed', { cause: error });
        if (!lastError.retryable || options.clientSignal?.aborted) break;
      }
    }
    if (lastError) throw lastError;
    if (soonestAccountRetryMs !== undefined) {
      throw new GatewayError(ErrorCode.RATE_LIMITED, `Every account serving '${model.name}' is at its request limit`, {
        retryAfterMs: soonestAccountRetryMs,
      });
    }
    throw new GatewayError(ErrorCode.NO_DEPLOYMENT_AVAILABLE, `No deployment of '${model.name}' is available`);
  }
}

/** The stream after its first chunk, with the deadline cleared when it ends however it ends. */
async function* continueStream(
  first: IteratorResult<ChatCompletionChunk>,
  iterator: AsyncIterator<ChatCompletionChunk>,
  deadline: Deadline,
): AsyncGenerator<ChatCompletionChunk> {
  try {
    if (first.done) return;
    yield first.value;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    deadline.clear();
    await iterator.return?.();
  }
}
