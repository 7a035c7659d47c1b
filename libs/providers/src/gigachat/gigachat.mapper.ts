/**
 * OpenAI ⇄ GigaChat v1 mapping (docs/provider-protocols.md §6.2), as pure functions of their arguments, held to the
 * recordings in test/fixtures/recordings/gigachat (gigachat.replay.spec.ts).
 *
 * Decisions worth knowing:
 * - `temperature: 0` (or below) is sent as 0.001: GigaChat's schema has an exclusive minimum of 0, and values in
 *   (0, 0.001] are documented as "maximally deterministic", which is what 0 means to an OpenAI client.
 * - `tool_choice: "required"` has no GigaChat equivalent: with exactly one tool it forces that tool by name, otherwise
 *   it becomes `auto` (the model may then answer without a call).
 * - A `tool` message's content is sent as-is when it already is valid JSON, else as a JSON string
 *   (`JSON.stringify(text)`), because GigaChat wants JSON in `role: function` messages.
 * - More than one tool call in one assistant message cannot be represented (GigaChat makes one call per turn): 400.
 * - `response_format: {type: "json_schema", json_schema: {schema, strict}}` is sent flat, as GigaChat takes it:
 *   `{type: "json_schema", schema, strict}`. `json_object` has no GigaChat form: 400 naming `response_format`.
 * - `reasoning_effort` is sent as GigaChat's own `reasoning_effort` (`low`/`medium`/`high`; anything else: 400).
 * - A function call's `functions_state_id` rides in the tool call id the client gets (`call_<nonce>_gs…`, see
 *   {@link toolCallIdFor}) and goes back on the assistant message of the next turn: no state in the gateway.
 * - `precached_prompt_tokens` becomes `usage.prompt_tokens_details.cached_tokens`; `user` becomes the
 *   `X-Session-ID` header unless the client sent one (the provider does that).
 * - Nothing is dropped silently. What GigaChat v1 has no field for (`stop`, OpenAI's penalties, `seed`, `logprobs`,
 *   `logit_bias`, `n > 1`) is refused with 400 naming the field by the router, from GigaChat's capability table
 *   (capabilities.ts), before this mapping runs. Not GigaChat's to see: `stream_options` (the gateway reports usage
 *   itself) and `parallel_tool_calls` (GigaChat makes at most one call per turn, which satisfies both values).
 */
import { randomBytes } from 'node:crypto';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  EmbeddingRequest,
  EmbeddingResponse,
  ErrorCode,
  FinishReason,
  GatewayError,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  Usage,
} from '@xrouter/common';
import type { CallContext } from '../llm-provider.interface';
import { textBesideImages } from './gigachat-files';
import {
  buildChunk,
  buildCompletion,
  buildUsageChunk,
  nowSeconds,
  parseToolArguments,
  textOf,
  toolCall,
  toolNameFor,
  toolNamesById,
  usageOf,
} from '../mapping/openai-mapping';
import type {
  GigaChatAnswerFunctionCall,
  GigaChatChatRequest,
  GigaChatCompletion,
  GigaChatEmbeddingRequest,
  GigaChatEmbeddingResponse,
  GigaChatFunction,
  GigaChatFunctionChoice,
  GigaChatMessage,
  GigaChatModelList,
  GigaChatReasoningEffort,
  GigaChatResponseFormat,
  GigaChatStreamEvent,
  GigaChatUsage,
} from './gigachat.types';

/** What `temperature: 0` becomes (GigaChat requires temperature > 0). */
export const GIGACHAT_MIN_TEMPERATURE = 0.001;

/** How merged system/developer texts are joined into the one system message GigaChat accepts. */
export const SYSTEM_TEXT_SEPARATOR = '\n\n';

function badRequest(message: string, param: string): GatewayError {
  return new GatewayError(ErrorCode.BAD_REQUEST, message, { param });
}

/** A `role: function` message's content: the tool output itself when it is valid JSON, else the output as a JSON string. */
export function toFunctionContent(output: string): string {
  try {
    JSON.parse(output);
    return output;
  } catch {
    return JSON.stringify(output);
  }
}

const STATE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATE_IN_CALL_ID = /^call_[0-9a-f]{4}_gs(?:u([0-9a-f]{32})|b([A-Za-z0-9_-]+))$/;

/**
 * The tool call id a client receives for a GigaChat function call: `call_<4 random hex>_gs` followed by the call's
 * `functions_state_id` (`u` + the UUID's 32 hex digits, or `b` + base64url for any other form), so that the next
 * turn can send the state back without the gateway keeping any (see {@link functionsStateIdOf}).
 */
export function toolCallIdFor(functionsStateId: string | undefined): string | undefined {
  if (typeof functionsStateId !== 'string' || functionsStateId === '') return undefined;
  const nonce = randomBytes(2).toString('hex');
  return STATE_UUID.test(functionsStateId)
    ? `call_${nonce}_gsu${functionsStateId.replace(/-/g, '').toLowerCase()}`
    : `call_${nonce}_gsb${Buffer.from(functionsStateId, 'utf8').toString('base64url')}`;
}

/** The `functions_state_id` carried by a tool call id made by {@link toolCallIdFor}; undefined for any other id. */
export function functionsStateIdOf(toolCallId: string | undefined): string | undefined {
  const match = typeof toolCallId === 'string' ? STATE_IN_CALL_ID.exec(toolCallId) : null;
  if (!match) return undefined;
  if (match[1] !== undefined) {
    const h = match[1];
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  const decoded = Buffer.from(match[2], 'base64url').toString('utf8');
  return decoded === '' ? undefined : decoded;
}

/** An OpenAI tool call for a GigaChat function call, its id carrying the call's `functions_state_id` when it has one. */
function gigaChatToolCall(name: string, args: Record<string, unknown>, functionsStateId?: string): ToolCall {
  const call = toolCall(name, args);
  const id = toolCallIdFor(functionsStateId);
  return id === undefined ? call : { ...call, id };
}

/**
 * The conversation in GigaChat's shape: every system/developer text merged into one first system message (GigaChat
 * answers 422 to a second system message or one that is not first), tool calls as `function_call` objects and tool
 * results as `role: function` messages named after the function they answer.
 */
export function toGigaChatMessages(
  messages: readonly ChatMessage[],
  attachments?: ReadonlyMap<number, readonly string[]>,
): GigaChatMessage[] {
  const names = toolNamesById(messages);
  const systemTexts: string[] = [];
  const out: GigaChatMessage[] = [];
  messages.forEach((message, i) => {
    const param = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        systemTexts.push(textOf(message.content, `${param}.content`));
        return;
      case 'user': {
        // Images travel as uploaded files (gigachat-files.ts); without their ids an image part is refused by textOf.
        const ids = attachments?.get(i);
        if (ids && Array.isArray(message.content)) {
          const content = textBesideImages(message.content, `${param}.content`);
          out.push({ role: 'user', content, attachments: [...ids] });
          return;
        }
        out.push({ role: 'user', content: textOf(message.content, `${param}.content`) });
        return;
      }
      case 'assistant': {
        const calls = message.tool_calls ?? [];
        if (calls.length > 1) {
          throw badRequest(
            'GigaChat accepts one tool call per assistant message; this message has ' + calls.length,
            `${param}.tool_calls`,
          );
        }
        if (calls.length === 1) {
          const { name, arguments: args } = calls[0].function;
          const functionsStateId = functionsStateIdOf(calls[0].id);
          out.push({
            role: 'assistant',
            content: '',
            function_call: { name, arguments: parseToolArguments(args, `${param}.tool_calls[0].function.arguments`) },
            ...(functionsStateId !== undefined ? { functions_state_id: functionsStateId } : {}),
          });
          return;
        }
        out.push({ role: 'assistant', content: textOf(message.content, `${param}.content`) });
        return;
      }
      case 'tool':
        out.push({
          role: 'function',
          name: toolNameFor(names, message, param),
          content: toFunctionContent(textOf(message.content, `${param}.content`)),
        });
        return;
      default:
        throw badRequest(`Unsupported message role '${String((message as { role: unknown }).role)}'`, `${param}.role`);
    }
  });
  if (systemTexts.length > 0) out.unshift({ role: 'system', content: systemTexts.join(SYSTEM_TEXT_SEPARATOR) });
  return out;
}

/** OpenAI `tools` as GigaChat `functions`; only `type: "function"` tools exist on GigaChat. */
export function toGigaChatFunctions(tools: readonly ToolDefinition[]): GigaChatFunction[] {
  return tools.map((tool, i) => {
    if (tool.type !== 'function' || !tool.function?.name) {
      throw badRequest(`Only function tools are supported by GigaChat`, `tools[${i}]`);
    }
    const { name, description, parameters } = tool.function;
    return {
      name,
      ...(description !== undefined ? { description } : {}),
      parameters: parameters ?? { type: 'object', properties: {} },
    };
  });
}

/**
 * OpenAI `tool_choice` as GigaChat `function_call`; undefined when nothing should be sent (no choice, or no tools).
 * `required` forces the only tool, else falls back to `auto` (GigaChat has no "must call something" mode).
 */
export function toFunctionChoice(
  choice: ToolChoice | null | undefined,
  functions: readonly GigaChatFunction[],
): GigaChatFunctionChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === 'string') {
    if (functions.length === 0) return undefined;
    if (choice === 'required') return functions.length === 1 ? { name: functions[0].name } : 'auto';
    return choice;
  }
  const name = choice.function.name;
  if (!functions.some((fn) => fn.name === name)) {
    throw badRequest(`tool_choice names '${name}', which is not among the tools`, 'tool_choice.function.name');
  }
  return { name };
}

/** GigaChat's temperature must be > 0: 0 (and anything below) becomes {@link GIGACHAT_MIN_TEMPERATURE}. */
export function toGigaChatTemperature(temperature: number | undefined): number | undefined {
  if (typeof temperature !== 'number') return undefined;
  return temperature <= 0 ? GIGACHAT_MIN_TEMPERATURE : temperature;
}

/**
 * OpenAI `response_format` in GigaChat's shape: `json_schema` becomes the flat `{type, schema, strict}` GigaChat
 * records show; `text` (or none) sends nothing. GigaChat documents no `json_object` mode (its SDK's format type is
 * the literal `json_schema`), so `json_object` — and any other type — is refused, naming the field and the model.
 */
export function toGigaChatResponseFormat(
  format: ChatCompletionRequest['response_format'],
  model: string,
): GigaChatResponseFormat | undefined {
  if (format === undefined || format === null) return undefined;
  if (typeof format !== 'object' || typeof format.type !== 'string') {
    throw badRequest('response_format must be an object with a type', 'response_format');
  }
  switch (format.type) {
    case 'text':
      return undefined;
    case 'json_schema': {
      const spec = format.json_schema;
      const schema: unknown = spec?.schema;
      if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
        throw badRequest(
          'response_format json_schema needs json_schema.schema (a JSON Schema object)',
          'response_format.json_schema.schema',
        );
      }
      const strict = spec?.strict;
      return {
        type: 'json_schema',
        schema: schema as Record<string, unknown>,
        ...(typeof strict === 'boolean' ? { strict } : {}),
      };
    }
    case 'json_object':
      throw badRequest(
        `response_format 'json_object' is not supported by GigaChat model '${model}': GigaChat takes only ` +
          `'json_schema' (send {"type":"json_schema","json_schema":{"name":…,"schema":{…}}})`,
        'response_format',
      );
    default:
      throw badRequest(
        `response_format '${format.type}' is not supported by GigaChat model '${model}' (only 'text' and 'json_schema')`,
        'response_format',
      );
  }
}

const REASONING_EFFORTS: readonly string[] = ['low', 'medium', 'high'];

/** OpenAI `reasoning_effort` as GigaChat's field of the same name, which takes only `low`, `medium` and `high`. */
export function toGigaChatReasoningEffort(effort: unknown, model: string): GigaChatReasoningEffort | undefined {
  // `none` asks for nothing (the capability rules read it so): GigaChat is then sent no effort at all.
  if (effort === undefined || effort === null || effort === 'none') return undefined;
  if (typeof effort === 'string' && REASONING_EFFORTS.includes(effort)) return effort as GigaChatReasoningEffort;
  throw badRequest(
    `reasoning_effort ${JSON.stringify(effort)} is not supported by GigaChat model '${model}' (only low, medium, high)`,
    'reasoning_effort',
  );
}

/**
 * The GigaChat request body for an OpenAI chat request. OpenAI parameters without a GigaChat field never get here:
 * the router refuses them by name (or drops them, when `drop_params` says so) from GigaChat's capability table
 * (capabilities.ts). `user` travels as the `X-Session-ID` header (provider).
 */
export function toGigaChatRequest(
  request: ChatCompletionRequest,
  upstreamModel: string,
  stream: boolean,
  attachments?: ReadonlyMap<number, readonly string[]>,
): GigaChatChatRequest {
  const body: GigaChatChatRequest = {
    model: upstreamModel,
    messages: toGigaChatMessages(request.messages, attachments),
  };
  if (stream) body.stream = true;
  const temperature = toGigaChatTemperature(request.temperature);
  if (temperature !== undefined) body.temperature = temperature;
  if (typeof request.top_p === 'number') body.top_p = request.top_p;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (typeof maxTokens === 'number') body.max_tokens = maxTokens;
  const functions = request.tools && request.tools.length > 0 ? toGigaChatFunctions(request.tools) : [];
  if (functions.length > 0) body.functions = functions;
  const functionCall = toFunctionChoice(request.tool_choice, functions);
  if (functionCall !== undefined) body.function_call = functionCall;
  // GigaChat's own knobs, passed through when a client sends them.
  if (typeof request.repetition_penalty === 'number') body.repetition_penalty = request.repetition_penalty;
  if (typeof request.update_interval === 'number') body.update_interval = request.update_interval;
  if (typeof request.profanity_check === 'boolean') body.profanity_check = request.profanity_check;
  const responseFormat = toGigaChatResponseFormat(request.response_format, upstreamModel);
  if (responseFormat !== undefined) body.response_format = responseFormat;
  const effort = toGigaChatReasoningEffort(request.reasoning_effort, upstreamModel);
  if (effort !== undefined) body.reasoning_effort = effort;
  return body;
}

/** GigaChat finish reasons in OpenAI terms; absent stays null, anything unknown reads as `stop`. */
export function toFinishReason(reason: string | null | undefined): FinishReason | null {
  switch (reason) {
    case undefined:
    case null:
      return null;
    case 'length':
      return 'length';
    case 'function_call':
      return 'tool_calls';
    case 'blacklist':
      return 'content_filter';
    default:
      // `stop`, and `error` (the model produced invalid function arguments: its content is passed through).
      return 'stop';
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** GigaChat usage in OpenAI terms: `precached_prompt_tokens` becomes `prompt_tokens_details.cached_tokens`. */
export function toUsage(usage: GigaChatUsage): Usage {
  const mapped = usageOf(
    count(usage.prompt_tokens),
    count(usage.completion_tokens),
    typeof usage.total_tokens === 'number' ? usage.total_tokens : undefined,
  );
  if (typeof usage.precached_prompt_tokens === 'number') {
    mapped.prompt_tokens_details = { cached_tokens: usage.precached_prompt_tokens };
  }
  return mapped;
}

/** A function call's arguments as an object (GigaChat sends an object; a JSON string is tolerated). */
function argumentsOf(call: GigaChatAnswerFunctionCall): Record<string, unknown> {
  const args = call.arguments;
  if (typeof args !== 'string') return args ?? {};
  try {
    const parsed: unknown = JSON.parse(args);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON: keep the text under one key rather than losing it
  }
  return { value: args };
}

/** A non-streamed GigaChat answer as an OpenAI completion with the gateway's id and the client's model name. */
export function fromGigaChatCompletion(ctx: CallContext, completion: GigaChatCompletion): ChatCompletion {
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  const message = choice?.message;
  if (!message) {
    throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${ctx.target.provider.id}: the answer has no choices`);
  }
  const content = typeof message.content === 'string' ? message.content : '';
  const call = message.function_call;
  const mapped =
    call && typeof call.name === 'string'
      ? {
          content: content === '' ? null : content,
          tool_calls: [gigaChatToolCall(call.name, argumentsOf(call), message.functions_state_id)],
        }
      : { content };
  return buildCompletion(
    ctx,
    typeof message.reasoning_content === 'string'
      ? { ...mapped, reasoning_content: message.reasoning_content }
      : mapped,
    toFinishReason(choice?.finish_reason),
    completion.usage ? toUsage(completion.usage) : undefined,
    typeof completion.created === 'number' ? completion.created : nowSeconds(),
  );
}

/** What a stream has seen so far; owned by one stream, updated by {@link fromGigaChatStreamEvent}. */
export interface GigaChatStreamState {
  /** A chunk (carrying `role: "assistant"`) was emitted. */
  started: boolean;
  /** The event with `finish_reason` was seen. */
  finished: boolean;
  /** A `functions_state_id` seen in a delta before (or with) its function call. */
  functionsStateId?: string;
}

export function newStreamState(): GigaChatStreamState {
  return { started: false, finished: false };
}

/**
 * The OpenAI chunks for one GigaChat stream event: the first chunk carries `role: "assistant"`; non-empty content
 * deltas; a function call as one complete `tool_calls` delta; the finish chunk, then the usage chunk when the event
 * reports usage. Builtin-function progress events (`role: function_in_progress`) are skipped.
 */
export function fromGigaChatStreamEvent(
  ctx: CallContext,
  event: GigaChatStreamEvent,
  state: GigaChatStreamState,
): ChatCompletionChunk[] {
  const choice = Array.isArray(event.choices) ? event.choices[0] : undefined;
  const created = typeof event.created === 'number' ? event.created : nowSeconds();
  const chunks: ChatCompletionChunk[] = [];
  const emit = (delta: Parameters<typeof buildChunk>[1], finish: FinishReason | null = null): void => {
    chunks.push(buildChunk(ctx, state.started ? delta : { role: 'assistant', ...delta }, finish, created));
    state.started = true;
  };
  const delta = choice?.delta;
  if (delta && delta.role !== 'function_in_progress') {
    if (typeof delta.content === 'string' && delta.content !== '') emit({ content: delta.content });
    if (typeof delta.functions_state_id === 'string') state.functionsStateId = delta.functions_state_id;
    const call = delta.function_call;
    if (call && typeof call.name === 'string') {
      const { id, type, function: fn } = gigaChatToolCall(call.name, argumentsOf(call), state.functionsStateId);
      emit({ tool_calls: [{ index: 0, id, type, function: fn }] });
    }
  }
  const finish = toFinishReason(choice?.finish_reason);
  if (finish !== null) {
    emit({}, finish);
    state.finished = true;
    if (event.usage) chunks.push(buildUsageChunk(ctx, toUsage(event.usage), created));
  }
  return chunks;
}

/** The GigaChat embeddings body: input is always an array there. */
export function toGigaChatEmbeddingRequest(request: EmbeddingRequest, upstreamModel: string): GigaChatEmbeddingRequest {
  return { model: upstreamModel, input: typeof request.input === 'string' ? [request.input] : [...request.input] };
}

/** GigaChat embeddings in OpenAI's shape; the per-item usage is summed into `usage.prompt_tokens`. */
export function fromGigaChatEmbeddings(ctx: CallContext, response: GigaChatEmbeddingResponse): EmbeddingResponse {
  if (!Array.isArray(response.data)) {
    throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${ctx.target.provider.id}: the answer has no data`);
  }
  let promptTokens = 0;
  const data = response.data.map((item, i) => {
    if (!Array.isArray(item.embedding)) {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${ctx.target.provider.id}: item ${i} has no embedding`);
    }
    promptTokens += count(item.usage?.prompt_tokens);
    return {
      object: 'embedding' as const,
      index: typeof item.index === 'number' ? item.index : i,
      embedding: item.embedding,
    };
  });
  return {
    object: 'list',
    data,
    model: ctx.publicModel,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** The model ids of a `GET /models` answer. */
export function modelIdsOf(list: GigaChatModelList): string[] {
  return (list.data ?? []).flatMap((model) => (typeof model.id === 'string' ? [model.id] : []));
}
