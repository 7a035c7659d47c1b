import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionChunkToolCall,
  ChatCompletionRequest,
  ChatMessage,
  EmbeddingResponse,
  ErrorCode,
  FinishReason,
  GatewayError,
  ToolCall,
  ToolChoice,
  Usage,
} from '@xrouter/common';
import { upstreamHttpError } from '../http/upstream-error';
import type { CallContext, DeploymentTarget } from '../llm-provider.interface';
import {
  buildChunk,
  buildCompletion,
  buildUsageChunk,
  parseToolArguments,
  textOf,
  toolCall,
  toolNameFor,
  toolNamesById,
  usageOf,
} from '../mapping/openai-mapping';
import type {
  YandexAlternative,
  YandexAlternativeStatus,
  YandexCompletionRequest,
  YandexCompletionResult,
  YandexEmbeddingResponse,
  YandexEnvelope,
  YandexError,
  YandexInt64,
  YandexMessage,
  YandexToolCallList,
  YandexToolChoice,
  YandexToolResultList,
  YandexUsage,
} from './yandex.types';

/**
 * OpenAI ⇄ YandexGPT native mapping (docs/provider-protocols.md §6.3). Pure functions plus two small per-call state
 * machines for streams; nothing here does I/O.
 */

/**
 * The models this adapter serves through the native API, from docs/provider-protocols.md §3.12 (VERIFIED against
 * `ru/ai-studio/concepts/generation/models.md`), named as §3.12 suggests (the URI is built from the folder), plus the
 * two embedding models of §3.2. Qwen3, gpt-oss and Gemma are OpenAI-compatible-endpoint only, so they are not listed.
 * Yandex has no list endpoint: `listModels` returns this after a real probe call.
 */
export const YANDEX_MODEL_IDS: readonly string[] = [
  'yandexgpt',
  'yandexgpt/rc',
  'yandexgpt-lite',
  'aliceai-llm',
  'text-search-doc',
  'text-search-query',
];

const STATUS = {
  UNSPECIFIED: 'ALTERNATIVE_STATUS_UNSPECIFIED',
  PARTIAL: 'ALTERNATIVE_STATUS_PARTIAL',
  TRUNCATED_FINAL: 'ALTERNATIVE_STATUS_TRUNCATED_FINAL',
  FINAL: 'ALTERNATIVE_STATUS_FINAL',
  CONTENT_FILTER: 'ALTERNATIVE_STATUS_CONTENT_FILTER',
  TOOL_CALLS: 'ALTERNATIVE_STATUS_TOOL_CALLS',
} as const satisfies Record<string, YandexAlternativeStatus>;

// ---------------------------------------------------------------------------------------------------------------
// Credentials and URIs

function folderOf(target: DeploymentTarget): string {
  const folder = target.account.folder_id;
  if (folder) return folder;
  throw new GatewayError(
    ErrorCode.UPSTREAM_AUTH,
    `${target.provider.id}: account '${target.account.id}' has no folder_id to build the model URI`,
  );
}

/** `Api-Key <api_key>`, else `Bearer <iam_token>` (§3.2); undefined when neither is set (service-account accounts). */
export function staticAuthorization(target: DeploymentTarget): string | undefined {
  const { account } = target;
  if (account.api_key) return `Api-Key ${account.api_key}`;
  if (account.iam_token) return `Bearer ${account.iam_token}`;
  return undefined;
}

/**
 * The headers of every model call: the authorization, `x-folder-id` whenever a folder is configured,
 * `x-client-request-id` for Yandex-side tracing, and `x-data-logging-enabled: false` so Yandex does not keep the
 * prompts and answers (152-FZ), unless the account opted in with `data_logging: true`.
 */
export function yandexHeaders(
  target: DeploymentTarget,
  authorization: string,
  requestId?: string,
): Record<string, string> {
  const { account } = target;
  return {
    'content-type': 'application/json',
    authorization,
    ...(account.folder_id ? { 'x-folder-id': account.folder_id } : {}),
    ...(requestId ? { 'x-client-request-id': requestId } : {}),
    ...(account.data_logging === true ? {} : { 'x-data-logging-enabled': 'false' }),
  };
}

/** `gpt://<folder>/<model>`, unless the deployment already names a full `gpt://` URI. */
export function completionModelUri(target: DeploymentTarget, model = target.upstreamModel): string {
  return model.startsWith('gpt://') ? model : `gpt://${folderOf(target)}/${model}`;
}

/**
 * `emb://<folder>/<model>/latest`, or `emb://<folder>/<model>/<branch>` when the model names its branch
 * (`text-search-doc/rc`), unless the deployment already names a full `emb://` URI.
 */
export function embeddingModelUri(target: DeploymentTarget): string {
  const model = target.upstreamModel;
  if (model.startsWith('emb://')) return model;
  return `emb://${folderOf(target)}/${model.includes('/') ? model : `${model}/latest`}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Request: OpenAI → Yandex

/** OpenAI allows 0..2, Yandex 0..1: values are clamped (not rescaled), so 0.3 stays 0.3 and 1.5 becomes 1. */
export function clampTemperature(temperature: number): number {
  return Math.min(1, Math.max(0, temperature));
}

export function toYandexToolChoice(choice: ToolChoice): YandexToolChoice {
  switch (choice) {
    case 'auto':
      return { mode: 'AUTO' };
    case 'none':
      return { mode: 'NONE' };
    case 'required':
      return { mode: 'REQUIRED' };
    default:
      return { functionName: choice.function.name };
  }
}

/**
 * Messages in Yandex's shape: `text` instead of `content`, system/developer → `system`, assistant tool calls →
 * `toolCallList` (arguments as objects), and each run of consecutive `tool` messages → ONE `user` message with a
 * `toolResultList` whose names come from the earlier assistant tool calls. An assistant message with both text and
 * tool calls becomes two messages (text, then the calls), since a Yandex message holds exactly one of them.
 */
export function toYandexMessages(messages: readonly ChatMessage[]): YandexMessage[] {
  const names = toolNamesById(messages);
  const out: YandexMessage[] = [];
  let results: YandexToolResultList | undefined;
  messages.forEach((message, i) => {
    const param = `messages[${i}]`;
    if (message.role !== 'tool') results = undefined;
    switch (message.role) {
      case 'system':
      case 'developer':
        out.push({ role: 'system', text: textOf(message.content, `${param}.content`) });
        return;
      case 'user':
        out.push({ role: 'user', text: textOf(message.content, `${param}.content`) });
        return;
      case 'assistant': {
        const text = textOf(message.content, `${param}.content`);
        const calls = message.tool_calls ?? [];
        if (calls.length === 0 || text !== '') out.push({ role: 'assistant', text });
        if (calls.length > 0) {
          const toolCallList: YandexToolCallList = {
            toolCalls: calls.map((call, j) => ({
              functionCall: {
                name: call.function.name,
                arguments: parseToolArguments(call.function.arguments, `${param}.tool_calls[${j}].function.arguments`),
              },
            })),
          };
          out.push({ role: 'assistant', toolCallList });
        }
        return;
      }
      case 'tool': {
        const functionResult = {
          name: toolNameFor(names, message, param),
          content: textOf(message.content, `${param}.content`),
        };
        if (results) {
          results.toolResults.push({ functionResult });
        } else {
          results = { toolResults: [{ functionResult }] };
          out.push({ role: 'user', toolResultList: results });
        }
        return;
      }
    }
  });
  return out;
}

/**
 * The `POST /completion` body (§6.3). Dropped because Yandex has no equivalent: `top_p`, `stop`, `n`, penalties,
 * `seed`, `logprobs`, `user`, `stream_options` (usage is always reported).
 */
export function toYandexRequest(
  request: ChatCompletionRequest,
  target: DeploymentTarget,
  stream: boolean,
): YandexCompletionRequest {
  const body: YandexCompletionRequest = {
    modelUri: completionModelUri(target),
    completionOptions: { stream },
    messages: toYandexMessages(request.messages),
  };
  const options = body.completionOptions;
  if (typeof request.temperature === 'number') options.temperature = clampTemperature(request.temperature);
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (typeof maxTokens === 'number') options.maxTokens = String(maxTokens);
  // Any effort level enables hidden reasoning (lossy); `none` means no reasoning, which is Yandex's default.
  if (request.reasoning_effort && request.reasoning_effort !== 'none') {
    options.reasoningOptions = { mode: 'ENABLED_HIDDEN' };
  }

  const tools = request.tools ?? [];
  if (tools.length > 0) {
    body.tools = tools.map((tool) => ({ function: { ...tool.function } }));
    if (request.tool_choice !== undefined && request.tool_choice !== null)
      body.toolChoice = toYandexToolChoice(request.tool_choice);
    if (typeof request.parallel_tool_calls === 'boolean') body.parallelToolCalls = request.parallel_tool_calls;
  }

  const format = request.response_format;
  if (format?.type === 'json_object') {
    body.jsonObject = true;
  } else if (format?.type === 'json_schema') {
    const schema = format.json_schema?.schema;
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'response_format.json_schema.schema must be an object', {
        param: 'response_format.json_schema.schema',
      });
    }
    body.jsonSchema = { schema: schema as Record<string, unknown> };
  } else if (format !== undefined && format !== null && format.type !== 'text') {
    throw new GatewayError(ErrorCode.BAD_REQUEST, `response_format type '${format.type}' is not supported`, {
      param: 'response_format.type',
    });
  }
  return body;
}

// ---------------------------------------------------------------------------------------------------------------
// Response: Yandex → OpenAI

/** Status → finish_reason; `PARTIAL` (streams only) → null; an unknown status counts as `stop`. */
export function finishReasonOf(status: string | undefined): FinishReason | null {
  switch (status ?? STATUS.UNSPECIFIED) {
    case STATUS.PARTIAL:
      return null;
    case STATUS.TRUNCATED_FINAL:
      return 'length';
    case STATUS.TOOL_CALLS:
      return 'tool_calls';
    case STATUS.CONTENT_FILTER:
      return 'content_filter';
    default:
      return 'stop';
  }
}

function count(value: YandexInt64 | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** int64 strings → numbers; a missing counter is 0 (a missing total is prompt + completion). */
export function usageFromYandex(usage: YandexUsage): Usage {
  return {
    ...usageOf(
      count(usage.inputTextTokens),
      count(usage.completionTokens),
      usage.totalTokens === undefined ? undefined : count(usage.totalTokens),
    ),
    completion_tokens_details: { reasoning_tokens: count(usage.completionTokensDetails?.reasoningTokens) },
  };
}

/** HTTP status for a grpc code (§3.11), for error lines that carry no `httpCode`. */
const GRPC_TO_HTTP: Record<number, number> = { 3: 400, 16: 401, 7: 403, 5: 404, 8: 429, 4: 504, 13: 500, 14: 503 };

/** A Yandex error body (an HTTP answer or a stream's error line) as the same GatewayError an HTTP status gives. */
export function yandexError(providerId: string, error: YandexError): GatewayError {
  const fromHttp = typeof error.httpCode === 'number' && error.httpCode >= 400 ? error.httpCode : undefined;
  const status = fromHttp ?? GRPC_TO_HTTP[error.grpcCode ?? -1] ?? 500;
  return upstreamHttpError(providerId, status, JSON.stringify({ error }), {});
}

/** The completion inside `{result: …}`, or the object itself when it is bare; an `{error}` body is thrown. */
export function unwrapResult(envelope: YandexEnvelope, providerId: string): YandexCompletionResult {
  if (!envelope || typeof envelope !== 'object' || Array.isArray(envelope)) {
    throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${providerId}: the answer is not a JSON object`);
  }
  if (envelope.error && typeof envelope.error === 'object') throw yandexError(providerId, envelope.error);
  return envelope.result && typeof envelope.result === 'object' ? envelope.result : envelope;
}

/** OpenAI tool calls with synthesized ids and stringified arguments. */
export function toolCallsOf(list: Partial<YandexToolCallList> | undefined, providerId: string): ToolCall[] {
  const calls: unknown = list?.toolCalls ?? [];
  if (!Array.isArray(calls)) {
    throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${providerId}: toolCallList.toolCalls is not a list`);
  }
  return (calls as YandexToolCallList['toolCalls']).map((entry) => {
    const call = entry?.functionCall;
    if (!call || typeof call.name !== 'string') {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${providerId}: a tool call has no function name`);
    }
    return toolCall(call.name, call.arguments ?? {});
  });
}

function firstAlternative(result: YandexCompletionResult, providerId: string): YandexAlternative {
  const alternative = Array.isArray(result.alternatives) ? result.alternatives[0] : undefined;
  if (!alternative || typeof alternative !== 'object') {
    throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${providerId}: the answer has no alternatives`);
  }
  return alternative;
}

/**
 * A non-streamed answer. A tool-call answer has `content: null`; a CONTENT_FILTER answer keeps Yandex's replacement
 * text (nothing was shown to the client before it, so nothing needs retracting) with finish `content_filter`.
 */
export function fromYandexCompletion(envelope: YandexEnvelope, ctx: CallContext): ChatCompletion {
  const providerId = ctx.target.provider.id;
  const result = unwrapResult(envelope, providerId);
  const alternative = firstAlternative(result, providerId);
  const calls = toolCallsOf(alternative.message?.toolCallList, providerId);
  const text = alternative.message?.text;
  let finish = finishReasonOf(alternative.status) ?? 'stop';
  if (calls.length > 0 && finish === 'stop') finish = 'tool_calls';
  const message =
    calls.length > 0
      ? { content: text ? text : null, tool_calls: calls }
      : { content: typeof text === 'string' ? text : '' };
  return buildCompletion(ctx, message, finish, result.usage ? usageFromYandex(result.usage) : undefined);
}

// ---------------------------------------------------------------------------------------------------------------
// Streams: cumulative NDJSON → OpenAI chunks

/**
 * Turns Yandex's cumulative stream texts ("При", "Привет! Чем", …) into deltas. A text that does not extend what was
 * already emitted (a content-filter replacement or any other rewrite) cannot be retracted from the client, so it is
 * never emitted: the decoder latches `rewritten` and emits nothing more. A missing or empty text carries no news.
 */
export class CumulativeTextDecoder {
  private emitted = '';
  private diverged = false;

  /** Everything emitted so far. */
  get text(): string {
    return this.emitted;
  }

  /** Whether a text did not extend the emitted prefix (from then on nothing is emitted). */
  get rewritten(): boolean {
    return this.diverged;
  }

  /** The new suffix of `text`; '' when there is none. `replacement`: the text is known not to continue (CONTENT_FILTER). */
  push(text: string | undefined, replacement = false): string {
    if (this.diverged) return '';
    if (replacement) {
      this.diverged = true;
      return '';
    }
    if (!text) return '';
    if (!text.startsWith(this.emitted)) {
      this.diverged = true;
      return '';
    }
    const delta = text.slice(this.emitted.length);
    this.emitted = text;
    return delta;
  }
}

/**
 * One stream's translation, line by line: content deltas (the first chunk carries `role: 'assistant'`), then on the
 * first non-PARTIAL status the tool calls (if any), the finish chunk and the usage chunk (from the last usage seen).
 * Finish: CONTENT_FILTER → `content_filter`; tool calls → `tool_calls`; a non-filter rewrite → `stop`; otherwise the
 * status. `end()` refuses a body that stopped before a terminal status: a truncated stream is an error, never a stop.
 */
export class YandexStreamTranslator {
  private readonly text = new CumulativeTextDecoder();
  private roleSent = false;
  private usage: Usage | undefined;
  private done = false;

  constructor(private readonly ctx: CallContext) {}

  /** Whether the terminal chunks were produced (later lines are ignored). */
  get finished(): boolean {
    return this.done;
  }

  /** The chunks for one parsed line; throws the GatewayError of an `{error}` line or a line without alternatives. */
  accept(line: YandexEnvelope): ChatCompletionChunk[] {
    if (this.done) return [];
    const providerId = this.ctx.target.provider.id;
    const result = unwrapResult(line, providerId);
    const alternative = firstAlternative(result, providerId);
    if (result.usage) this.usage = usageFromYandex(result.usage);
    const status = alternative.status;
    const chunks: ChatCompletionChunk[] = [];

    const delta = this.text.push(alternative.message?.text, status === STATUS.CONTENT_FILTER);
    if (delta) chunks.push(this.chunk({ content: delta }));
    if (status === STATUS.PARTIAL) return chunks;

    const calls = toolCallsOf(alternative.message?.toolCallList, providerId);
    if (calls.length > 0) {
      const toolCalls: ChatCompletionChunkToolCall[] = calls.map((call, index) => ({ index, ...call }));
      chunks.push(this.chunk({ tool_calls: toolCalls }));
    }
    let finish: FinishReason;
    if (status === STATUS.CONTENT_FILTER) finish = 'content_filter';
    else if (calls.length > 0) finish = 'tool_calls';
    else if (this.text.rewritten) finish = 'stop';
    else finish = finishReasonOf(status) ?? 'stop';
    chunks.push(this.chunk({}, finish));
    if (this.usage) chunks.push(buildUsageChunk(this.ctx, this.usage));
    this.done = true;
    return chunks;
  }

  /** Call when the body ended: throws STREAM_TRUNCATED unless a terminal status was seen. */
  end(): void {
    if (this.done) return;
    throw new GatewayError(
      ErrorCode.STREAM_TRUNCATED,
      `${this.ctx.target.provider.id}: the stream ended before a final status`,
    );
  }

  private chunk(
    delta: { content?: string; tool_calls?: ChatCompletionChunkToolCall[] },
    finish: FinishReason | null = null,
  ): ChatCompletionChunk {
    if (this.roleSent) return buildChunk(this.ctx, delta, finish);
    this.roleSent = true;
    return buildChunk(this.ctx, { role: 'assistant', ...delta }, finish);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Embeddings

export interface YandexEmbedding {
  embedding: number[];
  tokens: number;
}

/** One `/textEmbedding` answer: the vector as numbers (lenient to strings) and its token count. */
export function fromYandexEmbedding(response: YandexEmbeddingResponse, providerId: string): YandexEmbedding {
  const raw = response && typeof response === 'object' ? response.embedding : undefined;
  const embedding = Array.isArray(raw) ? raw.map(Number) : [];
  if (embedding.length === 0 || embedding.some((value) => !Number.isFinite(value))) {
    throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${providerId}: the answer has no valid embedding`);
  }
  return { embedding, tokens: count(response.numTokens) };
}

/** The OpenAI answer for the inputs in order; usage is the sum of `numTokens`. */
export function buildEmbeddingResponse(ctx: CallContext, embeddings: readonly YandexEmbedding[]): EmbeddingResponse {
  const tokens = embeddings.reduce((sum, item) => sum + item.tokens, 0);
  return {
    object: 'list',
    data: embeddings.map((item, index) => ({ object: 'embedding', index, embedding: item.embedding })),
    model: ctx.publicModel,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
