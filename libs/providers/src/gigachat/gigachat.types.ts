/**
 * GigaChat v1 wire shapes (docs/provider-protocols.md §2): only the fields the adapter writes or reads.
 * Answers are typed loosely (every field optional) because they come from the network; the mapper checks them.
 */

export type GigaChatRole = 'system' | 'user' | 'assistant' | 'function';

/** A function call as GigaChat writes it: `arguments` is a JSON object, not a string. */
export interface GigaChatFunctionCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface GigaChatMessage {
  role: GigaChatRole;
  /** Always a string on v1; `""` on an assistant message that replays a function call. */
  content: string;
  function_call?: GigaChatFunctionCall;
  /** The function a `role: function` message answers. */
  name?: string;
  /** Echoed on an assistant message that replays a function call: the id GigaChat gave that call's context. */
  functions_state_id?: string;
  /** Ids of files uploaded with `POST /files` (images: see gigachat-files.ts). */
  attachments?: string[];
}

export interface GigaChatFunction {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** `auto`, `none`, or force one function of `functions`. There is no `required`. */
export type GigaChatFunctionChoice = 'auto' | 'none' | { name: string };

export interface GigaChatChatRequest {
  model: string;
  messages: GigaChatMessage[];
  stream?: boolean;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  functions?: GigaChatFunction[];
  function_call?: GigaChatFunctionChoice;
  repetition_penalty?: number;
  update_interval?: number;
  profanity_check?: boolean;
  /** Flat, unlike OpenAI's: `{type: "json_schema", schema, strict}` (recorded `test_chat_response_format_json_schema`). */
  response_format?: GigaChatResponseFormat;
  /** `low` | `medium` | `high` (the SDK's `Chat.reasoning_effort`). */
  reasoning_effort?: GigaChatReasoningEffort;
}

export interface GigaChatResponseFormat {
  type: 'json_schema';
  schema: Record<string, unknown>;
  strict?: boolean;
}

export type GigaChatReasoningEffort = 'low' | 'medium' | 'high';

export type GigaChatFinishReason = 'stop' | 'length' | 'function_call' | 'blacklist' | 'error';

export interface GigaChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  precached_prompt_tokens?: number;
}

/** The function call of an answer; `arguments` is an object (a string is tolerated). */
export interface GigaChatAnswerFunctionCall {
  name?: string;
  arguments?: Record<string, unknown> | string;
}

export interface GigaChatAnswerMessage {
  role?: string;
  content?: string | null;
  function_call?: GigaChatAnswerFunctionCall;
  functions_state_id?: string;
  reasoning_content?: string;
}

export interface GigaChatCompletion {
  choices?: Array<{ index?: number; message?: GigaChatAnswerMessage; finish_reason?: string | null }>;
  /** Unix seconds. */
  created?: number;
  /** The upstream model with its version suffix (`GigaChat-2-Pro:2.0.28.2`). */
  model?: string;
  object?: string;
  usage?: GigaChatUsage;
}

/** One `data:` event of a stream: `delta` is appended; the penultimate event has `finish_reason` and `usage`. */
export interface GigaChatStreamEvent {
  choices?: Array<{ index?: number; delta?: GigaChatAnswerMessage; finish_reason?: string | null }>;
  created?: number;
  model?: string;
  object?: string;
  usage?: GigaChatUsage;
}

export interface GigaChatEmbeddingRequest {
  model: string;
  input: string[];
}

export interface GigaChatEmbeddingResponse {
  object?: string;
  model?: string;
  /** Usage is per item; there is no top-level usage. */
  data?: Array<{ object?: string; index?: number; embedding?: number[]; usage?: { prompt_tokens?: number } }>;
}

export interface GigaChatModelList {
  object?: string;
  data?: Array<{ id?: string; object?: string; owned_by?: string; type?: string }>;
}

/** The OAuth answer: `expires_at` in Unix MILLISECONDS; the legacy `/token` flow answers `tok` / `exp` (seconds). */
export interface GigaChatTokenResponse {
  access_token?: string;
  expires_at?: number;
  tok?: string;
  exp?: number;
}
