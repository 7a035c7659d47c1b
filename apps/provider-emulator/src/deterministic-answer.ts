/**
 * Deterministic answers of every emulated provider. Downstream tests assert these exact values.
 *
 * - Visible text: the last user message with every `[[fault:…]]` directive removed, then trimmed.
 * - `countTokens(s)` = the number of whitespace-separated words of `s`, at least 1.
 * - Text answer (`answerText(text)`): "Echo:", the visible text and, when the visible text has fewer than 8 words,
 *   ANSWER_PADDING, joined by single spaces (empty parts skipped). `answerText('hi')` =
 *   "Echo: hi The provider emulator answers deterministically."
 * - After a tool/function result the answer is `answerText(result, 'Tool result:')`: the same rule with the prefix
 *   "Tool result:" and the tool result content (several results joined by "\n").
 * - Tool call (when the request offers tools and the last message is the user's): the first tool (or the one forced
 *   by tool_choice / function_call / toolChoice), arguments from `toolArguments`: for each property of the tool's JSON
 *   schema, in order: string → the visible text (or the first `enum` value), number/integer → countTokens(text),
 *   boolean → true, array → [], object → {}, anything else → the visible text.
 * - Usage: prompt tokens = countTokens(all message texts joined by " "); completion tokens = countTokens(answer), or
 *   countTokens(`${name} ${JSON.stringify(arguments)}`) for a tool call; total = prompt + completion.
 * - max_tokens / maxTokens = m below the completion tokens: the answer is cut to its first m words (joined by " ")
 *   and the finish reason is `length` (Yandex: ALTERNATIVE_STATUS_TRUNCATED_FINAL).
 * - Streams split the answer into `min(EMULATOR_CHUNKS, length)` pieces of near-equal length in code points
 *   (`splitIntoChunks`); their concatenation is the answer.
 * - Embeddings (`embeddingVector(text, 16)`): SHA-256 of the text (then of `text#1`, `text#2`, … when more bytes are
 *   needed), two bytes per dimension, big-endian u16 mapped to [-1, 1] and rounded to 6 decimals.
 * - T-Bank thinking: THINK_BLOCK is put before the answer in `content`.
 */
import { createHash } from 'node:crypto';
import { isRecord } from './emulator-http';
import { instanceOf } from './schema-instance';

export const ANSWER_PADDING = 'The provider emulator answers deterministically.';
export const SHORT_TEXT_WORDS = 8;
export const EMBEDDING_DIMENSIONS = 16;
export const THINK_BLOCK = '<think>\nThe emulator thinks before it echoes.\n</think>\n\n';

const WORDS = /\S+/g;

export function countWords(text: string): number {
  return text.match(WORDS)?.length ?? 0;
}

export function countTokens(text: string): number {
  return Math.max(1, countWords(text));
}

export function answerText(visibleText: string, prefix = 'Echo:'): string {
  const text = visibleText.trim();
  const parts = [prefix];
  if (text !== '') parts.push(text);
  if (countWords(text) < SHORT_TEXT_WORDS) parts.push(ANSWER_PADDING);
  return parts.join(' ');
}

/** Cuts `text` to its first `maxTokens` words when it is longer; `truncated` says whether it was cut. */
export function limitTokens(text: string, maxTokens: number | undefined): { text: string; truncated: boolean } {
  if (maxTokens === undefined || maxTokens <= 0 || countWords(text) <= maxTokens) return { text, truncated: false };
  return { text: (text.match(WORDS) ?? []).slice(0, maxTokens).join(' '), truncated: true };
}

export function splitIntoChunks(text: string, chunks: number): string[] {
  const points = Array.from(text);
  const count = Math.max(1, Math.min(chunks, points.length));
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) {
    pieces.push(
      points.slice(Math.floor((i * points.length) / count), Math.floor(((i + 1) * points.length) / count)).join(''),
    );
  }
  return pieces;
}

export function toolArguments(parameters: unknown, visibleText: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const properties = isRecord(parameters) && isRecord(parameters.properties) ? parameters.properties : {};
  for (const [name, schema] of Object.entries(properties)) {
    const type = isRecord(schema) ? schema.type : undefined;
    const enumValues = isRecord(schema) && Array.isArray(schema.enum) ? (schema.enum as unknown[]) : [];
    if (enumValues.length > 0) args[name] = enumValues[0];
    else if (type === 'number' || type === 'integer') args[name] = countTokens(visibleText);
    else if (type === 'boolean') args[name] = true;
    else if (type === 'array') args[name] = [];
    else if (type === 'object') args[name] = {};
    else args[name] = visibleText;
  }
  return args;
}

export function toolCallTokens(name: string, args: Record<string, unknown>): number {
  return countTokens(`${name} ${JSON.stringify(args)}`);
}

export interface ToolSpec {
  name: string;
  parameters: unknown;
}

export interface ReplyInput {
  /** The visible text of the last user message. */
  userText: string;
  /** Set when the last message is a tool/function result: its content. */
  toolResult?: string;
  tools: ToolSpec[];
  /** `none` forbids a call; `{ name }` forces that tool (the caller checks it exists). */
  toolChoice: 'auto' | 'none' | { name: string };
  maxTokens?: number;
  /** T-Bank: put THINK_BLOCK before the text. */
  think?: boolean;
  /**
   * Structured output asked for, in whichever field the provider's wire has it: the text answer is then JSON, an
   * instance of the schema (schema-instance.ts), or `{"output": <the visible text>}` for a bare JSON object (as the
   * recorded YandexGPT answered); `indent` as the provider formats it.
   */
  structured?: { schema: unknown; indent?: number } | { object: true; indent?: number };
}

/** OpenAI's `response_format` as a structured-output request (undefined for text), for the OpenAI-wire emulators. */
export function openAiStructured(format: unknown): ReplyInput['structured'] {
  if (!isRecord(format)) return undefined;
  if (format.type === 'json_object') return { object: true };
  if (format.type === 'json_schema' && isRecord(format.json_schema)) return { schema: format.json_schema.schema };
  return undefined;
}

export type Reply =
  | { kind: 'text'; text: string; truncated: boolean; completionTokens: number }
  | { kind: 'tool'; name: string; args: Record<string, unknown>; completionTokens: number };

/** The deterministic reply to a chat turn (see the header for the rules). */
export function decideReply(input: ReplyInput): Reply {
  const { toolChoice, tools } = input;
  if (input.toolResult === undefined && tools.length > 0 && toolChoice !== 'none') {
    const tool = typeof toolChoice === 'object' ? tools.find((t) => t.name === toolChoice.name) : tools[0];
    if (tool !== undefined) {
      const args = toolArguments(tool.parameters, input.userText);
      return { kind: 'tool', name: tool.name, args, completionTokens: toolCallTokens(tool.name, args) };
    }
  }
  if (input.structured !== undefined && input.toolResult === undefined) {
    const value =
      'schema' in input.structured
        ? instanceOf(input.structured.schema, input.userText)
        : {
            output: input.userText,
          };
    const text = JSON.stringify(value, null, input.structured.indent);
    return { kind: 'text', text, truncated: false, completionTokens: countTokens(text) };
  }
  const answer =
    input.toolResult === undefined ? answerText(input.userText) : answerText(input.toolResult, 'Tool result:');
  const limited = limitTokens(input.think ? THINK_BLOCK + answer : answer, input.maxTokens);
  return {
    kind: 'text',
    text: limited.text,
    truncated: limited.truncated,
    completionTokens: countTokens(limited.text),
  };
}

export function embeddingVector(text: string, dimensions = EMBEDDING_DIMENSIONS): number[] {
  const vector: number[] = [];
  let bytes = createHash('sha256').update(text).digest();
  for (let round = 1; vector.length < dimensions; round++) {
    for (let i = 0; i + 1 < bytes.length && vector.length < dimensions; i += 2) {
      vector.push(Math.round((bytes.readUInt16BE(i) / 65535) * 2e6 - 1e6) / 1e6);
    }
    bytes = createHash('sha256').update(`${text}#${round}`).digest();
  }
  return vector;
}

/** A UUID-shaped string derived from `seed` (GigaChat `functions_state_id`). */
export function stableUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
