/**
 * The OpenAI wire shapes the gateway speaks to its clients, and that every provider adapter maps to and from.
 * Only what the gateway reads or writes is typed; unknown request fields pass through `extra` untouched.
 */

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface ChatContentPart {
  type: string;
  text?: string;
  [key: string]: unknown;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: ChatRole;
  content: string | ChatContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  n?: number;
  stop?: string | string[];
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  user?: string;
  tools?: ToolDefinition[];
  /** null reads as absent (JSON clients send it for "not set"). */
  tool_choice?: ToolChoice | null;
  parallel_tool_calls?: boolean;
  response_format?: { type: string; json_schema?: Record<string, unknown> } | null;
  reasoning_effort?: string;
  [extra: string]: unknown;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
  /** XRouter's addition, on the usage chunk of a stream: what the request cost in RUB, as an exact decimal string. */
  cost_rub?: string;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[]; reasoning_content?: string };
    finish_reason: FinishReason | null;
    logprobs?: null;
  }>;
  usage?: Usage;
  system_fingerprint?: string | null;
}

export interface ChatCompletionChunkToolCall {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: {
      role?: 'assistant';
      content?: string | null;
      tool_calls?: ChatCompletionChunkToolCall[];
      reasoning_content?: string;
    };
    finish_reason: FinishReason | null;
    logprobs?: null;
  }>;
  usage?: Usage | null;
}

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /**
   * XRouter's addition: what a request to this model may use (`tools`, `images`, `logprobs`, …; `dimensions` for
   * embeddings). A feature set to false is refused with a 400 naming the field, unless the model drops it.
   */
  capabilities?: Record<string, boolean>;
}

export interface ModelList {
  object: 'list';
  data: ModelObject[];
}

export interface EmbeddingRequest {
  model: string;
  input: string | string[];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

export interface EmbeddingResponse {
  object: 'list';
  /** Floats, or (when the client asked for `encoding_format: "base64"`) little-endian float32 bytes in base64. */
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** `finish_reason` of the legacy completions API: tool calls do not exist there. */
export type TextFinishReason = 'stop' | 'length' | 'content_filter';

/** One choice of a legacy text completion (`logprobs` are never produced: a request for them is refused). */
export interface TextCompletionChoice {
  text: string;
  index: number;
  logprobs: null;
  finish_reason: TextFinishReason | null;
}

/** `POST /v1/completions` (legacy), and each chunk of its stream: OpenAI uses the same object for both. */
export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: TextCompletionChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
}
