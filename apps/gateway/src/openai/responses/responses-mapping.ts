/**
 * OpenAI Responses ⇄ chat completions, as pure functions of their arguments: a Responses request becomes the chat
 * request every provider adapter already speaks, and the chat answer (whole, or chunk by chunk) becomes the Responses
 * object and its event sequence.
 *
 * Decisions worth knowing:
 * - A field the gateway cannot honour is refused by name (400, `param` set), never dropped: hosted tools, `include`,
 *   `background`, `truncation: "auto"`, reasoning summaries, file inputs, any field it does not know. Fields sent at
 *   their default value (`background: false`, `include: []`, `truncation: "disabled"`) and `null` read as absent.
 * - `instructions` become the first (system) message; they apply to this request only and are not carried over by
 *   `previous_response_id` (OpenAI's rule).
 * - Consecutive `function_call` items become the `tool_calls` of one assistant message (joined to the assistant
 *   message just before them, if any); a `function_call_output` becomes a `tool` message.
 * - `max_output_tokens` → `max_completion_tokens`; `reasoning.effort` → `reasoning_effort`; `text.format` →
 *   `response_format` (`json_schema` with its name, schema and strict flag); `metadata` is kept, never sent upstream.
 * - finish_reason `length` / `content_filter` → status `incomplete` with `incomplete_details.reason`
 *   `max_output_tokens` / `content_filter`. Reasoning text a provider returns is not part of the output.
 */
import { randomBytes } from 'node:crypto';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatContentPart,
  ChatMessage,
  ErrorCode,
  FinishReason,
  GatewayError,
  withErrorParam,
  toGatewayError,
  ToolCall,
  ToolChoice,
  Usage,
} from '@xrouter/common';
import type {
  ConversationItem,
  FunctionCallItem,
  FunctionTool,
  InputImage,
  InputText,
  MessageItem,
  OutputItem,
  OutputText,
  ResponseCreateRequest,
  ResponseObject,
  ResponseStreamEvent,
  ResponseToolChoice,
  ResponseUsage,
  TextFormat,
} from './responses.types';

/** Makes the id of a response (`resp`), a message (`msg`), a function call (`fc`) or a tool output (`fco`). */
export type IdMaker = (prefix: 'resp' | 'msg' | 'fc' | 'fco') => string;

/**
 * Chat request fields by the name a Responses request gives them, for errors raised after the mapping (capability
 * rules, adapters): the client must be told about the field it sent. Longest prefix first.
 */
const RESPONSES_FIELDS: ReadonlyArray<[chat: string, responses: string]> = [
  ['response_format.json_schema', 'text.format'],
  ['response_format', 'text.format'],
  ['max_completion_tokens', 'max_output_tokens'],
  ['max_tokens', 'max_output_tokens'],
  ['reasoning_effort', 'reasoning.effort'],
];

/** An error about a field of the chat request, naming instead the field of the Responses request it came from. */
export function asResponsesError(error: unknown): Error {
  if (!(error instanceof GatewayError)) return error instanceof Error ? error : new Error(String(error));
  if (error.param === null) return error;
  const chat = error.param;
  if (/^messages\[/.test(chat)) return withErrorParam(error, 'input', error.message.replaceAll(chat, 'input'));
  for (const [from, to] of RESPONSES_FIELDS) {
    if (chat === from || chat.startsWith(`${from}.`)) {
      const param = to + chat.slice(from.length);
      return withErrorParam(error, param, error.message.replaceAll(chat, param));
    }
  }
  return error;
}

/** Ids carry their creation time (12 hex digits of epoch milliseconds) before 36 random hex digits. */
export const newId: IdMaker = (prefix) =>
  `${prefix}_${Date.now().toString(16).padStart(12, '0')}${randomBytes(18).toString('hex')}`;

/** When an id made by {@link newId} was made (epoch ms), or null for an id of another shape. */
export function idCreatedAt(id: string): number | null {
  const match = /^[a-z]+_([0-9a-f]{12})[0-9a-f]{36}$/.exec(id);
  return match ? parseInt(match[1], 16) : null;
}

/** What the request asks of the model, ready to echo in the response object and to send upstream. */
export interface ResponseSettings {
  model: string;
  instructions: string | null;
  tools: FunctionTool[];
  tool_choice: ResponseToolChoice;
  parallel_tool_calls: boolean | null;
  text: { format: TextFormat };
  reasoning: { effort: string | null; summary: null };
  max_output_tokens: number | null;
  temperature: number | null;
  top_p: number | null;
  metadata: Record<string, string>;
  user: string | null;
  safety_identifier: string | null;
  store: boolean;
  previous_response_id: string | null;
}

export interface ParsedResponseRequest {
  settings: ResponseSettings;
  /** This request's input items, each with an id (a client's own id is kept). */
  input: ConversationItem[];
}

const HANDLED = new Set([
  'model',
  'input',
  'instructions',
  'previous_response_id',
  'stream',
  'store',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'text',
  'reasoning',
  'max_output_tokens',
  'temperature',
  'top_p',
  'metadata',
  'user',
  'safety_identifier',
]);

/** Fields accepted at the value that means "off": anything else asks for what the gateway does not do. */
const DEFAULT_ONLY: Record<string, (value: unknown) => boolean> = {
  background: (v) => v === false,
  include: (v) => Array.isArray(v) && v.length === 0,
  truncation: (v) => v === 'disabled',
  service_tier: (v) => v === 'auto' || v === 'default',
  top_logprobs: (v) => v === 0,
};

function refuse(param: string, message: string): never {
  throw new GatewayError(ErrorCode.BAD_REQUEST, message, { param });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function present<T>(value: T | null | undefined): value is T {
  return value !== null && value !== undefined;
}

function stringAt(value: unknown, param: string): string {
  if (typeof value !== 'string') refuse(param, `Invalid '${param}': expected a string.`);
  return value;
}

/** Checks and normalises a Responses request; throws a 400 naming the first field it cannot honour. */
export function parseResponseRequest(body: ResponseCreateRequest, ids: IdMaker = newId): ParsedResponseRequest {
  for (const [field, value] of Object.entries(body)) {
    if (HANDLED.has(field) || !present(value)) continue;
    if (DEFAULT_ONLY[field]?.(value)) continue;
    refuse(field, `The '${field}' parameter is not supported by this gateway.`);
  }
  const tools = parseTools(body.tools);
  return {
    settings: {
      model: body.model,
      instructions: body.instructions ?? null,
      tools,
      tool_choice: parseToolChoice(body.tool_choice, tools),
      parallel_tool_calls: body.parallel_tool_calls ?? null,
      text: { format: parseText(body.text) },
      reasoning: { effort: parseReasoning(body.reasoning), summary: null },
      max_output_tokens: body.max_output_tokens ?? null,
      temperature: body.temperature ?? null,
      top_p: body.top_p ?? null,
      metadata: parseMetadata(body.metadata),
      user: body.user ?? null,
      safety_identifier: body.safety_identifier ?? null,
      store: body.store ?? true,
      previous_response_id: body.previous_response_id ?? null,
    },
    input: parseInput(body.input, ids),
  };
}

function parseTools(tools: unknown[] | null | undefined): FunctionTool[] {
  return (tools ?? []).map((tool, i) => {
    const param = `tools[${i}]`;
    if (!isRecord(tool)) refuse(param, `Invalid '${param}': expected an object.`);
    if (tool.type !== 'function') {
      refuse(`${param}.type`, `Tools of type '${String(tool.type)}' are not supported: only function tools are.`);
    }
    const name = stringAt(tool.name, `${param}.name`);
    if (name === '') refuse(`${param}.name`, `Invalid '${param}.name': empty string.`);
    if (present(tool.parameters) && !isRecord(tool.parameters)) {
      refuse(`${param}.parameters`, `Invalid '${param}.parameters': expected a JSON schema object.`);
    }
    return {
      type: 'function',
      name,
      description: present(tool.description) ? stringAt(tool.description, `${param}.description`) : null,
      parameters: present(tool.parameters) ? tool.parameters : null,
      strict: typeof tool.strict === 'boolean' ? tool.strict : null,
    };
  });
}

function parseToolChoice(choice: unknown, tools: FunctionTool[]): ResponseToolChoice {
  if (!present(choice)) return 'auto';
  if (choice === 'none' || choice === 'auto' || choice === 'required') return choice;
  if (isRecord(choice) && choice.type === 'function' && typeof choice.name === 'string') {
    if (!tools.some((t) => t.name === choice.name)) {
      refuse('tool_choice.name', `Tool choice '${choice.name}' is not one of the tools.`);
    }
    return { type: 'function', name: choice.name };
  }
  return refuse(
    'tool_choice',
    `Invalid 'tool_choice': only 'none', 'auto', 'required' or {"type": "function", "name": …} are supported.`,
  );
}

function parseText(text: Record<string, unknown> | null | undefined): TextFormat {
  if (!present(text)) return { type: 'text' };
  if (!isRecord(text)) refuse('text', `Invalid 'text': expected an object.`);
  for (const [field, value] of Object.entries(text)) {
    if (field === 'format' || !present(value) || (field === 'verbosity' && value === 'medium')) continue;
    refuse(`text.${field}`, `The 'text.${field}' parameter is not supported by this gateway.`);
  }
  const format = text.format;
  if (!present(format)) return { type: 'text' };
  if (!isRecord(format)) refuse('text.format', `Invalid 'text.format': expected an object.`);
  switch (format.type) {
    case 'text':
    case 'json_object':
      return { type: format.type };
    case 'json_schema': {
      const name = stringAt(format.name, 'text.format.name');
      if (!isRecord(format.schema)) refuse('text.format.schema', `Invalid 'text.format.schema': expected an object.`);
      return {
        type: 'json_schema',
        name,
        schema: format.schema,
        ...(typeof format.description === 'string' ? { description: format.description } : {}),
        strict: typeof format.strict === 'boolean' ? format.strict : null,
      };
    }
    default:
      return refuse('text.format.type', `Text format '${String(format.type)}' is not supported.`);
  }
}

function parseReasoning(reasoning: Record<string, unknown> | null | undefined): string | null {
  if (!present(reasoning)) return null;
  if (!isRecord(reasoning)) refuse('reasoning', `Invalid 'reasoning': expected an object.`);
  for (const [field, value] of Object.entries(reasoning)) {
    if (field === 'effort' || !present(value)) continue;
    refuse(`reasoning.${field}`, `The 'reasoning.${field}' parameter is not supported by this gateway.`);
  }
  return present(reasoning.effort) ? stringAt(reasoning.effort, 'reasoning.effort') : null;
}

/** OpenAI's limits: at most 16 pairs, keys up to 64 characters, string values up to 512. */
function parseMetadata(metadata: Record<string, unknown> | null | undefined): Record<string, string> {
  if (!present(metadata)) return {};
  if (!isRecord(metadata)) refuse('metadata', `Invalid 'metadata': expected an object.`);
  const entries = Object.entries(metadata);
  if (entries.length > 16) refuse('metadata', `Invalid 'metadata': at most 16 keys.`);
  for (const [key, value] of entries) {
    if (key.length > 64) refuse('metadata', `Invalid 'metadata': key '${key.slice(0, 64)}…' is over 64 characters.`);
    if (typeof value !== 'string' || value.length > 512) {
      refuse(`metadata.${key}`, `Invalid 'metadata.${key}': expected a string of at most 512 characters.`);
    }
  }
  return metadata as Record<string, string>;
}

const INPUT_ROLES = ['user', 'assistant', 'system', 'developer'] as const;

function parseInput(input: string | unknown[], ids: IdMaker): ConversationItem[] {
  if (typeof input === 'string') {
    return [
      {
        type: 'message',
        id: ids('msg'),
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: input }],
      },
    ];
  }
  return input.map((item, i) => parseItem(item, `input[${i}]`, ids));
}

function idOf(item: Record<string, unknown>, prefix: Parameters<IdMaker>[0], ids: IdMaker): string {
  return typeof item.id === 'string' && item.id !== '' ? item.id : ids(prefix);
}

function parseItem(item: unknown, param: string, ids: IdMaker): ConversationItem {
  if (!isRecord(item)) refuse(param, `Invalid '${param}': expected an object.`);
  const type = item.type ?? 'message';
  switch (type) {
    case 'message': {
      const role = item.role as (typeof INPUT_ROLES)[number];
      if (!INPUT_ROLES.includes(role)) {
        refuse(`${param}.role`, `Invalid '${param}.role': expected one of ${INPUT_ROLES.join(', ')}.`);
      }
      return {
        type: 'message',
        id: idOf(item, 'msg', ids),
        role,
        status: 'completed',
        content: parseContent(item.content, role, `${param}.content`),
      };
    }
    case 'function_call':
      return {
        type: 'function_call',
        id: idOf(item, 'fc', ids),
        call_id: stringAt(item.call_id, `${param}.call_id`),
        name: stringAt(item.name, `${param}.name`),
        arguments: stringAt(item.arguments, `${param}.arguments`),
        status: 'completed',
      };
    case 'function_call_output':
      return {
        type: 'function_call_output',
        id: idOf(item, 'fco', ids),
        call_id: stringAt(item.call_id, `${param}.call_id`),
        output: toolOutputText(item.output, `${param}.output`),
        status: 'completed',
      };
    default:
      return refuse(
        `${param}.type`,
        `Input items of type '${typeof type === 'string' ? type : JSON.stringify(type)}' are not supported.`,
      );
  }
}

function toolOutputText(output: unknown, param: string): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) {
    return output
      .map((part, j) => {
        if (isRecord(part) && part.type === 'input_text') return stringAt(part.text, `${param}[${j}].text`);
        return refuse(`${param}[${j}]`, `Tool outputs may hold only input_text parts.`);
      })
      .join('');
  }
  return refuse(param, `Invalid '${param}': expected a string or an array of input_text parts.`);
}

function parseContent(content: unknown, role: MessageItem['role'], param: string): MessageItem['content'] {
  const textType = role === 'assistant' ? 'output_text' : 'input_text';
  const text = (value: string): InputText | OutputText =>
    textType === 'output_text'
      ? { type: 'output_text', text: value, annotations: [], logprobs: [] }
      : { type: 'input_text', text: value };
  if (typeof content === 'string') return [text(content)];
  if (!Array.isArray(content)) refuse(param, `Invalid '${param}': expected a string or an array of parts.`);
  return content.map((part, j): InputText | InputImage | OutputText => {
    const at = `${param}[${j}]`;
    if (!isRecord(part)) refuse(at, `Invalid '${at}': expected an object.`);
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        return text(stringAt(part.text, `${at}.text`));
      case 'refusal':
        return text(stringAt(part.refusal, `${at}.refusal`));
      case 'input_image': {
        if (role === 'assistant') refuse(`${at}.type`, `An assistant message cannot hold images.`);
        if (present(part.file_id)) refuse(`${at}.file_id`, `Images by file_id are not supported: send image_url.`);
        const detail = part.detail ?? 'auto';
        if (detail !== 'low' && detail !== 'high' && detail !== 'auto') {
          refuse(`${at}.detail`, `Invalid '${at}.detail': expected low, high or auto.`);
        }
        return { type: 'input_image', image_url: stringAt(part.image_url, `${at}.image_url`), detail };
      }
      default:
        return refuse(`${at}.type`, `Content parts of type '${String(part.type)}' are not supported.`);
    }
  });
}

function chatToolChoice(choice: ResponseToolChoice): ToolChoice {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function chatResponseFormat(format: TextFormat): ChatCompletionRequest['response_format'] {
  switch (format.type) {
    case 'text':
      return undefined;
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const { name, schema, description, strict } = format;
      return {
        type: 'json_schema',
        json_schema: { name, schema, ...(description ? { description } : {}), ...(strict === null ? {} : { strict }) },
      };
    }
  }
}

function chatContent(item: MessageItem): string | ChatContentPart[] {
  const parts = item.content;
  if (parts.every((p) => p.type !== 'input_image')) return parts.map((p) => (p as InputText).text).join('');
  return parts.map((p) =>
    p.type === 'input_image'
      ? { type: 'image_url', image_url: { url: p.image_url, detail: p.detail } }
      : { type: 'text', text: p.text },
  );
}

/** The conversation as chat messages: `instructions` first, then the items in order. */
export function toChatMessages(instructions: string | null, items: readonly ConversationItem[]): ChatMessage[] {
  const messages: ChatMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  for (const item of items) {
    switch (item.type) {
      case 'message':
        messages.push({ role: item.role, content: chatContent(item) });
        break;
      case 'function_call': {
        const call: ToolCall = {
          id: item.call_id,
          type: 'function',
          function: { name: item.name, arguments: item.arguments },
        };
        const last = messages.at(-1);
        if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call];
        else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
        break;
      }
      case 'function_call_output':
        messages.push({ role: 'tool', tool_call_id: item.call_id, content: item.output });
        break;
    }
  }
  return messages;
}

/** The chat request for a Responses request, after `history` (what earlier responses of the chain said). */
export function toChatRequest(
  parsed: ParsedResponseRequest,
  history: readonly ConversationItem[] = [],
): ChatCompletionRequest {
  const s = parsed.settings;
  const request: ChatCompletionRequest = {
    model: s.model,
    messages: toChatMessages(s.instructions, [...history, ...parsed.input]),
  };
  if (s.tools.length > 0) {
    request.tools = s.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description === null ? {} : { description: t.description }),
        ...(t.parameters === null ? {} : { parameters: t.parameters }),
        ...(t.strict === null ? {} : { strict: t.strict }),
      },
    }));
    request.tool_choice = chatToolChoice(s.tool_choice);
    if (s.parallel_tool_calls !== null) request.parallel_tool_calls = s.parallel_tool_calls;
  } else if (s.tool_choice !== 'auto' && s.tool_choice !== 'none') {
    refuse('tool_choice', `tool_choice '${JSON.stringify(s.tool_choice)}' needs tools.`);
  }
  const format = chatResponseFormat(s.text.format);
  if (format) request.response_format = format;
  if (s.max_output_tokens !== null) request.max_completion_tokens = s.max_output_tokens;
  if (s.temperature !== null) request.temperature = s.temperature;
  if (s.top_p !== null) request.top_p = s.top_p;
  if (s.reasoning.effort !== null) request.reasoning_effort = s.reasoning.effort;
  if (s.user !== null) request.user = s.user;
  if (s.safety_identifier !== null) request.safety_identifier = s.safety_identifier;
  return request;
}

/** The response object before any output: what `response.created` carries, and the base of the final one. */
export function responseShell(settings: ResponseSettings, id: string, createdAt: number): ResponseObject {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: settings.instructions,
    max_output_tokens: settings.max_output_tokens,
    model: settings.model,
    output: [],
    parallel_tool_calls: settings.parallel_tool_calls ?? true,
    previous_response_id: settings.previous_response_id,
    reasoning: settings.reasoning,
    store: settings.store,
    temperature: settings.temperature,
    text: settings.text,
    tool_choice: settings.tool_choice,
    tools: settings.tools,
    top_p: settings.top_p,
    truncation: 'disabled',
    usage: null,
    user: settings.user,
    safety_identifier: settings.safety_identifier,
    metadata: settings.metadata,
  };
}

export function toResponseUsage(usage: Usage | null | undefined): ResponseUsage | null {
  if (!usage) return null;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
  };
}

function incompleteReason(finish: FinishReason | null): ResponseObject['incomplete_details'] {
  if (finish === 'length') return { reason: 'max_output_tokens' };
  if (finish === 'content_filter') return { reason: 'content_filter' };
  return null;
}

/** The shell finished: its output, status and usage. */
function finished(
  shell: ResponseObject,
  output: OutputItem[],
  finish: FinishReason | null,
  usage: Usage | null | undefined,
): ResponseObject {
  const incomplete = incompleteReason(finish);
  return {
    ...shell,
    status: incomplete ? 'incomplete' : 'completed',
    incomplete_details: incomplete,
    output,
    usage: toResponseUsage(usage),
  };
}

function outputText(text: string): OutputText {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** The response object for a whole chat completion. */
export function fromChatCompletion(
  shell: ResponseObject,
  completion: ChatCompletion,
  ids: IdMaker = newId,
): ResponseObject {
  const choice = completion.choices[0];
  const finish = choice?.finish_reason ?? null;
  const calls = choice?.message.tool_calls ?? [];
  const content = choice?.message.content ?? null;
  const output: OutputItem[] = [];
  if (content !== null && (content !== '' || calls.length === 0)) {
    output.push({
      type: 'message',
      id: ids('msg'),
      role: 'assistant',
      status: incompleteReason(finish) ? 'incomplete' : 'completed',
      content: [outputText(content)],
    });
  }
  for (const call of calls) {
    output.push({
      type: 'function_call',
      id: ids('fc'),
      call_id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
      status: 'completed',
    });
  }
  return finished(shell, output, finish, completion.usage);
}

type EventBody = { type: string } & Record<string, unknown>;

/**
 * Turns chat chunks into the Responses event sequence, one chunk at a time: `response.created` and
 * `response.in_progress` first; a message item (`output_item.added`, `content_part.added`, `output_text.delta`…)
 * for text; a `function_call` item (`output_item.added`, `function_call_arguments.delta`…) per tool call; each item
 * closed with its `.done` events; then `response.completed` or `response.incomplete` — or, when the upstream
 * failed, `response.failed` with the error (never a completion).
 */
export class ResponseEventBuilder {
  private sequence = 0;
  private readonly output: OutputItem[] = [];
  private message: { item: MessageItem; index: number; text: string } | null = null;
  /** Open function calls by their chat tool-call index. */
  private readonly calls = new Map<number, { item: FunctionCallItem; index: number }>();
  private finishReason: FinishReason | null = null;
  private usage: Usage | null = null;
  private final: ResponseObject | null = null;

  constructor(
    private readonly shell: ResponseObject,
    private readonly ids: IdMaker = newId,
  ) {}

  /** The final response object, once `finish()` or `fail()` produced it. */
  get result(): ResponseObject | null {
    return this.final;
  }

  start(): ResponseStreamEvent[] {
    return [
      this.event({ type: 'response.created', response: this.snapshot() }),
      this.event({ type: 'response.in_progress', response: this.snapshot() }),
    ];
  }

  chunk(chunk: ChatCompletionChunk): ResponseStreamEvent[] {
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) return [];
    const events: ResponseStreamEvent[] = [];
    const { content, tool_calls: toolCalls } = choice.delta;
    if (content) events.push(...this.text(content));
    for (const call of toolCalls ?? []) events.push(...this.toolCall(call));
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return events;
  }

  finish(): ResponseStreamEvent[] {
    const events = this.closeMessage();
    for (const { item, index } of [...this.calls.values()].sort((a, b) => a.index - b.index)) {
      item.status = 'completed';
      events.push(
        this.event({
          type: 'response.function_call_arguments.done',
          item_id: item.id,
          output_index: index,
          name: item.name,
          arguments: item.arguments,
        }),
        this.event({ type: 'response.output_item.done', output_index: index, item: { ...item } }),
      );
    }
    this.calls.clear();
    this.final = finished(this.shell, [...this.output], this.finishReason, this.usage);
    const type = this.final.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    events.push(this.event({ type, response: this.final }));
    return events;
  }

  fail(error: unknown): ResponseStreamEvent[] {
    const failure = toGatewayError(error);
    this.final = {
      ...this.shell,
      status: 'failed',
      error: { code: failure.code, message: failure.message },
      output: [...this.output],
      usage: toResponseUsage(this.usage),
    };
    return [this.event({ type: 'response.failed', response: this.final })];
  }

  private snapshot(): ResponseObject {
    return { ...this.shell, output: [] };
  }

  private event(body: EventBody): ResponseStreamEvent {
    return { ...body, sequence_number: this.sequence++ };
  }

  private text(delta: string): ResponseStreamEvent[] {
    const events: ResponseStreamEvent[] = [];
    if (!this.message) {
      const item: MessageItem = {
        type: 'message',
        id: this.ids('msg'),
        role: 'assistant',
        status: 'in_progress',
        content: [],
      };
      this.message = { item, index: this.output.length, text: '' };
      this.output.push(item);
      events.push(
        this.event({ type: 'response.output_item.added', output_index: this.message.index, item: { ...item } }),
        this.event({
          type: 'response.content_part.added',
          item_id: item.id,
          output_index: this.message.index,
          content_index: 0,
          part: outputText(''),
        }),
      );
    }
    this.message.text += delta;
    events.push(
      this.event({
        type: 'response.output_text.delta',
        item_id: this.message.item.id,
        output_index: this.message.index,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
    return events;
  }

  private closeMessage(): ResponseStreamEvent[] {
    const open = this.message;
    if (!open) return [];
    this.message = null;
    const part = outputText(open.text);
    open.item.content = [part];
    open.item.status = incompleteReason(this.finishReason) ? 'incomplete' : 'completed';
    const at = { item_id: open.item.id, output_index: open.index, content_index: 0 };
    return [
      this.event({ type: 'response.output_text.done', ...at, text: open.text, logprobs: [] }),
      this.event({ type: 'response.content_part.done', ...at, part }),
      this.event({ type: 'response.output_item.done', output_index: open.index, item: { ...open.item } }),
    ];
  }

  private toolCall(delta: NonNullable<ChatCompletionChunk['choices'][number]['delta']['tool_calls']>[number]) {
    const events: ResponseStreamEvent[] = [];
    let open = this.calls.get(delta.index);
    if (!open) {
      // Text comes before the calls: a call closes the message.
      events.push(...this.closeMessage());
      const item: FunctionCallItem = {
        type: 'function_call',
        id: this.ids('fc'),
        call_id: delta.id ?? this.ids('fc').replace(/^fc_/, 'call_'),
        name: delta.function?.name ?? '',
        arguments: '',
        status: 'in_progress',
      };
      open = { item, index: this.output.length };
      this.calls.set(delta.index, open);
      this.output.push(item);
      events.push(this.event({ type: 'response.output_item.added', output_index: open.index, item: { ...item } }));
    } else if (delta.function?.name) {
      open.item.name += delta.function.name;
    }
    const args = delta.function?.arguments;
    if (args) {
      open.item.arguments += args;
      events.push(
        this.event({
          type: 'response.function_call_arguments.delta',
          item_id: open.item.id,
          output_index: open.index,
          delta: args,
        }),
      );
    }
    return events;
  }
}

/** The Responses events of a chat stream; `builder.result` holds the final response once the events are through. */
export async function* responseEvents(
  builder: ResponseEventBuilder,
  chunks: AsyncIterable<ChatCompletionChunk>,
): AsyncGenerator<ResponseStreamEvent> {
  yield* builder.start();
  try {
    for await (const chunk of chunks) yield* builder.chunk(chunk);
  } catch (error) {
    yield* builder.fail(error);
    return;
  }
  yield* builder.finish();
}
