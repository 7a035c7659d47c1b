/**
 * Yandex AI Studio's OpenAI-compatible endpoint (`llm.api.cloud.yandex.net/v1`), under `/yandex/v1`, shaped after the
 * SDK's recorded exchanges (test/fixtures/recordings/yandex-openai/):
 *   POST /chat/completions  `model` = `gpt://<folder>/<name>/<version>`. Two framings, by model family:
 *     - Yandex's own (yandexgpt, yandexgpt-lite, aliceai-llm, llama): `id` a bare UUID, `model` echoed with the folder;
 *       a tool call's `id` is the function's name and `content` is ""; streams put `role` in the first content chunk
 *       and `finish_reason` in the last, a tool call comes whole in one chunk, and there is no usage chunk.
 *     - vLLM-served (qwen3-235b-a22b-fp8, gpt-oss-120b, gpt-oss-20b, gemma-3-27b-it): `id` `chatcmpl-<uuid>`, `model`
 *       without the folder; streams open with a role-only chunk, end with an empty-delta finish chunk and a usage chunk
 *       (`choices: []`, unasked); a tool call opens with `id: "chatcmpl-tool-<hex>"`, `arguments: ""` and continues with
 *       `id: ""`, `type: ""`, `name: ""` (Gemma: already `type: ""` and the first piece of the arguments).
 *     Every tool whose name (or its first `_` part) the user's text mentions is called (the recorded YandexGPT called
 *     both asked-for tools, `parallel_tool_calls: false` or not); else the deterministic single call.
 *     `response_format` json_schema / json_object: the content is JSON (decideReply's structured answer).
 *     Image parts (`image_url`, data URLs) reach gemma-3-27b-it, which prefixes its answer with what it saw
 *     (`Image: image/png, 70 bytes, sha256 <12 hex>.`); other models answer 400 naming the model (UNVERIFIED).
 *   POST /embeddings        `emb://<folder>/text-search-doc|text-search-query/<version>`, `input` a string or a list;
 *                           256 dimensions; `{object: list, model, data: [{index, embedding, object}], usage}`.
 *   GET  /models            the chat models as `gpt://<folder>/<name>/latest` (shape UNVERIFIED).
 * Auth: `Api-Key <key>` (the SDK), `Bearer <key>` (the docs' curl) or `Bearer <IAM token from /yandex/iam>`; the folder is the model URI's (`OpenAI-Project`,
 * when sent, must match). Error bodies are the native API's grpc-gateway shape — none was recorded here (UNVERIFIED).
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { EmulatorState } from './emulator-state';
import type { ErrorWriter, Exchange, ProviderHandler } from './emulator-http';
import {
  SSE_HEADERS,
  answerJson,
  answerStream,
  beginAnswer,
  header,
  isRecord,
  parseJsonObject,
  readBody,
  sendJson,
} from './emulator-http';
import type { ReplyInput, ToolSpec } from './deterministic-answer';
import {
  countTokens,
  decideReply,
  openAiStructured,
  embeddingVector,
  splitIntoChunks,
  stableUuid,
  toolArguments,
  toolCallTokens,
} from './deterministic-answer';
import { stripFaultDirectives } from './faults';

type Family = 'yandex' | 'vllm' | 'vllm-gemma';

export const YANDEX_OPENAI_CHAT_MODELS: Record<string, { family: Family; vision: boolean }> = {
  yandexgpt: { family: 'yandex', vision: false },
  'yandexgpt-lite': { family: 'yandex', vision: false },
  'aliceai-llm': { family: 'yandex', vision: false },
  llama: { family: 'yandex', vision: false },
  'qwen3-235b-a22b-fp8': { family: 'vllm', vision: false },
  'gpt-oss-120b': { family: 'vllm', vision: false },
  'gpt-oss-20b': { family: 'vllm', vision: false },
  'gemma-3-27b-it': { family: 'vllm-gemma', vision: true },
};
export const YANDEX_OPENAI_EMBEDDING_MODELS = ['text-search-doc', 'text-search-query'];
export const YANDEX_OPENAI_EMBEDDING_DIMENSIONS = 256;
const VERSIONS = ['latest', 'rc', 'deprecated'];
const URI = /^(gpt|emb):\/\/([^/]+)\/([^/@]+)\/([^/@]+)$/;
const MODEL_CREATED = 1735689600;

const GRPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 503: 14, 504: 4 };

const writeError: ErrorWriter = (x, status, message, headers) => {
  const error = {
    grpcCode: GRPC_CODES[status] ?? (status >= 500 ? 13 : 2),
    httpCode: status,
    message: message ?? STATUS_CODES[status] ?? 'Error',
    httpStatus: STATUS_CODES[status] ?? '',
    details: [],
  };
  sendJson(x.res, status, { error }, headers);
};

function routeOf(method: string | undefined, path: string): string {
  if (method === 'POST' && path === '/chat/completions') return 'POST /v1/chat/completions';
  if (method === 'POST' && path === '/embeddings') return 'POST /v1/embeddings';
  if (method === 'GET' && path === '/models') return 'GET /v1/models';
  return 'unmatched';
}

interface ParsedUri {
  scheme: string;
  folder: string;
  name: string;
  version: string;
}

/** The model URI, or an error already sent. */
function parseUri(x: Exchange, model: unknown, scheme: 'gpt' | 'emb', folder: string): ParsedUri | undefined {
  const match = typeof model === 'string' ? URI.exec(model) : null;
  if (!match || match[1] !== scheme || !VERSIONS.includes(match[4])) {
    writeError(x, 400, `model must be ${scheme}://<folder>/<model>/<version>, got ${JSON.stringify(model)}`);
    return undefined;
  }
  const [, , uriFolder, name, version] = match;
  const project = header(x.req, 'openai-project');
  if (uriFolder !== folder || (project !== undefined && project !== folder)) {
    writeError(x, 400, `Specified folder ID '${uriFolder}' does not match with service account folder ID '${folder}'`);
    return undefined;
  }
  return { scheme, folder: uriFolder, name, version };
}

/** `iamToken`: what Yandex IAM says of a Bearer token it may have issued (valid, expired, unknown). */
export function createYandexOpenAiEmulator(
  state: EmulatorState,
  iamToken: (token: string) => 'valid' | 'expired' | 'unknown' = () => 'unknown',
): ProviderHandler {
  return async (req, res, path) => {
    const route = routeOf(req.method, path);
    state.stats.request('yandex', route);
    const x: Exchange = { req, res, provider: 'yandex', route, state };
    if (route === 'unmatched') return writeError(x, 404, `Unknown request URL: ${req.method} /v1${path}`);
    const { yandexApiKey: key, yandexFolderId: folder } = state.options;
    const auth = req.headers.authorization;
    const issued = auth?.startsWith('Bearer ') === true && iamToken(auth.slice('Bearer '.length)) === 'valid';
    if (auth !== `Api-Key ${key}` && auth !== `Bearer ${key}` && !issued) {
      return writeError(x, 401, 'The token is invalid');
    }
    switch (route) {
      case 'POST /v1/chat/completions':
        return chat(x, folder, await readBody(req));
      case 'POST /v1/embeddings':
        return embeddings(x, folder, await readBody(req));
      default: {
        const answering = await beginAnswer(x, writeError);
        if (!answering) return;
        const data = Object.keys(YANDEX_OPENAI_CHAT_MODELS).map((name) => ({
          id: `gpt://${folder}/${name}/latest`,
          object: 'model',
          created: MODEL_CREATED,
          owned_by: 'yandex',
        }));
        return answerJson(x, answering, { object: 'list', data });
      }
    }
  };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part): part is Record<string, unknown> => isRecord(part) && typeof part.text === 'string')
    .map((part) => part.text as string)
    .join('\n');
}

function imageUrls(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  return content
    .filter((part): part is Record<string, unknown> => isRecord(part) && part.type === 'image_url')
    .map((part) => (isRecord(part.image_url) ? String(part.image_url.url) : ''));
}

/** What the model "saw": media type, size and a digest of a data URL; the URL itself otherwise. */
function describeImage(url: string): string {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!data) return `Image: ${url}.`;
  const bytes = Buffer.from(data[2], 'base64');
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  return `Image: ${data[1]}, ${bytes.length} bytes, sha256 ${digest}.`;
}

function parseTools(tools: unknown): ToolSpec[] | undefined {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) return undefined;
  const specs: ToolSpec[] = [];
  for (const tool of tools as unknown[]) {
    if (!isRecord(tool) || !isRecord(tool.function) || typeof tool.function.name !== 'string') return undefined;
    specs.push({ name: tool.function.name, parameters: tool.function.parameters });
  }
  return specs;
}

function parseToolChoice(choice: unknown): ReplyInput['toolChoice'] {
  if (choice === 'none') return 'none';
  if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { name: choice.function.name };
  }
  return 'auto';
}

interface Call {
  name: string;
  args: Record<string, unknown>;
}

/** The tools the text mentions by name (or by the name's first `_` part), in the order offered. */
function mentionedTools(tools: ToolSpec[], text: string): ToolSpec[] {
  const lower = text.toLowerCase();
  return tools.filter((tool) => lower.includes(tool.name.toLowerCase().split('_')[0]));
}

async function chat(x: Exchange, folder: string, rawBody: string): Promise<void> {
  const body = parseJsonObject(rawBody);
  if (!body) return writeError(x, 400, 'The request body is not valid JSON');
  const uri = parseUri(x, body.model, 'gpt', folder);
  if (!uri) return;
  const model = YANDEX_OPENAI_CHAT_MODELS[uri.name];
  if (!model) return writeError(x, 404, `Model ${String(body.model)} not found`);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0 || !messages.every(isRecord)) {
    return writeError(x, 400, 'messages must be a non-empty array of objects');
  }
  const typed = messages;
  const images = typed.flatMap((message) => imageUrls(message.content));
  if (images.length > 0 && !model.vision) {
    return writeError(x, 400, `Model ${uri.name} does not support image input`);
  }
  const tools = parseTools(body.tools);
  if (tools === undefined) return writeError(x, 400, 'tools: each needs function.name');
  const toolChoice = parseToolChoice(body.tool_choice);

  const lastUser = typed.findLast((message) => message.role === 'user');
  const rawUserText = lastUser ? textOf(lastUser.content) : '';
  const answering = await beginAnswer(x, writeError, rawUserText);
  if (!answering) return;

  const userText = stripFaultDirectives(rawUserText);
  const trailingTools: Record<string, unknown>[] = [];
  for (let i = typed.length - 1; i >= 0 && typed[i].role === 'tool'; i--) trailingTools.unshift(typed[i]);
  const toolResult = trailingTools.length > 0 ? trailingTools.map((m) => textOf(m.content)).join('\n') : undefined;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const structured = openAiStructured(body.response_format);
  const reply = decideReply({
    userText,
    toolResult,
    tools,
    toolChoice,
    maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
    structured,
  });

  let calls: Call[] = [];
  let text = '';
  if (reply.kind === 'tool') {
    const mentioned = toolChoice === 'auto' ? mentionedTools(tools, userText) : [];
    calls =
      mentioned.length > 1
        ? mentioned.map((tool) => ({ name: tool.name, args: toolArguments(tool.parameters, userText) }))
        : [{ name: reply.name, args: reply.args }];
  } else {
    const seen = lastUser ? imageUrls(lastUser.content).map(describeImage) : [];
    // A structured answer is the JSON alone.
    text = structured !== undefined && toolResult === undefined ? reply.text : [...seen, reply.text].join(' ');
  }
  const completionTokens =
    calls.length > 0 ? calls.reduce((sum, c) => sum + toolCallTokens(c.name, c.args), 0) : countTokens(text);
  const promptTokens = countTokens(typed.map((message) => textOf(message.content)).join(' '));
  const usage = {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
  };
  const finishReason = calls.length > 0 ? 'tool_calls' : reply.kind === 'text' && reply.truncated ? 'length' : 'stop';

  const seq = x.state.nextSeq();
  const uuid = stableUuid(`yandex-openai-${seq}-${rawBody}`);
  const vllm = model.family !== 'yandex';
  const common = {
    id: vllm ? `chatcmpl-${uuid}` : uuid,
    created: Math.floor(Date.now() / 1000),
    model: vllm ? `gpt://${uri.name}/${uri.version}` : `gpt://${folder}/${uri.name}/${uri.version}`,
  };
  const callId = (call: Call, index: number): string =>
    vllm ? `chatcmpl-tool-${createHash('sha256').update(`${uuid}#${index}`).digest('hex').slice(0, 32)}` : call.name;
  const toolCalls = calls.map((call, index) => ({
    index,
    id: callId(call, index),
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.args) },
  }));

  if (body.stream !== true) {
    // A vLLM model's non-streamed tool call was not recorded: `content: null` as vLLM answers elsewhere.
    const message =
      calls.length > 0
        ? { role: 'assistant', content: vllm ? null : '', tool_calls: toolCalls }
        : { role: 'assistant', content: text };
    const choices = [{ index: 0, message, finish_reason: finishReason }];
    return answerJson(x, answering, { ...common, object: 'chat.completion', choices, usage });
  }

  const chunk = (delta: Record<string, unknown>, finish?: string): Record<string, unknown> => ({
    ...common,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, ...(finish ? { finish_reason: finish } : {}) }],
  });
  const pieces = x.state.options.chunks;
  const plan = vllm
    ? vllmFrames(model.family, chunk, text, calls, toolCalls, pieces, finishReason, { ...common, usage })
    : yandexFrames(chunk, text, toolCalls, pieces, finishReason);
  return answerStream(x, answering, { framing: 'sse', done: true, ...plan }, SSE_HEADERS);
}

type ChunkOf = (delta: Record<string, unknown>, finish?: string) => Record<string, unknown>;

/** YandexGPT / Llama: role rides on the first chunk, finish_reason on the last; a tool call is one chunk. */
function yandexFrames(
  chunk: ChunkOf,
  text: string,
  toolCalls: unknown[],
  pieces: number,
  finishReason: string,
): { lead: unknown[]; content: unknown[]; tail: unknown[] } {
  if (toolCalls.length > 0) {
    return { lead: [chunk({ role: 'assistant', tool_calls: toolCalls }, finishReason)], content: [], tail: [] };
  }
  const parts = splitIntoChunks(text, pieces);
  if (parts.length === 1)
    return { lead: [chunk({ role: 'assistant', content: parts[0] }, finishReason)], content: [], tail: [] };
  const last = parts.length - 1;
  return {
    lead: [chunk({ role: 'assistant', content: parts[0] })],
    content: parts.slice(1, last).map((piece) => chunk({ content: piece })),
    tail: [chunk({ content: parts[last] }, finishReason)],
  };
}

/** vLLM: a role-only chunk, deltas, an empty-delta finish chunk, then a usage chunk with no choices. */
function vllmFrames(
  family: Family,
  chunk: ChunkOf,
  text: string,
  calls: Call[],
  toolCalls: Array<{ id: string; function: { name: string; arguments: string } }>,
  pieces: number,
  finishReason: string,
  usageChunk: Record<string, unknown>,
): { lead: unknown[]; content: unknown[]; tail: unknown[] } {
  const content =
    calls.length > 0
      ? toolCalls.flatMap((call, index) => {
          const parts = splitIntoChunks(call.function.arguments, pieces);
          const more = (piece: string) =>
            chunk({ tool_calls: [{ index, id: '', type: '', function: { name: '', arguments: piece } }] });
          if (family === 'vllm-gemma') {
            const opening = {
              index,
              id: call.id,
              type: '',
              function: { name: call.function.name, arguments: parts[0] },
            };
            return [chunk({ tool_calls: [opening] }), ...parts.slice(1).map(more)];
          }
          const opening = {
            index,
            id: call.id,
            type: 'function',
            function: { name: call.function.name, arguments: '' },
          };
          return [chunk({ tool_calls: [opening] }), ...parts.map(more)];
        })
      : splitIntoChunks(text, pieces).map((piece) => chunk({ content: piece }));
  return {
    lead: [chunk({ role: 'assistant' })],
    content,
    tail: [chunk({}, finishReason), { ...usageChunk, object: 'chat.completion.chunk', choices: [] }],
  };
}

async function embeddings(x: Exchange, folder: string, rawBody: string): Promise<void> {
  const body = parseJsonObject(rawBody);
  if (!body) return writeError(x, 400, 'The request body is not valid JSON');
  const uri = parseUri(x, body.model, 'emb', folder);
  if (!uri) return;
  if (!YANDEX_OPENAI_EMBEDDING_MODELS.includes(uri.name)) {
    return writeError(x, 404, `Model ${String(body.model)} not found`);
  }
  const inputs = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((item) => typeof item === 'string')) {
    return writeError(x, 400, 'input must be a string or a non-empty list of strings');
  }
  const answering = await beginAnswer(x, writeError);
  if (!answering) return;
  const data = inputs.map((text, index) => ({
    index,
    embedding: embeddingVector(`${uri.name}:${text}`, YANDEX_OPENAI_EMBEDDING_DIMENSIONS),
    object: 'embedding',
  }));
  const promptTokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
  return answerJson(x, answering, {
    object: 'list',
    model: body.model,
    data,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}
