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
import { readSseData } from '../http/sse';
import { UpstreamHttpClient, UpstreamResponse } from '../http/upstream-http.client';
import { transportError } from '../http/upstream-error';
import type { CallContext, ChatChunkStream, DeploymentTarget, LlmProvider } from '../llm-provider.interface';

function headers(target: DeploymentTarget, requestId?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    authorization: `Bearer ${target.account.api_key ?? ''}`,
    ...(requestId ? { 'x-request-id': requestId } : {}),
  };
}

function endpoint(target: DeploymentTarget, path: string): string {
  return `${target.provider.base_url.replace(/\/+$/, '')}${path}`;
}

/** The upstream body: the client's request with the upstream model id, and usage always requested on streams. */
export function toUpstreamRequest(request: ChatCompletionRequest, upstreamModel: string): ChatCompletionRequest {
  const body: ChatCompletionRequest = { ...request, model: upstreamModel };
  if (request.stream) body.stream_options = { ...request.stream_options, include_usage: true };
  return body;
}

interface UpstreamChunk extends Partial<ChatCompletionChunk> {
  error?: { message?: string };
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
    const completion = await this.http.sendJson<ChatCompletion>(ctx.target.provider, {
      method: 'POST',
      url: endpoint(ctx.target, '/chat/completions'),
      headers: headers(ctx.target, ctx.requestId),
      body: JSON.stringify(toUpstreamRequest({ ...request, stream: false }, ctx.target.upstreamModel)),
      signal: ctx.signal,
    });
    if (!Array.isArray(completion.choices)) {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${ctx.target.provider.id}: the answer has no choices`);
    }
    return { ...completion, id: ctx.completionId, object: 'chat.completion', model: ctx.publicModel };
  }

  async chatStream(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatChunkStream> {
    const response = await this.http.send(ctx.target.provider, {
      method: 'POST',
      url: endpoint(ctx.target, '/chat/completions'),
      headers: { ...headers(ctx.target, ctx.requestId), accept: 'text/event-stream' },
      body: JSON.stringify(toUpstreamRequest({ ...request, stream: true }, ctx.target.upstreamModel)),
      signal: ctx.signal,
    });
    return this.chunks(response, ctx);
  }

  private async *chunks(response: UpstreamResponse, ctx: CallContext): ChatChunkStream {
    const providerId = ctx.target.provider.id;
    let done = false;
    try {
      for await (const data of readSseData(response.body)) {
        if (data === '[DONE]') {
          done = true;
          break;
        }
        let chunk: UpstreamChunk;
        try {
          chunk = JSON.parse(data) as UpstreamChunk;
        } catch {
          throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${providerId}: a stream event is not valid JSON`);
        }
        if (chunk.error) {
          throw new GatewayError(ErrorCode.UPSTREAM_5XX, `${providerId}: ${chunk.error.message ?? 'stream error'}`);
        }
        yield {
          ...chunk,
          id: ctx.completionId,
          object: 'chat.completion.chunk',
          created: chunk.created ?? Math.floor(Date.now() / 1000),
          model: ctx.publicModel,
          choices: chunk.choices ?? [],
        };
      }
    } catch (error) {
      if (error instanceof GatewayError || ctx.signal.aborted) throw transportError(providerId, error, ctx.signal);
      throw new GatewayError(ErrorCode.STREAM_TRUNCATED, `${providerId}: the stream broke off`, { cause: error });
    } finally {
      if (!done) response.body.destroy();
    }
    if (!done) {
      throw new GatewayError(ErrorCode.STREAM_TRUNCATED, `${providerId}: the stream ended before it was complete`);
    }
  }

  async embeddings(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse> {
    const result = await this.http.sendJson<EmbeddingResponse>(ctx.target.provider, {
      method: 'POST',
      url: endpoint(ctx.target, '/embeddings'),
      headers: headers(ctx.target, ctx.requestId),
      body: JSON.stringify({ ...request, model: ctx.target.upstreamModel }),
      signal: ctx.signal,
    });
    return { ...result, model: ctx.publicModel };
  }

  async listModels(target: DeploymentTarget, signal: AbortSignal): Promise<string[]> {
    const list = await this.http.sendJson<{ data?: Array<{ id: string }> }>(target.provider, {
      method: 'GET',
      url: endpoint(target, '/models'),
      headers: headers(target),
      signal,
    });
    return (list.data ?? []).map((model) => model.id);
  }
}
