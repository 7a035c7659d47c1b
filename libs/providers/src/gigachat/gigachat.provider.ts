import { Inject, Injectable } from '@nestjs/common';
import {
  ChatCompletion,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
} from '@xrouter/common';
import { STORE, type Store } from '@xrouter/store';
import { readSseJson } from '../http/sse';
import { guardStream } from '../http/guard-stream';
import { UpstreamHttpClient, UpstreamResponse } from '../http/upstream-http.client';
import type { CallContext, ChatChunkStream, DeploymentTarget, LlmProvider } from '../llm-provider.interface';
import { GigaChatTokenCache } from './gigachat-token.cache';
import {
  fromGigaChatCompletion,
  fromGigaChatEmbeddings,
  fromGigaChatStreamEvent,
  modelIdsOf,
  newStreamState,
  toGigaChatEmbeddingRequest,
  toGigaChatRequest,
} from './gigachat.mapper';
import type {
  GigaChatCompletion,
  GigaChatEmbeddingResponse,
  GigaChatModelList,
  GigaChatStreamEvent,
} from './gigachat.types';
import { upstreamUrl } from '../http/upstream-url';

function apiHeaders(token: string, requestId?: string): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json',
    ...(requestId ? { 'x-request-id': requestId } : {}),
  };
}

/** The API (not the OAuth host) refused the bearer token: it expired or was revoked early. */
function isRefusedToken(error: unknown): boolean {
  return error instanceof GatewayError && error.code === ErrorCode.UPSTREAM_AUTH && error.upstreamStatus === 401;
}

/**
 * GigaChat (Sber) v1: OpenAI requests mapped to GigaChat's own chat API (see gigachat.mapper.ts), with OAuth tokens
 * from the shared {@link GigaChatTokenCache}. A 401 from the API drops the token and retries the call once.
 * Upstream statuses map through `upstreamHttpError` (422 → BAD_REQUEST, 404 `No such model` → MODEL_NOT_FOUND).
 */
@Injectable()
export class GigaChatProvider implements LlmProvider {
  readonly type = 'gigachat' as const;
  private readonly tokens: GigaChatTokenCache;

  constructor(
    private readonly http: UpstreamHttpClient,
    @Inject(STORE) store: Store,
  ) {
    this.tokens = new GigaChatTokenCache(http, store);
  }

  async chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion> {
    const body = JSON.stringify(toGigaChatRequest(request, ctx.target.upstreamModel, false));
    const completion = await this.withToken(ctx.target, ctx.signal, (token) =>
      this.http.sendJson<GigaChatCompletion>(ctx.target.provider, {
        method: 'POST',
        url: upstreamUrl(ctx.target, '/chat/completions'),
        headers: apiHeaders(token, ctx.requestId),
        body,
        signal: ctx.signal,
        onResponseStart: ctx.onResponseStart,
      }),
    );
    return fromGigaChatCompletion(ctx, completion);
  }

  async chatStream(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatChunkStream> {
    const body = JSON.stringify(toGigaChatRequest(request, ctx.target.upstreamModel, true));
    const response = await this.withToken(ctx.target, ctx.signal, (token) =>
      this.http.send(ctx.target.provider, {
        method: 'POST',
        url: upstreamUrl(ctx.target, '/chat/completions'),
        headers: { ...apiHeaders(token, ctx.requestId), accept: 'text/event-stream', 'cache-control': 'no-store' },
        body,
        signal: ctx.signal,
        onResponseStart: ctx.onResponseStart,
      }),
    );
    const contentType = String(response.headers['content-type'] ?? '');
    if (!contentType.startsWith('text/event-stream')) {
      response.body.destroy();
      throw new GatewayError(
        ErrorCode.UPSTREAM_BAD_RESPONSE,
        `${ctx.target.provider.id}: the stream answered with content type '${contentType}'`,
      );
    }
    return guardStream(response.body, ctx, this.chunks(response, ctx));
  }

  /** The client's chunks from GigaChat's events; a stream without `[DONE]` or a final event is truncated. */
  private async *chunks(response: UpstreamResponse, ctx: CallContext): ChatChunkStream {
    const providerId = ctx.target.provider.id;
    const state = newStreamState();
    const progress = { done: false };
    for await (const event of readSseJson<GigaChatStreamEvent>(response.body, providerId, progress)) {
      yield* fromGigaChatStreamEvent(ctx, event, state);
    }
    if (!progress.done && !state.finished) {
      throw new GatewayError(ErrorCode.STREAM_TRUNCATED, `${providerId}: the stream ended before it was complete`);
    }
  }

  async embeddings(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse> {
    const body = JSON.stringify(toGigaChatEmbeddingRequest(request, ctx.target.upstreamModel));
    const result = await this.withToken(ctx.target, ctx.signal, (token) =>
      this.http.sendJson<GigaChatEmbeddingResponse>(ctx.target.provider, {
        method: 'POST',
        url: upstreamUrl(ctx.target, '/embeddings'),
        headers: apiHeaders(token, ctx.requestId),
        body,
        signal: ctx.signal,
        onResponseStart: ctx.onResponseStart,
      }),
    );
    return fromGigaChatEmbeddings(ctx, result);
  }

  async listModels(target: DeploymentTarget, signal: AbortSignal): Promise<string[]> {
    const list = await this.withToken(target, signal, (token) =>
      this.http.sendJson<GigaChatModelList>(target.provider, {
        method: 'GET',
        url: upstreamUrl(target, '/models'),
        headers: apiHeaders(token),
        signal,
      }),
    );
    return modelIdsOf(list);
  }

  /** Runs `call` with a live token; when the API refuses it (401), drops that token and runs `call` once more. */
  private withToken<T>(target: DeploymentTarget, signal: AbortSignal, call: (token: string) => Promise<T>): Promise<T> {
    return this.tokens.withToken(target, signal, isRefusedToken, call);
  }
}
