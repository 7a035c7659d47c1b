/**
 * YandexGPT native emulator (docs/provider-protocols.md §3, checklist §3.13), under `/yandex/foundationModels/v1`:
 *   POST /completion     `{result: …}` wrapper, `text` fields, int64 counters as strings, `toolCallList` /
 *                        `toolResultList`; `completionOptions.stream: true` → newline-delimited JSON objects with
 *                        CUMULATIVE text, ALTERNATIVE_STATUS_PARTIAL … then FINAL / TRUNCATED_FINAL / TOOL_CALLS
 *   POST /textEmbedding  `emb://<folder>/text-search-doc|text-search-query[/latest]` → {embedding, numTokens, modelVersion}
 *   POST /tokenize       → {tokens: [{id, text, special}], modelVersion} (bare, not wrapped)
 * Auth: `Api-Key <key>` (x-folder-id optional), or `Bearer <key>` / `Bearer <IAM token from /yandex/iam>` with
 * `x-folder-id` (an expired IAM token: 401). Errors are grpc-gateway bodies
 * {error: {grpcCode, httpCode, message, httpStatus, details: []}}. With EMULATOR_YANDEX_MAX_CONCURRENT > 0, a
 * completion beyond that many in flight gets 429 grpcCode 8 with the quota message.
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { EmulatorState } from './emulator-state';
import type { Answering, ErrorWriter, Exchange, ProviderHandler } from './emulator-http';
import {
  answerJson,
  answerStream,
  beginAnswer,
  header,
  isRecord,
  parseJsonObject,
  readBody,
  sendJson,
} from './emulator-http';
import type { Reply, ReplyInput, ToolSpec } from './deterministic-answer';
import { countTokens, decideReply, embeddingVector, splitIntoChunks } from './deterministic-answer';
import { stripFaultDirectives } from './faults';

export const YANDEX_MODEL_VERSION = '23.10.2024';
export const YANDEX_MODELS = ['yandexgpt', 'yandexgpt-lite', 'aliceai-llm'];
export const YANDEX_EMBEDDING_MODELS = ['text-search-doc', 'text-search-query'];
/** The size of the recorded text-search-doc vectors. */
export const YANDEX_EMBEDDING_DIMENSIONS = 256;
/** The text of an ALTERNATIVE_STATUS_CONTENT_FILTER alternative (fault `content-filter`): not a prefix of the answer. */
export const YANDEX_FILTER_TEXT = 'К сожалению, я не могу ответить на этот вопрос.';
export const YANDEX_QUOTA_MESSAGE =
  'ai.textGenerationCompletionSessionsCount.count gauge quota limit exceed: allowed 10 requests';

const GRPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 499: 1, 500: 13 };
const GRPC_CODES_5XX: Record<number, number> = { 501: 12, 503: 14, 504: 4 };
const MODEL_URI = /^gpt:\/\/([^/]+)\/([^/@]+)(?:\/([^/@]+))?(?:@.+)?$/;
const EMB_URI = /^emb:\/\/([^/]+)\/([^/@]+)(?:\/([^/@]+))?$/;
const BRANCHES = ['latest', 'rc', 'deprecated'];

/** The `error` object of a grpc-gateway error body (§3.11). */
export function yandexErrorBody(status: number, message?: string): Record<string, unknown> {
  const grpcCode = GRPC_CODES[status] ?? GRPC_CODES_5XX[status] ?? (status >= 500 ? 13 : 2);
  const text = message ?? (status === 429 ? YANDEX_QUOTA_MESSAGE : (STATUS_CODES[status] ?? 'Error'));
  return { grpcCode, httpCode: status, message: text, httpStatus: STATUS_CODES[status] ?? '', details: [] };
}

/** The grpc-gateway error body of §3.11, for the model API and the IAM endpoint alike. */
export const writeYandexError: ErrorWriter = (x, status, message, headers) => {
  sendJson(x.res, status, { error: yandexErrorBody(status, message) }, headers);
};

function routeOf(method: string | undefined, path: string): string {
  if (method !== 'POST') return 'unmatched';
  if (path === '/completion') return 'POST /completion';
  if (path === '/textEmbedding') return 'POST /textEmbedding';
  if (path === '/tokenize') return 'POST /tokenize';
  return 'unmatched';
}

/** Whether `token` is an IAM token the emulated IAM issued, and still live. */
export type IamTokenCheck = (token: string) => 'valid' | 'expired' | 'unknown';

export function createYandexEmulator(state: EmulatorState, iamToken: IamTokenCheck = () => 'unknown'): ProviderHandler {
  const { yandexApiKey, yandexFolderId, yandexMaxConcurrent } = state.options;
  let inFlight = 0;

  /** The error message when the credentials are refused, as [status, message]. */
  const authProblem = (x: Exchange): [number, string] | undefined => {
    const auth = x.req.headers.authorization ?? '';
    const folder = header(x.req, 'x-folder-id');
    const bearer = auth.startsWith('Bearer ') ? iamToken(auth.slice('Bearer '.length)) : 'unknown';
    if (bearer === 'expired') return [401, 'The token has expired'];
    if (auth === `Bearer ${yandexApiKey}` || bearer === 'valid') {
      if (folder === undefined) return [401, 'x-folder-id header is required with an IAM token'];
    } else if (auth !== `Api-Key ${yandexApiKey}`) {
      return [401, auth.startsWith('Bearer ') ? 'The token is invalid' : 'Unknown api key'];
    }
    if (folder !== undefined && folder !== yandexFolderId) return [400, folderMismatch(folder)];
    return undefined;
  };

  const folderMismatch = (folder: string): string =>
    `Specified folder ID '${folder}' does not match with service account folder ID '${yandexFolderId}'`;

  /** 400/404 message for a bad `gpt://` URI, or undefined when it is usable. */
  const modelUriProblem = (uri: unknown): [number, string] | undefined => {
    const match = typeof uri === 'string' ? MODEL_URI.exec(uri) : null;
    if (!match) return [400, `Invalid modelUri '${String(uri)}': expected gpt://<folder>/<model>[/<branch>]`];
    if (match[1] !== yandexFolderId) return [400, folderMismatch(match[1])];
    if (!YANDEX_MODELS.includes(match[2]) || (match[3] !== undefined && !BRANCHES.includes(match[3]))) {
      return [404, `Model ${String(uri)} not found`];
    }
    return undefined;
  };

  return async (req, res, path) => {
    const route = routeOf(req.method, path);
    state.stats.request('yandex', route);
    const x: Exchange = { req, res, provider: 'yandex', route, state };
    if (route === 'unmatched') return writeYandexError(x, 404, `Unknown method ${req.method} ${path}`);
    const refused = authProblem(x);
    if (refused) return writeYandexError(x, ...refused);
    const body = parseJsonObject(await readBody(req));
    if (!body) return writeYandexError(x, 400, 'Request body is not a valid JSON object');

    if (route === 'POST /completion') {
      if (yandexMaxConcurrent > 0) {
        if (inFlight >= yandexMaxConcurrent) return writeYandexError(x, 429, YANDEX_QUOTA_MESSAGE);
        inFlight++;
        res.once('close', () => inFlight--);
      }
      return completion(x, body, modelUriProblem(body.modelUri));
    }
    if (route === 'POST /tokenize') {
      const problem = modelUriProblem(body.modelUri);
      if (problem) return writeYandexError(x, ...problem);
      if (typeof body.text !== 'string') return writeYandexError(x, 400, 'text is required');
      const answering = await beginAnswer(x, writeYandexError);
      if (!answering) return;
      // `special` only on special tokens: proto3 JSON leaves out a false bool (as the recorded answers show).
      const tokens = (body.text.match(/\S+/g) ?? []).map((word) => ({ id: tokenId(word), text: `▁${word}` }));
      return answerJson(x, answering, { tokens, modelVersion: YANDEX_MODEL_VERSION });
    }
    const match = typeof body.modelUri === 'string' ? EMB_URI.exec(body.modelUri) : null;
    if (!match)
      return writeYandexError(x, 400, `Invalid modelUri '${String(body.modelUri)}': expected emb://<folder>/<model>`);
    if (match[1] !== yandexFolderId) return writeYandexError(x, 400, folderMismatch(match[1]));
    if (!YANDEX_EMBEDDING_MODELS.includes(match[2])) return writeYandexError(x, 404, `Model ${match[0]} not found`);
    if (typeof body.text !== 'string') return writeYandexError(x, 400, 'text is required');
    const dim = body.dim === undefined ? YANDEX_EMBEDDING_DIMENSIONS : Number(body.dim);
    if (!Number.isInteger(dim) || dim < 1 || dim > 4096) return writeYandexError(x, 400, 'dim must be in [1, 4096]');
    const answering = await beginAnswer(x, writeYandexError);
    if (!answering) return;
    return answerJson(x, answering, {
      embedding: embeddingVector(body.text, dim),
      numTokens: String(countTokens(body.text)),
      modelVersion: YANDEX_MODEL_VERSION,
    });
  };
}

function tokenId(word: string): string {
  return String(createHash('sha256').update(word).digest().readUInt32BE(0) % 200_000);
}

/** The message's text, its tool results joined by "\n", or '' (a tool call). */
function messageText(message: Record<string, unknown>): string {
  if (typeof message.text === 'string') return message.text;
  const results = isRecord(message.toolResultList) ? message.toolResultList.toolResults : undefined;
  if (!Array.isArray(results)) return '';
  return results
    .map((result: unknown) =>
      isRecord(result) && isRecord(result.functionResult) && typeof result.functionResult.content === 'string'
        ? result.functionResult.content
        : '',
    )
    .join('\n');
}

function validateMessages(messages: unknown): string | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return 'messages must be a non-empty array';
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isRecord(message) || !['system', 'user', 'assistant'].includes(String(message.role))) {
      return `messages[${i}].role must be system, user or assistant`;
    }
    const kinds = ['text', 'toolCallList', 'toolResultList'].filter((key) => message[key] !== undefined);
    if (kinds.length !== 1) return `messages[${i}] must have exactly one of text, toolCallList, toolResultList`;
  }
  return undefined;
}

function parseTools(tools: unknown): ToolSpec[] | undefined {
  if (tools === undefined) return [];
  if (!Array.isArray(tools)) return undefined;
  const specs: ToolSpec[] = [];
  for (const tool of tools as unknown[]) {
    if (!isRecord(tool) || !isRecord(tool.function) || typeof tool.function.name !== 'string') return undefined;
    specs.push({ name: tool.function.name, parameters: tool.function.parameters });
  }
  return specs;
}

async function completion(
  x: Exchange,
  body: Record<string, unknown>,
  uriProblem: [number, string] | undefined,
): Promise<void> {
  if (uriProblem) return writeYandexError(x, ...uriProblem);
  const invalidMessages = validateMessages(body.messages);
  if (invalidMessages) return writeYandexError(x, 400, invalidMessages);
  const options = isRecord(body.completionOptions) ? body.completionOptions : {};
  const temperature = options.temperature;
  if (temperature !== undefined && (typeof temperature !== 'number' || temperature < 0 || temperature > 1)) {
    return writeYandexError(x, 400, 'completionOptions.temperature must be in [0, 1]');
  }
  const maxTokens = options.maxTokens === undefined ? undefined : Number(options.maxTokens);
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0)) {
    return writeYandexError(x, 400, 'completionOptions.maxTokens must be a positive int64');
  }
  const tools = parseTools(body.tools);
  if (tools === undefined) return writeYandexError(x, 400, 'tools must be an array of {function: {name, parameters}}');
  const choice = isRecord(body.toolChoice) ? body.toolChoice : {};
  if (typeof choice.functionName === 'string' && !tools.some((tool) => tool.name === choice.functionName)) {
    return writeYandexError(x, 400, `toolChoice.functionName '${choice.functionName}' is not in tools`);
  }

  const messages = body.messages as Record<string, unknown>[];
  const last = messages[messages.length - 1];
  const lastUser = messages.findLast((message) => message.role === 'user' && typeof message.text === 'string');
  const rawUserText = lastUser ? String(lastUser.text) : '';
  const answering = await beginAnswer(x, writeYandexError, rawUserText);
  if (!answering) return;

  const input: ReplyInput = {
    userText: stripFaultDirectives(rawUserText),
    toolResult: last.toolResultList !== undefined ? messageText(last) : undefined,
    tools,
    toolChoice:
      typeof choice.functionName === 'string'
        ? { name: choice.functionName }
        : choice.mode === 'NONE'
          ? 'none'
          : 'auto',
    maxTokens,
    structured: isRecord(body.jsonSchema)
      ? { schema: body.jsonSchema.schema }
      : body.jsonObject === true
        ? { object: true }
        : undefined,
  };
  const reply = decideReply(input);
  const promptTokens = countTokens(messages.map(messageText).join(' '));
  return options.stream === true
    ? streamCompletion(x, answering, reply, promptTokens)
    : answerJson(x, answering, { result: result(reply, promptTokens, answering.fault?.contentFilter === true) });
}

function usage(promptTokens: number, completionTokens: number): Record<string, unknown> {
  return {
    inputTextTokens: String(promptTokens),
    completionTokens: String(completionTokens),
    totalTokens: String(promptTokens + completionTokens),
    // The recorded answers of current models carry the object, empty: proto3 JSON leaves out a zero reasoningTokens.
    completionTokensDetails: {},
  };
}

/** The `result` object of a final answer. */
function result(reply: Reply, promptTokens: number, filtered: boolean): Record<string, unknown> {
  let message: Record<string, unknown>;
  let status: string;
  let completionTokens = reply.completionTokens;
  if (filtered) {
    message = { role: 'assistant', text: YANDEX_FILTER_TEXT };
    status = 'ALTERNATIVE_STATUS_CONTENT_FILTER';
    completionTokens = countTokens(YANDEX_FILTER_TEXT);
  } else if (reply.kind === 'tool') {
    message = {
      role: 'assistant',
      toolCallList: { toolCalls: [{ functionCall: { name: reply.name, arguments: reply.args } }] },
    };
    status = 'ALTERNATIVE_STATUS_TOOL_CALLS';
  } else {
    message = { role: 'assistant', text: reply.text };
    status = reply.truncated ? 'ALTERNATIVE_STATUS_TRUNCATED_FINAL' : 'ALTERNATIVE_STATUS_FINAL';
  }
  return {
    alternatives: [{ message, status }],
    usage: usage(promptTokens, completionTokens),
    modelVersion: YANDEX_MODEL_VERSION,
  };
}

/**
 * NDJSON: one PARTIAL line per chunk with the cumulative text (the last one holds the whole text), then the final line.
 * A tool call is a single final line. `content-filter`: the first half of the partial lines, then a CONTENT_FILTER
 * line whose text is not a prefix of them.
 */
function streamCompletion(x: Exchange, answering: Answering, reply: Reply, promptTokens: number): Promise<void> {
  const content: unknown[] = [];
  if (reply.kind === 'text') {
    const pieces = splitIntoChunks(reply.text, x.state.options.chunks);
    const shown = answering.fault?.contentFilter ? Math.ceil(pieces.length / 2) : pieces.length;
    let text = '';
    for (let i = 0; i < shown; i++) {
      text += pieces[i];
      content.push({
        result: {
          alternatives: [{ message: { role: 'assistant', text }, status: 'ALTERNATIVE_STATUS_PARTIAL' }],
          usage: usage(promptTokens, countTokens(text)),
          modelVersion: YANDEX_MODEL_VERSION,
        },
      });
    }
  }
  const final = { result: result(reply, promptTokens, answering.fault?.contentFilter === true) };
  return answerStream(
    x,
    answering,
    { framing: 'ndjson', lead: [], content, tail: [final], done: false, error: { error: yandexErrorBody(500) } },
    { 'content-type': 'application/json' },
  );
}
