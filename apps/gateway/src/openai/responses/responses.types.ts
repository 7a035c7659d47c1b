/**
 * The part of OpenAI's Responses API wire shapes the gateway speaks (`POST /v1/responses` and its events), as the
 * official SDK's `resources/responses/responses.d.ts` defines them. Requests are read loosely (`unknown`) and checked
 * field by field by the mapping, which names the field at fault.
 */

/** `POST /v1/responses` as the client sent it (after the DTO's checks of the top-level scalars). */
export interface ResponseCreateRequest {
  model: string;
  input: string | unknown[];
  instructions?: string | null;
  previous_response_id?: string | null;
  stream?: boolean | null;
  store?: boolean | null;
  tools?: unknown[] | null;
  tool_choice?: unknown;
  parallel_tool_calls?: boolean | null;
  text?: Record<string, unknown> | null;
  reasoning?: Record<string, unknown> | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  metadata?: Record<string, unknown> | null;
  user?: string | null;
  safety_identifier?: string | null;
  [extra: string]: unknown;
}

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}

export interface InputText {
  type: 'input_text';
  text: string;
}

export interface InputImage {
  type: 'input_image';
  image_url: string;
  detail: 'low' | 'high' | 'auto';
}

/** A message of the conversation: the client's input, or the model's output (`output_text` parts). */
export interface MessageItem {
  type: 'message';
  id: string;
  role: 'user' | 'assistant' | 'system' | 'developer';
  status: 'in_progress' | 'completed' | 'incomplete';
  content: Array<InputText | InputImage | OutputText>;
}

export interface FunctionCallItem {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

export interface FunctionCallOutputItem {
  type: 'function_call_output';
  id: string;
  call_id: string;
  output: string;
  status: 'completed';
}

/** An item of a conversation, input or output, as stored and listed (`GET /v1/responses/{id}/input_items`). */
export type ConversationItem = MessageItem | FunctionCallItem | FunctionCallOutputItem;

/** What the model answered: its messages and function calls. */
export type OutputItem = MessageItem | FunctionCallItem;

export interface FunctionTool {
  type: 'function';
  name: string;
  description: string | null;
  parameters: Record<string, unknown> | null;
  strict: boolean | null;
}

export type TextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      schema: Record<string, unknown>;
      description?: string;
      strict: boolean | null;
    };

export type ResponseToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; name: string };

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** The `response` object (OpenAI's `Response`), as answered, streamed in lifecycle events and stored. */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  background: false;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: null };
  store: boolean;
  temperature: number | null;
  text: { format: TextFormat };
  tool_choice: ResponseToolChoice;
  tools: FunctionTool[];
  top_p: number | null;
  truncation: 'disabled';
  usage: ResponseUsage | null;
  user: string | null;
  safety_identifier: string | null;
  metadata: Record<string, string>;
}

/** One streamed event; `sequence_number` is added by the stream in the order the events are sent. */
export type ResponseStreamEvent = { type: string; sequence_number: number } & Record<string, unknown>;
