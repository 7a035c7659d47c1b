import { randomBytes } from 'node:crypto';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionChunkToolCall,
  ChatContentPart,
  ChatMessage,
  ErrorCode,
  FinishReason,
  GatewayError,
  ToolCall,
  Usage,
} from '@xrouter/common';
import type { CallContext } from '../llm-provider.interface';

/**
 * Helpers every non-OpenAI adapter needs to speak OpenAI to the client: text from content parts, tool call ids,
 * argument (de)serialisation, and completion/chunk builders that carry the gateway's id and the client's model name.
 */

/** The text of a message: a string, or its text parts joined with "\n". Other parts (images) are refused with 400. */
export function textOf(content: string | ChatContentPart[] | null | undefined, param: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, i) => {
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      throw new GatewayError(
        ErrorCode.BAD_REQUEST,
        `Content parts of type '${part.type}' are not supported by this model`,
        {
          param: `${param}[${i}]`,
        },
      );
    })
    .join('\n');
}

/** `call_` + 24 random characters: neither GigaChat nor YandexGPT gives tool calls ids. */
export function newToolCallId(): string {
  return `call_${randomBytes(18).toString('base64url')}`;
}

/** Maps each tool_call_id of the conversation to its function name, from the assistant messages' tool_calls. */
export function toolNamesById(messages: readonly ChatMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const message of messages) {
    for (const call of message.tool_calls ?? []) names.set(call.id, call.function.name);
  }
  return names;
}

/** The function name a `tool` message answers; 400 when no earlier assistant message made that call. */
export function toolNameFor(names: Map<string, string>, message: ChatMessage, param: string): string {
  const name = message.tool_call_id ? names.get(message.tool_call_id) : undefined;
  if (name) return name;
  if (message.name) return message.name;
  throw new GatewayError(
    ErrorCode.BAD_REQUEST,
    `The tool message answers tool_call_id '${message.tool_call_id ?? ''}', which no earlier assistant message called`,
    { param: `${param}.tool_call_id` },
  );
}

/** OpenAI sends arguments as a JSON string; the Russian providers want an object. Malformed JSON is a 400. */
export function parseToolArguments(args: string, param: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(args || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the 400
  }
  throw new GatewayError(ErrorCode.BAD_REQUEST, 'Tool call arguments must be a JSON object', { param });
}

export function toolCall(name: string, args: unknown): ToolCall {
  return { id: newToolCallId(), type: 'function', function: { name, arguments: JSON.stringify(args ?? {}) } };
}

export function usageOf(prompt: number, completion: number, total?: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total ?? prompt + completion };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A non-streamed answer in OpenAI's shape. */
export function buildCompletion(
  ctx: CallContext,
  message: { content: string | null; tool_calls?: ToolCall[]; reasoning_content?: string },
  finishReason: FinishReason | null,
  usage: Usage | undefined,
  created = nowSeconds(),
): ChatCompletion {
  return {
    id: ctx.completionId,
    object: 'chat.completion',
    created,
    model: ctx.publicModel,
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason, logprobs: null }],
    ...(usage ? { usage } : {}),
  };
}

/** One streamed chunk in OpenAI's shape. */
export function buildChunk(
  ctx: CallContext,
  delta: { role?: 'assistant'; content?: string; tool_calls?: ChatCompletionChunkToolCall[] },
  finishReason: FinishReason | null = null,
  created = nowSeconds(),
): ChatCompletionChunk {
  return {
    id: ctx.completionId,
    object: 'chat.completion.chunk',
    created,
    model: ctx.publicModel,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
  };
}

/**
 * The closing usage chunk (`choices: []`). Adapters always yield it when the provider reported usage; the gateway
 * forwards it only to clients that asked with `stream_options.include_usage`, and records it either way.
 */
export function buildUsageChunk(ctx: CallContext, usage: Usage, created = nowSeconds()): ChatCompletionChunk {
  return { id: ctx.completionId, object: 'chat.completion.chunk', created, model: ctx.publicModel, choices: [], usage };
}
