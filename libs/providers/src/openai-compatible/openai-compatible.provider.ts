import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
} from '@xrouter/common';
import { MemoryStore, STORE, type Store } from '@xrouter/store';
import { readSseJson } from '../http/sse';
import { UpstreamHttpClient, UpstreamResponse } from '../http/upstream-http.client';
import { guardStream } from '../http/guard-stream';
import { YandexIamTokenCache } from '../yandex/yandex-iam-token.cache';
import { CloudRuTokenCache } from './cloud-ru-token.cache';
import { resolveOpenAiProfile, type ResolvedOpenAiProfile } from './openai-profile';
import { splitThinking, ThinkSplitter, type ThinkTagMode } from './think-splitter';
import { yandexHeaders, yandexModelUri } from './yandex-openai';
import type { CallContext, ChatChunkStream, DeploymentTarget, LlmProvider } from '../llm-provider.interface';
import { upstreamUrl } from '../http/upstream-url';

/**
 * Which exchange gives the account its short-lived tokens, if any: Cloud.ru's access key, or a Yandex service
 * account's authorized key (`profile: yandex`, the same IAM tokens as the native Yandex provider's, shared in the
 * store). An API key is used as it is.
 */
function tokenExchange(target: DeploymentTarget): 'cloud-ru' | 'yandex-iam' | null {
  const { provider, account } = target;
  if (account.api_key) return null;
  if (provider.profile === 'yandex') return account.service_account_key ? 'yandex-iam' : null;
  return account.key_id && account.key_secret ? 'cloud-ru' : null;
}

function headers(target: DeploymentTarget, token: string | undefined, requestId?: string): Record<string, string> {
  const { provider, account } = target;
  const auth =
    provider.profile === 'yandex'
      ? yandexHeaders(account, token)
      : {
          authorization: `Bearer ${token ?? account.api_key ?? ''}`,
          ...(account.project_id ? { 'x-project-id': account.project_id } : {}),
        };
  return { 'content-type': 'application/json', ...auth, ...(requestId ? { 'x-request-id': requestId } : {}) };
}

/** The model id the host expects: Yandex wants `gpt://` / `emb://` URIs with the folder, others the id as configured. */
function upstreamModelId(target: DeploymentTarget, kind: 'chat' | 'embeddings'): string {
  if (target.provider.profile !== 'yandex') return target.upstreamModel;
  return yandexModelUri(kind === 'chat' ? 'gpt' : 'emb', target.upstreamModel, target.account.folder_id);
}

/** The API refused the token it was given: it expired early or was revoked. */
function isRefusedToken(error: unknown): boolean {
  return error instanceof GatewayError && error.code === ErrorCode.UPSTREAM_AUTH && error.upstreamStatus === 401;
}

/**
 * The upstream body: the client's request with the upstream model id, without the parameters the host rejects, and
 * usage requested on streams where the profile does (the gateway records it even when the client did not ask).
 */
export function toUpstreamRequest(
  request: ChatCompletionRequest,
  upstreamModel: string,
  profile: ResolvedOpenAiProfile,
): ChatCompletionRequest {
  const body: ChatCompletionRequest = { ...request, model: upstreamModel };
  for (const name of profile.dropParams) delete body[name];
  if (request.stream && profile.streamUsage) {
    body.stream_options = { ...request.stream_options, include_usage: true };
  }
  return body;
}

type UpstreamMessage = ChatCompletion['choices'][number]['message'] & { reasoning?: string };
type UpstreamDelta = ChatCompletionChunk['choices'][number]['delta'] & { reasoning?: string };

interface UpstreamChunk extends Partial<ChatCompletionChunk> {
  error?: { message?: string };
}

/** Newer vLLM calls it `reasoning`, older `reasoning_content`: clients get `reasoning_content`. */
function joinReasoning(...parts: Array<string | undefined>): string | undefined {
  const text = parts.filter(Boolean).join('');
  return text || undefined;
}

/** A non-streamed message after the profile's `<think>` handling and reasoning normalisation. */
export function normalizeMessage(
  message: UpstreamMessage,
  mode: ThinkTagMode,
): ChatCompletion['choices'][number]['message'] {
  const { reasoning, ...rest } = message;
  let content = rest.content;
  let thought: string | undefined;
  if (mode !== 'keep' && typeof content === 'string') {
    const split = splitThinking(content);
    content = split.content;
    thought = mode === 'split' ? split.reasoning : undefined;
  }
  const reasoningContent = joinReasoning(rest.reasoning_content, reasoning, thought);
  return { ...rest, content, ...(reasoningContent ? { reasoning_content: reasoningContent } : {}) };
}

/** A streamed delta after `<think>` splitting (held-back text is flushed with the finish chunk). */
function normalizeDelta(
  delta: UpstreamDelta,
  splitter: ThinkSplitter | null,
  mode: ThinkTagMode,
  finishing: boolean,
): UpstreamDelta {
  const { reasoning, ...rest } = delta;
  let content = rest.content;
  let thought: string | undefined;
  if (splitter && (typeof content === 'string' || finishing)) {
    const pushed = splitter.push(content ?? '');
    const flushed = finishing ? splitter.flush() : { reasoning: '', content: '' };
    content = pushed.content + flushed.content;
    thought = mode === 'split' ? pushed.reasoning + flushed.reasoning : undefined;
    if (!content && rest.content !== undefined && rest.content !== null) content = '';
  }
  const reasoningContent = joinReasoning(rest.reasoning_content, reasoning, thought);
  const out: UpstreamDelta = { ...rest };
  if (rest.tool_calls) out.tool_calls = rest.tool_calls.map(normalizeToolCallDelta);
  if (content !== undefined) out.content = content;
  if (reasoningContent) out.reasoning_content = reasoningContent;
  else delete out.reasoning_content;
  return out;
}

type ToolCallDelta = NonNullable<UpstreamDelta['tool_calls']>[number];

/**
 * vLLM behind Yandex sends a call's later deltas with `id: ""`, `type: ""`, `name: ""` (Gemma 3 even the first's
 * `type`): a client concatenating them would be fine, one keying on presence would not. Empty strings are dropped,
 * and a delta that opens a call (it has the id) says `type: "function"`.
 */
function normalizeToolCallDelta(call: ToolCallDelta): ToolCallDelta {
  const { id, type, function: fn, ...rest } = call;
  const out: ToolCallDelta = { ...rest };
  if (id) {
    out.id = id;
    out.type = 'function';
  } else if (type) out.type = type;
  if (fn) {
    const { name, ...args } = fn;
    out.function = name ? { name, ...args } : args;
  }
  return out;
}

/** Nothing for the client: splitting can leave a chunk that only held back part of a tag. */
function isEmptyDelta(delta: UpstreamDelta): boolean {
  return !delta.role && !delta.content && !delta.reasoning_content && !delta.tool_calls?.length;
}

/**
 * MTS AI (MWS GPT), T-Bank hosts (Cloud.ru), Yandex's OpenAI-compatible endpoint and any other OpenAI-compatible
 * upstream: requests and answers pass through, with the gateway's completion id and the client's model name written
 * into every answer and chunk. Profiles (openai-profile.ts) say what differs; a Cloud.ru account with an access key
 * gets its bearer token from the shared token cache, and a 401 drops that token and retries the call once.
 */
@Injectable()
export class OpenAiCompatibleProvider implements LlmProvider {
  readonly type = 'openai' as const;
  private readonly tokens: CloudRuTokenCache;
  private readonly yandexIam: YandexIamTokenCache;

  constructor(
    private readonly http: UpstreamHttpClient,
    @Optional() @Inject(STORE) store?: Store,
  ) {
    // Without a store (unit tests, a bare adapter), tokens are shared within this process only.
    const shared = store ?? new MemoryStore();
    this.tokens = new CloudRuTokenCache(http, shared);
    this.yandexIam = new YandexIamTokenCache(http, shared);
  }

  /** Runs `call` with the account's token (none for a static key); a refused token is replaced once. */
  private async withToken<T>(
    target: DeploymentTarget,
    signal: AbortSignal,
    call: (token: string | undefined) => Promise<T>,
  ): Promise<T> {
    switch (tokenExchange(target)) {
      case 'cloud-ru':
        return this.tokens.withToken(target, signal, isRefusedToken, call);
      case 'yandex-iam':
        return this.yandexIam.withToken(target, signal, isRefusedToken, call);
      case null:
        return call(undefined);
    }
  }

  async chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion> {
    const profile = resolveOpenAiProfile(ctx.target.provider);
    const body = JSON.stringify(
      toUpstreamRequest({ ...request, stream: false }, upstreamModelId(ctx.target, 'chat'), profile),
    );
    const completion = await this.withToken(ctx.target, ctx.signal, (token) =>
      this.http.sendJson<ChatCompletion>(ctx.target.provider, {
        method: 'POST',
        url: upstreamUrl(ctx.target, '/chat/completions'),
        headers: headers(ctx.target, token, ctx.requestId),
        body,
        signal: ctx.signal,
        onResponseStart: ctx.onResponseStart,
      }),
    );
    if (!Array.isArray(completion.choices)) {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${ctx.target.provider.id}: the answer has no choices`);
    }
    const choices = completion.choices.map((choice) => ({
      ...choice,
      message: normalizeMessage(choice.message, profile.thinkTags),
    }));
    return { ...completion, choices, id: ctx.completionId, object: 'chat.completion', model: ctx.publicModel };
  }

  async chatStream(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatChunkStream> {
    const profile = resolveOpenAiProfile(ctx.target.provider);
    const body = JSON.stringify(
      toUpstreamRequest({ ...request, stream: true }, upstreamModelId(ctx.target, 'chat'), profile),
    );
    const response = await this.withToken(ctx.target, ctx.signal, (token) =>
      this.http.send(ctx.target.provider, {
        method: 'POST',
        url: upstreamUrl(ctx.target, '/chat/completions'),
        headers: { ...headers(ctx.target, token, ctx.requestId), accept: 'text/event-stream' },
        body,
        signal: ctx.signal,
        onResponseStart: ctx.onResponseStart,
      }),
    );
    return guardStream(response.body, ctx, this.chunks(response, ctx, profile.thinkTags));
  }

  /** The client's chunks from the upstream's; a stream without `[DONE]` is truncated. */
  private async *chunks(response: UpstreamResponse, ctx: CallContext, thinkTags: ThinkTagMode): ChatChunkStream {
    const providerId = ctx.target.provider.id;
    const splitter = thinkTags === 'keep' ? null : new ThinkSplitter();
    const progress = { done: false };
    for await (const chunk of readSseJson<UpstreamChunk>(response.body, providerId, progress)) {
      if (chunk.error) {
        throw new GatewayError(ErrorCode.UPSTREAM_5XX, `${providerId}: ${chunk.error.message ?? 'stream error'}`);
      }
      const choices = (chunk.choices ?? []).map((choice) => ({
        ...choice,
        delta: normalizeDelta(
          choice.delta ?? {},
          splitter,
          thinkTags,
          choice.finish_reason !== null && choice.finish_reason !== undefined,
        ),
      }));
      if (choices.length > 0 && choices.every((c) => isEmptyDelta(c.delta) && !c.finish_reason)) continue;
      yield {
        ...chunk,
        id: ctx.completionId,
        object: 'chat.completion.chunk',
        created: chunk.created ?? Math.floor(Date.now() / 1000),
        model: ctx.publicModel,
        choices,
      };
    }
    if (!progress.done) {
      throw new GatewayError(ErrorCode.STREAM_TRUNCATED, `${providerId}: the stream ended before it was complete`);
    }
  }

  async embeddings(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse> {
    const body = JSON.stringify({ ...request, model: upstreamModelId(ctx.target, 'embeddings') });
    const result = await this.withToken(ctx.target, ctx.signal, (token) =>
      this.http.sendJson<EmbeddingResponse>(ctx.target.provider, {
        method: 'POST',
        url: upstreamUrl(ctx.target, '/embeddings'),
        headers: headers(ctx.target, token, ctx.requestId),
        body,
        signal: ctx.signal,
        onResponseStart: ctx.onResponseStart,
      }),
    );
    return { ...result, model: ctx.publicModel };
  }

  async listModels(target: DeploymentTarget, signal: AbortSignal): Promise<string[]> {
    const list = await this.withToken(target, signal, (token) =>
      this.http.sendJson<{ data?: Array<{ id: string }> }>(target.provider, {
        method: 'GET',
        url: upstreamUrl(target, '/models'),
        headers: headers(target, token),
        signal,
      }),
    );
    return (list.data ?? []).map((model) => model.id);
  }
}
