import { createHash, randomBytes } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
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
import { collectImages, GigaChatFileCache, uploadBody, type FileLease, type GigaChatImage } from './gigachat-files';
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

function apiHeaders(token: string, requestId?: string, sessionId?: string): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json',
    ...(requestId ? { 'x-request-id': requestId } : {}),
    ...(sessionId ? { 'x-session-id': sessionId } : {}),
  };
}

/** What a header value may carry as it is: visible ASCII, no spaces. */
const HEADER_SAFE = /^[\x21-\x7e]{1,256}$/;

/**
 * GigaChat's `X-Session-ID` (its context cache: a session's repeated prompt prefix comes back as
 * `precached_prompt_tokens`): the client's `x-session-id` header, else the request's `user`. A value that cannot
 * travel in a header as it is (`user` is any JSON string: Cyrillic, spaces, control characters) is sent as its
 * SHA-256 (hex, 32 digits): the same user still makes the same session.
 */
export function gigaChatSessionId(request: ChatCompletionRequest, ctx: CallContext): string | undefined {
  const id = ctx.sessionId || (typeof request.user === 'string' ? request.user : '');
  if (id === '') return undefined;
  return HEADER_SAFE.test(id) ? id : createHash('sha256').update(id).digest('hex').slice(0, 32);
}

/** How long one image upload or file deletion may take; shared by the calls waiting for it, so tied to none. */
const FILE_CALL_TIMEOUT_MS = 60_000;

/** The API (not the OAuth host) refused the bearer token: it expired or was revoked early. */
function isRefusedToken(error: unknown): boolean {
  return error instanceof GatewayError && error.code === ErrorCode.UPSTREAM_AUTH && error.upstreamStatus === 401;
}

/**
 * GigaChat (Sber) v1: OpenAI requests mapped to GigaChat's own chat API (see gigachat.mapper.ts), with OAuth tokens
 * from the shared {@link GigaChatTokenCache}. A 401 from the API drops the token and retries the call once.
 * Upstream statuses map through `upstreamHttpError` (422 → BAD_REQUEST, 404 `No such model` → MODEL_NOT_FOUND).
 * Images are uploaded first and sent as `attachments` (gigachat-files.ts); the uploads are deleted on shutdown.
 */
@Injectable()
export class GigaChatProvider implements LlmProvider, BeforeApplicationShutdown {
  readonly type = 'gigachat' as const;
  private readonly tokens: GigaChatTokenCache;
  private readonly files = new GigaChatFileCache();

  constructor(
    private readonly http: UpstreamHttpClient,
    @Inject(STORE) store: Store,
  ) {
    this.tokens = new GigaChatTokenCache(http, store);
  }

  async chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion> {
    const files = await this.attach(request, ctx);
    let completion: GigaChatCompletion;
    try {
      const body = JSON.stringify(toGigaChatRequest(request, ctx.target.upstreamModel, false, files?.ids));
      completion = await this.withToken(ctx.target, ctx.signal, (token) =>
        this.http.sendJson<GigaChatCompletion>(ctx.target.provider, {
          method: 'POST',
          url: upstreamUrl(ctx.target, '/chat/completions'),
          headers: apiHeaders(token, ctx.requestId, gigaChatSessionId(request, ctx)),
          body,
          signal: ctx.signal,
          onResponseStart: ctx.onResponseStart,
        }),
      );
    } finally {
      files?.release();
    }
    return fromGigaChatCompletion(ctx, completion);
  }

  async chatStream(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatChunkStream> {
    const files = await this.attach(request, ctx);
    let response: UpstreamResponse;
    try {
      const body = JSON.stringify(toGigaChatRequest(request, ctx.target.upstreamModel, true, files?.ids));
      response = await this.withToken(ctx.target, ctx.signal, (token) =>
        this.http.send(ctx.target.provider, {
          method: 'POST',
          url: upstreamUrl(ctx.target, '/chat/completions'),
          headers: {
            ...apiHeaders(token, ctx.requestId, gigaChatSessionId(request, ctx)),
            accept: 'text/event-stream',
            'cache-control': 'no-store',
          },
          body,
          signal: ctx.signal,
          onResponseStart: ctx.onResponseStart,
        }),
      );
    } finally {
      // GigaChat has taken the request with its attachments once it answers: the stream needs the files no more.
      files?.release();
    }
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

  /** Deletes this process's uploads (bounded wait) before the HTTP pools close. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.files.close();
  }

  /**
   * The upload ids of the request's images by message index (uploading those this account has not uploaded yet);
   * undefined without images. Images are checked before anything is sent: a bad one is a 400 naming it.
   */
  private async attach(request: ChatCompletionRequest, ctx: CallContext): Promise<FileLease | undefined> {
    const images = collectImages(request.messages);
    if (images.length === 0) return undefined;
    const { target } = ctx;
    const credential = createHash('sha256')
      .update(`${target.account.auth_key ?? ''}\n${target.account.scope ?? ''}`)
      .digest('hex')
      .slice(0, 16);
    return this.files.acquire(
      `${target.provider.id}/${target.account.id}/${credential}`,
      images,
      (image) => this.upload(target, image, ctx.requestId),
      (id) => this.deleteFile(target, id),
      ctx.signal,
    );
  }

  /** `POST /files` (multipart, `purpose=general`) → the file's id. */
  private async upload(target: DeploymentTarget, image: GigaChatImage, requestId: string): Promise<string> {
    const boundary = `xrouter-${randomBytes(12).toString('hex')}`;
    const body = uploadBody(image, boundary);
    const signal = AbortSignal.timeout(FILE_CALL_TIMEOUT_MS);
    const answer = await this.withToken(target, signal, (token) =>
      this.http.sendJson<{ id?: unknown }>(target.provider, {
        method: 'POST',
        url: upstreamUrl(target, '/files'),
        headers: {
          ...apiHeaders(token, requestId),
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        body,
        signal,
      }),
    );
    if (typeof answer.id !== 'string' || answer.id === '') {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${target.provider.id}: the file upload returned no id`);
    }
    return answer.id;
  }

  /** `POST /files/{id}/delete`. */
  private async deleteFile(target: DeploymentTarget, id: string): Promise<void> {
    const signal = AbortSignal.timeout(FILE_CALL_TIMEOUT_MS);
    await this.withToken(target, signal, (token) =>
      this.http.sendJson<unknown>(target.provider, {
        method: 'POST',
        url: upstreamUrl(target, `/files/${encodeURIComponent(id)}/delete`),
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal,
      }),
    );
  }

  /** Runs `call` with a live token; when the API refuses it (401), drops that token and runs `call` once more. */
  private withToken<T>(target: DeploymentTarget, signal: AbortSignal, call: (token: string) => Promise<T>): Promise<T> {
    return this.tokens.withToken(target, signal, isRefusedToken, call);
  }
}
