import type { Principal } from '@xrouter/auth';
import { ChatCompletionChunk, ChatMessage, ErrorCode, GatewayError, Usage } from '@xrouter/common';
import type { RouteOutcome } from '@xrouter/routing';
import type { RequestLogEntry } from '@xrouter/usage';

/**
 * Rough token count for when a provider reported none (an abandoned or broken stream): ~4 characters per token,
 * the usual rule of thumb for BPE tokenizers. Only used to bill what the provider did not count itself.
 */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

export function promptText(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) => (typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text ?? '').join('\n')))
    .join('\n');
}

/** The HTTP status and code a failure is answered with (what the client saw). */
export function failureOf(error: unknown): { status: number; code: string } {
  const gatewayError = error instanceof GatewayError ? error : null;
  return gatewayError
    ? { status: gatewayError.status, code: gatewayError.code }
    : { status: 500, code: ErrorCode.INTERNAL };
}

/** What one request was, for its usage row; filled in as the request proceeds. */
export interface UsageDraft {
  startedAt: number;
  requestId: string;
  principal: Principal;
  model: string;
  stream: boolean;
  /** The end user the request names ({@link endUserOf}). */
  endUser: string | null;
}

/** The end user a request names: OpenAI's `user`, else its successor `safety_identifier`; null for neither. */
export function endUserOf(body: { user?: unknown; safety_identifier?: unknown }): string | null {
  for (const value of [body.user, body.safety_identifier]) {
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
}

export function usageEntry(
  draft: UsageDraft,
  outcome: Pick<RouteOutcome<unknown>, 'target' | 'attempts'> | null,
  result: { status: number; errorCode: string | null; usage?: Usage | null; ttftMs?: number | null; costRub: string },
): RequestLogEntry {
  return {
    createdAt: new Date(draft.startedAt),
    requestId: draft.requestId,
    keyId: draft.principal.kind === 'api_key' ? draft.principal.credentialId : null,
    userId: draft.principal.userId,
    model: draft.model,
    provider: outcome?.target.provider.id ?? null,
    account: outcome?.target.account.id ?? null,
    upstreamModel: outcome?.target.upstreamModel ?? null,
    status: result.status,
    errorCode: result.errorCode,
    attempts: outcome?.attempts ?? 0,
    latencyMs: Date.now() - draft.startedAt,
    ttftMs: result.ttftMs ?? null,
    promptTokens: result.usage?.prompt_tokens ?? 0,
    completionTokens: result.usage?.completion_tokens ?? 0,
    costRub: result.costRub,
    stream: draft.stream,
    endUser: draft.endUser,
  };
}

/**
 * Passes a stream through while watching it: its usage chunk, the time of its first content and how it ended
 * (completed, failed after the first byte, or abandoned by the client). A chunk carrying usage gets its cost
 * (`usage.cost_rub`, from `price`) added. `onEnd` runs exactly once, however the consumer stops.
 */
export async function* watchStream(
  chunks: AsyncIterable<ChatCompletionChunk>,
  startedAt: number,
  price: (usage: Usage) => string,
  onEnd: (end: {
    usage: Usage | null;
    text: string;
    ttftMs: number | null;
    error: unknown;
    completed: boolean;
  }) => void,
): AsyncGenerator<ChatCompletionChunk> {
  let usage: Usage | null = null;
  let text = '';
  let ttftMs: number | null = null;
  let error: unknown = null;
  let completed = false;
  try {
    for await (const chunk of chunks) {
      const delta = chunk.choices[0]?.delta;
      const piece = (delta?.content ?? '') + (delta?.reasoning_content ?? '');
      if (piece) {
        ttftMs ??= Date.now() - startedAt;
        text += piece;
      }
      if (chunk.usage) {
        usage = chunk.usage;
        yield { ...chunk, usage: { ...chunk.usage, cost_rub: price(chunk.usage) } };
      } else {
        yield chunk;
      }
    }
    completed = true;
  } catch (caught) {
    error = caught;
    throw caught;
  } finally {
    onEnd({ usage, text, ttftMs, error, completed });
  }
}
