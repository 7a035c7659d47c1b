import { Injectable } from '@nestjs/common';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
} from '@xrouter/common';
import { readSseJson } from '../http/sse';
import { UpstreamHttpClient, UpstreamResponse } from '../http/upstream-http.client';
import { guardStream } from '../http/guard-stream';
import { resolveOpenAiProfile, type ResolvedOpenAiProfile } from './openai-profile';
import { splitThinking, ThinkSplitter, type ThinkTagMode } from './think-splitter';
import type { CallContext, ChatChunkStream, DeploymentTarget, LlmProvider } from '../llm-provider.interface';
import { upstreamUrl } from '../http/upstream-url';

function headers(target: DeploymentTarget, requestId?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    authorization: `Bearer ${target.account.api_key ?? ''}`,
    ...(requestId ? { 'x-request-id': requestId } : {}),
  };
}

/**
 * The upstream body: the client's request with the upstream model id, without the parameters the host rejects, and
 * usage always requested on streams (the gateway records it even when the client did not ask).
 */
export function toUpstreamRequest(
  request: ChatCompletionRequest,
  upstreamModel: string,
  profile: ResolvedOpenAiProfile,
): ChatCompletionRequest {
  const body: ChatCompletionRequest = { ...request, model: upstreamModel };
  for (const name of profile.dropParams) delete body[name];
  if (request.stream) body.stream_options = { ...request.stream_options, include_usage: true };
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
  if (content !== undefined) out.content = content;
  if (reasoningContent) out.reasoning_content = reasoningContent;
  else delete out.reasoning_content;
  return out;
}

/** Nothing for the client: splitting can leave a chunk that only held back part of a tag. */
function isEmptyDelta(delta: UpstreamDelta): boolean {
  return !delta.role && !delta.content && !delta.reasoning_content && !delta.tool_calls?.length;
}

/**
 * MTS AI (MWS GPT), T-Bank hosts and any other OpenAI-compatible upstream: requests and answers pass through,
 * with the gateway's completion id and the client's model name written into every answer and chunk.
 */
@Injectable()
export class OpenAiCompatibleProvider implements LlmProvider {
  readonly type = 'openai' as const;

  constructor(private readonly http: UpstreamHttpClient) {}

  async chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion> {
    const profile = resolveOpenAiProfile(ctx.target.provider);
    const completion = await this.http.sendJson<ChatCompletion>(ctx.target.provider, {
      method: 'POST',
      url: upstreamUrl(ctx.target, '/chat/completions'),
      headers: headers(ctx.target, ctx.requestId),
      body: JSON.stringify(toUpstreamRequest({ ...request, stream: false }, ctx.target.upstreamModel, profile)),
      signal: ctx.signal,
      onResponseStart: ctx.onResponseStart,
    });
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
    const response = await this.http.send(ctx.target.provider, {
      method: 'POST',
      url: upstreamUrl(ctx.target, '/chat/completions'),
      headers: { ...headers(ctx.target, ctx.requestId), accept: 'text/event-stream' },
      body: JSON.stringify(toUpstreamRequest({ ...request, stream: true }, ctx.target.upstreamModel, profile)),
      signal: ctx.signal,
      onResponseStart: ctx.onResponseStart,
    });
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
    const result = await this.http.sendJson<EmbeddingResponse>(ctx.target.provider, {
      method: 'POST',
      url: upstreamUrl(ctx.target, '/embeddings'),
      headers: headers(ctx.target, ctx.requestId),
      body: JSON.stringify({ ...request, model: ctx.target.upstreamModel }),
      signal: ctx.signal,
      onResponseStart: ctx.onResponseStart,
    });
    return { ...result, model: ctx.publicModel };
  }

  async listModels(target: DeploymentTarget, signal: AbortSignal): Promise<string[]> {
    const list = await this.http.sendJson<{ data?: Array<{ id: string }> }>(target.provider, {
      method: 'GET',
      url: upstreamUrl(target, '/models'),
      headers: headers(target),
      signal,
    });
    return (list.data ?? []).map((model) => model.id);
  }
}
