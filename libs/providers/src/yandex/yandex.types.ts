/**
 * YandexGPT native Foundation Models API (`…/foundationModels/v1`) wire shapes, as in docs/provider-protocols.md §3.
 * int64 fields travel as JSON strings (proto3 JSON mapping); answers read them leniently (string or number).
 */

/** An int64 as the API writes it: a string, though proto3 JSON parsing also yields numbers. */
export type YandexInt64 = string | number;

export type YandexRole = 'system' | 'user' | 'assistant';

export interface YandexFunctionCall {
  name: string;
  /** An object, not a JSON string (unlike OpenAI). */
  arguments?: Record<string, unknown>;
}

export interface YandexToolCallList {
  toolCalls: Array<{ functionCall: YandexFunctionCall }>;
}

export interface YandexToolResultList {
  toolResults: Array<{ functionResult: { name: string; content: string } }>;
}

/** Each message holds exactly one of `text`, `toolCallList`, `toolResultList` (§3.4). */
export type YandexMessage =
  | { role: YandexRole; text: string }
  | { role: 'assistant'; toolCallList: YandexToolCallList }
  | { role: 'user'; toolResultList: YandexToolResultList };

export interface YandexTool {
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type YandexToolChoice = { mode: 'NONE' | 'AUTO' | 'REQUIRED' } | { functionName: string };

export type YandexReasoningMode = 'DISABLED' | 'ENABLED_HIDDEN';

export interface YandexCompletionOptions {
  stream: boolean;
  /** 0..1 inclusive. */
  temperature?: number;
  /** int64 as a string. */
  maxTokens?: string;
  reasoningOptions?: { mode: YandexReasoningMode };
}

/** `POST /completion` body (§3.4). */
export interface YandexCompletionRequest {
  modelUri: string;
  completionOptions: YandexCompletionOptions;
  messages: YandexMessage[];
  tools?: YandexTool[];
  toolChoice?: YandexToolChoice;
  parallelToolCalls?: boolean;
  jsonObject?: boolean;
  jsonSchema?: { schema: Record<string, unknown> };
}

export type YandexAlternativeStatus =
  | 'ALTERNATIVE_STATUS_UNSPECIFIED'
  | 'ALTERNATIVE_STATUS_PARTIAL'
  | 'ALTERNATIVE_STATUS_TRUNCATED_FINAL'
  | 'ALTERNATIVE_STATUS_FINAL'
  | 'ALTERNATIVE_STATUS_CONTENT_FILTER'
  | 'ALTERNATIVE_STATUS_TOOL_CALLS';

export interface YandexAlternative {
  message?: { role?: string; text?: string; toolCallList?: Partial<YandexToolCallList> };
  /** Typed as string: a status this adapter does not know must not break the answer. */
  status?: YandexAlternativeStatus | (string & {});
}

export interface YandexUsage {
  inputTextTokens?: YandexInt64;
  completionTokens?: YandexInt64;
  totalTokens?: YandexInt64;
  completionTokensDetails?: { reasoningTokens?: YandexInt64 };
}

/** `CompletionResponse` (§3.5); over REST it arrives wrapped in `result`. */
export interface YandexCompletionResult {
  alternatives?: YandexAlternative[];
  usage?: YandexUsage;
  modelVersion?: string;
}

/** grpc-gateway error body (§3.11), also the terminal line of a failed stream (§3.6). */
export interface YandexError {
  grpcCode?: number;
  httpCode?: number;
  message?: string;
  httpStatus?: string;
}

/** A whole answer or one stream line: `{result: …}`, a bare result, or `{error: …}`. */
export interface YandexEnvelope extends YandexCompletionResult {
  result?: YandexCompletionResult;
  error?: YandexError;
}

/** `POST /textEmbedding` (§3.9): one text per call. */
export interface YandexEmbeddingRequest {
  modelUri: string;
  text: string;
  /** int64 as a string. */
  dim?: string;
}

export interface YandexEmbeddingResponse {
  embedding?: Array<number | string>;
  numTokens?: YandexInt64;
  modelVersion?: string;
}

/** `POST /tokenize` (§3.9). */
export interface YandexTokenizeRequest {
  modelUri: string;
  text: string;
}

export interface YandexTokenizeResponse {
  tokens?: Array<{ id: string; text: string; special: boolean }>;
  modelVersion?: string;
  result?: { tokens?: Array<{ id: string; text: string; special: boolean }> };
}
