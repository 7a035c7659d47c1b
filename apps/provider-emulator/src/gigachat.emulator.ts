/**
 * GigaChat emulator (docs/provider-protocols.md §2, checklist §2.13), under `/gigachat/api`:
 *   POST /v2/oauth             Basic key + RqUID + form `scope` → {access_token, expires_at (ms)}; errors {code, message}
 *   POST /v1/chat/completions  plain and SSE (`object: chat.completion`, no `id`, model `<name>:2.0.28.2`),
 *                              `functions` / `function_call` (arguments as an object, one call per turn), role `function`
 *   GET  /v1/models, GET /v1/models/{id}, POST /v1/embeddings (usage per item), POST /v1/tokens/count (top-level array)
 *   POST /v1/files, GET /v1/files, POST /v1/files/{id}/delete, `attachments` on messages (gigachat-files.emulator.ts);
 *                              an answer to a message with files says what it saw of them (type, size, hash)
 * API errors are {status, message}; every API response carries `x-request-id` / `x-session-id` (echoed from the
 * request when sent, else fresh UUIDs) and echoes `x-client-id`.
 * Shapes are held to the recordings (test/fixtures/recordings/gigachat, gigachat.fidelity.spec.ts). Beyond them:
 * - `response_format` is GigaChat's flat `{type: "json_schema", schema, strict?}` (OpenAI's nested shape or any other
 *   type: 422); the answer is then a JSON instance of the schema (schema-instance.ts), indented as recorded.
 * - `reasoning_effort` must be `low`, `medium` or `high` (else 422).
 * - A replayed function call's `functions_state_id` must be the one this emulator gave that call (else 422); a
 *   correct one is counted in the stats (`functionStatesEchoed`).
 * - `X-Session-ID`: the leading messages a request shares with the previous request of the same session are
 *   reported as `precached_prompt_tokens` (context caching); without a session it is 0.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorState } from './emulator-state';
import type { Answering, ErrorWriter, Exchange, ProviderHandler } from './emulator-http';
import {
  SSE_HEADERS,
  answerJson,
  answerStream,
  beginAnswer,
  header,
  isRecord,
  parseJsonObject,
  readBody,
  readBodyBytes,
  sendJson,
} from './emulator-http';
import { isRefusal, seenFiles, type StoredFile } from './gigachat-files.emulator';
import type { ReplyInput, ToolSpec } from './deterministic-answer';
import { countTokens, decideReply, embeddingVector, splitIntoChunks, stableUuid } from './deterministic-answer';
import { stripFaultDirectives } from './faults';

export const GIGACHAT_MODEL_VERSION = '2.0.28.2';
export const GIGACHAT_SCOPES = ['GIGACHAT_API_PERS', 'GIGACHAT_API_B2B', 'GIGACHAT_API_CORP'];
export const GIGACHAT_CHAT_MODELS = [
  'GigaChat',
  'GigaChat-Pro',
  'GigaChat-Max',
  'GigaChat-2',
  'GigaChat-2-Pro',
  'GigaChat-2-Max',
];
export const GIGACHAT_EMBEDDING_MODELS = ['Embeddings', 'Embeddings-2', 'EmbeddingsGigaR'];
/** The text of a `blacklist` answer (fault `content-filter`). */
export const GIGACHAT_BLACKLIST_TEXT = 'Не люблю менять тему разговора, но вот сейчас тот самый случай.';

const API_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Permission denied',
  404: 'No such model',
  413: 'Payload too large',
  422: 'Invalid params',
  429: 'Too many requests',
  500: 'Internal Server Error',
};

const UUID = /^[0-9a-fA-F-]{36}$/;
const FILE_DELETE = /^\/v1\/files\/([^/]+)\/delete$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const ROLES = ['system', 'user', 'assistant', 'function', 'search_result'];
const REASONING_EFFORTS = ['low', 'medium', 'high'];
/** Sessions remembered for `precached_prompt_tokens` before the oldest are forgotten. */
const MAX_SESSIONS = 10_000;

/** The `functions_state_id` this emulator gives a function call (and expects back with it). */
export function functionsStateIdFor(name: string, args: unknown): string {
  return stableUuid(`${name}:${JSON.stringify(args)}`);
}

interface IssuedToken {
  authKey: string;
  expiresAt: number;
  /** Issued under an `expire-token` OAuth fault: rejected on first use. */
  expireOnFirstUse: boolean;
  /** Issued right after an `expire-token` rejection: `expire-token` spares its first use (so the retry succeeds). */
  spareOnce: boolean;
}

function routeOf(method: string | undefined, path: string): string {
  if (method === 'POST' && path === '/v2/oauth') return 'POST /oauth';
  if (method === 'POST' && path === '/v1/chat/completions') return 'POST /chat/completions';
  if (method === 'POST' && path === '/v1/embeddings') return 'POST /embeddings';
  if (method === 'POST' && path === '/v1/tokens/count') return 'POST /tokens/count';
  if (method === 'GET' && path === '/v1/models') return 'GET /models';
  if (method === 'GET' && path.startsWith('/v1/models/')) return 'GET /models/{id}';
  if (method === 'POST' && path === '/v1/files') return 'POST /files';
  if (method === 'GET' && path === '/v1/files') return 'GET /files';
  if (method === 'POST' && FILE_DELETE.test(path)) return 'POST /files/{id}/delete';
  return 'unmatched';
}

function idHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'x-request-id': header(req, 'x-request-id') ?? randomUUID(),
    'x-session-id': header(req, 'x-session-id') ?? randomUUID(),
  };
  const clientId = header(req, 'x-client-id');
  if (clientId !== undefined) headers['x-client-id'] = clientId;
  return headers;
}

const writeApiError: ErrorWriter = (x, status, message, headers) =>
  sendJson(
    x.res,
    status,
    { status, message: message ?? API_MESSAGES[status] ?? STATUS_CODES[status] ?? 'Error' },
    { ...idHeaders(x.req), ...headers },
    'application/json; charset=utf-8',
  );

const writeOAuthError: ErrorWriter = (x, status, message, headers) =>
  sendJson(x.res, status, { code: status, message: message ?? STATUS_CODES[status] ?? 'Error' }, headers);

function modelKind(model: string): 'chat' | 'embedder' | undefined {
  if (GIGACHAT_EMBEDDING_MODELS.includes(model)) return 'embedder';
  const base = model.endsWith('-preview') ? model.slice(0, -'-preview'.length) : model;
  return GIGACHAT_CHAT_MODELS.includes(base) ? 'chat' : undefined;
}

export function createGigaChatEmulator(state: EmulatorState): ProviderHandler {
  const tokens = new Map<string, IssuedToken>();
  const refreshAfterExpiry = new Set<string>();
  /** Per `X-Session-ID`: the message texts of its previous chat request. */
  const sessions = new Map<string, string[]>();

  /** Tokens of the leading messages this request shares with the session's previous one; remembers this one. */
  const precachedTokens = (sessionId: string | undefined, messages: Record<string, unknown>[]): number => {
    if (sessionId === undefined) return 0;
    const texts = messages.map((message) => `${String(message.role)}:${JSON.stringify(message.content ?? '')}`);
    const previous = sessions.get(sessionId) ?? [];
    let shared = 0;
    for (let i = 0; i < Math.min(texts.length, previous.length) && texts[i] === previous[i]; i++) {
      const content = messages[i].content;
      shared += countTokens(typeof content === 'string' ? content : '');
    }
    sessions.delete(sessionId);
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
    sessions.set(sessionId, texts);
    return shared;
  };

  const issueToken = (authKey: string, expireOnFirstUse: boolean): { access_token: string; expires_at: number } => {
    if (tokens.size > 10_000) {
      const now = Date.now();
      for (const [token, issued] of tokens) if (issued.expiresAt <= now) tokens.delete(token);
    }
    const accessToken = randomBytes(768).toString('base64url');
    const expiresAt = Date.now() + state.options.gigachatTokenTtlMs;
    const spareOnce = refreshAfterExpiry.delete(authKey);
    tokens.set(accessToken, { authKey, expiresAt, expireOnFirstUse, spareOnce });
    state.stats.tokenIssued('gigachat');
    return { access_token: accessToken, expires_at: expiresAt };
  };

  const oauth = async (x: Exchange): Promise<void> => {
    const rawBody = await readBody(x.req);
    if (!UUID.test(header(x.req, 'rquid') ?? '')) return writeOAuthError(x, 400, 'RqUID header is missing or invalid');
    const auth = x.req.headers.authorization ?? '';
    const key = auth.startsWith('Basic ') ? auth.slice('Basic '.length).trim() : '';
    if (!BASE64.test(key)) return sendJson(x.res, 401, { code: 4, message: "Can't decode 'Authorization' header" });
    const form = rawBody.trimStart().startsWith('{') ? parseJsonObject(rawBody) : undefined;
    const scope = form ? form.scope : new URLSearchParams(rawBody).get('scope');
    if (typeof scope !== 'string' || scope === '') return sendJson(x.res, 400, { code: 5, message: 'scope is empty' });
    if (!GIGACHAT_SCOPES.includes(scope))
      return sendJson(x.res, 400, { code: 1, message: 'scope data format invalid' });
    if (key !== state.options.gigachatAuthKey) {
      return sendJson(x.res, 401, { code: 6, message: "credentials doesn't match db data" });
    }
    const answering = await beginAnswer(x, writeOAuthError);
    if (!answering) return;
    return answerJson(x, answering, issueToken(key, answering.fault?.expireToken === true));
  };

  return async (req, res, path) => {
    const route = routeOf(req.method, path);
    state.stats.request('gigachat', route);
    const x: Exchange = { req, res, provider: 'gigachat', route, state };
    if (route === 'unmatched') return writeApiError(x, 404, `Not found: ${req.method} ${path}`);
    if (route === 'POST /oauth') return oauth(x);

    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
    const issued = tokens.get(token);
    if (issued === undefined || issued.expiresAt <= Date.now() || issued.expireOnFirstUse) {
      tokens.delete(token);
      return writeApiError(x, 401);
    }
    const spared = issued.spareOnce;
    issued.spareOnce = false;
    if (route === 'POST /files' || route === 'GET /files' || route === 'POST /files/{id}/delete') {
      return files(x, issued.authKey, path);
    }
    const rawBody = req.method === 'POST' ? await readBody(req) : '';
    const body = req.method === 'POST' ? parseJsonObject(rawBody) : {};
    if (!body) return writeApiError(x, 400, 'Invalid JSON body');

    const messages = route === 'POST /chat/completions' ? validateChat(x, body) : undefined;
    if (messages === null) return;
    const attached = messages
      ? state.gigachatFiles.attached(issued.authKey, messages)
      : new Map<number, StoredFile[]>();
    if (isRefusal(attached)) return writeApiError(x, attached.status, attached.message);
    const lastUser = messages?.findLast((message) => message.role === 'user');
    const answering = await beginAnswer(x, writeApiError, lastUser ? String(lastUser.content) : undefined);
    if (!answering) return;
    if (answering.fault?.expireToken && !spared) {
      tokens.delete(token);
      refreshAfterExpiry.add(issued.authKey);
      return writeApiError(x, 401);
    }

    const headers = idHeaders(req);
    const json = (payload: unknown): Promise<void> =>
      answerJson(x, answering, payload, headers, 'application/json; charset=utf-8');
    switch (route) {
      case 'POST /chat/completions': {
        const echoed = (messages ?? []).filter((m) => typeof m.functions_state_id === 'string').length;
        for (let i = 0; i < echoed; i++) state.stats.functionStateEchoed('gigachat');
        const precached = precachedTokens(header(req, 'x-session-id'), messages ?? []);
        return chat(x, body, messages ?? [], headers, answering, precached, attached);
      }
      case 'GET /models':
        return json({ object: 'list', data: listedModels() });
      case 'GET /models/{id}': {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        const kind = modelKind(id);
        if (kind === undefined) return writeApiError(x, 404);
        return json({ id, object: 'model', owned_by: 'salutedevices', type: kind });
      }
      case 'POST /embeddings': {
        const inputs = stringInputs(body.input);
        if (inputs === undefined) return writeApiError(x, 422, 'Invalid params: input must be a string array');
        if (typeof body.model !== 'string' || modelKind(body.model) !== 'embedder') return writeApiError(x, 404);
        const data = inputs.map((text, index) => ({
          object: 'embedding',
          index,
          embedding: embeddingVector(text),
          usage: { prompt_tokens: countTokens(text) },
        }));
        return json({ object: 'list', model: body.model, data });
      }
      default: {
        const inputs = stringInputs(body.input);
        if (inputs === undefined) return writeApiError(x, 422, 'Invalid params: input must be a string array');
        if (typeof body.model !== 'string' || modelKind(body.model) === undefined) return writeApiError(x, 404);
        return json(inputs.map((text) => ({ object: 'tokens', tokens: countTokens(text), characters: text.length })));
      }
    }
  };
}

/** The file routes: the body is multipart (not JSON), files belong to the caller's authorization key. */
async function files(x: Exchange, authKey: string, path: string): Promise<void> {
  const body = await readBodyBytes(x.req);
  const store = x.state.gigachatFiles;
  const answer =
    x.route === 'GET /files'
      ? store.listed(authKey)
      : x.route === 'POST /files'
        ? store.upload(authKey, body, header(x.req, 'content-type'))
        : store.delete(authKey, decodeURIComponent(FILE_DELETE.exec(path)?.[1] ?? ''));
  if (isRefusal(answer)) return writeApiError(x, answer.status, answer.message);
  sendJson(x.res, 200, answer, idHeaders(x.req), 'application/json; charset=utf-8');
}

function listedModels(): Record<string, string>[] {
  return [
    ...GIGACHAT_CHAT_MODELS.map((id) => ({ id, object: 'model', owned_by: 'salutedevices', type: 'chat' })),
    ...GIGACHAT_EMBEDDING_MODELS.map((id) => ({ id, object: 'model', owned_by: 'salutedevices', type: 'embedder' })),
  ];
}

function stringInputs(input: unknown): string[] | undefined {
  const inputs = typeof input === 'string' ? [input] : input;
  return Array.isArray(inputs) && inputs.length > 0 && inputs.every((item) => typeof item === 'string')
    ? inputs
    : undefined;
}

/** The messages when the chat request is valid; null after answering 404/422. */
function validateChat(x: Exchange, body: Record<string, unknown>): Record<string, unknown>[] | null {
  const invalid = (message: string): null => {
    writeApiError(x, 422, `Invalid params: ${message}`);
    return null;
  };
  if (typeof body.model !== 'string' || body.model === '') return invalid('model is required');
  if (modelKind(body.model) !== 'chat') {
    writeApiError(x, 404);
    return null;
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return invalid('messages must be a non-empty array');
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isRecord(message) || !ROLES.includes(String(message.role))) return invalid(`messages[${i}].role is invalid`);
    const replayedCall = message.role === 'assistant' && isRecord(message.function_call);
    if (typeof message.content !== 'string' && !(replayedCall && message.content === undefined)) {
      return invalid(`messages[${i}].content must be a string`);
    }
    if (message.role === 'system' && i > 0) return invalid('system message must be the first message');
    if (message.functions_state_id !== undefined) {
      const call = message.function_call;
      if (message.role !== 'assistant' || !isRecord(call)) {
        return invalid(`messages[${i}].functions_state_id belongs on an assistant message with a function_call`);
      }
      if (message.functions_state_id !== functionsStateIdFor(String(call.name), call.arguments)) {
        return invalid(`messages[${i}].functions_state_id is unknown for this function call`);
      }
    }
  }
  const format = body.response_format;
  if (format !== undefined) {
    if (!isRecord(format) || format.type !== 'json_schema') {
      return invalid("response_format.type must be 'json_schema'");
    }
    if (!isRecord(format.schema)) return invalid('response_format.schema must be a JSON Schema object');
    if (format.strict !== undefined && typeof format.strict !== 'boolean') {
      return invalid('response_format.strict must be a boolean');
    }
  }
  const effort = body.reasoning_effort;
  if (effort !== undefined && !(typeof effort === 'string' && REASONING_EFFORTS.includes(effort))) {
    return invalid('reasoning_effort must be one of low, medium, high');
  }
  if (body.functions !== undefined && parseFunctions(body.functions) === undefined) {
    return invalid('functions must be an array of {name, parameters}');
  }
  const choice = body.function_call;
  if (isRecord(choice) && !(parseFunctions(body.functions) ?? []).some((f) => f.name === choice.name)) {
    return invalid(`function_call name '${String(choice.name)}' is not in functions`);
  }
  return messages as Record<string, unknown>[];
}

function parseFunctions(functions: unknown): ToolSpec[] | undefined {
  if (functions === undefined) return [];
  if (!Array.isArray(functions)) return undefined;
  const specs: ToolSpec[] = [];
  for (const fn of functions as unknown[]) {
    if (!isRecord(fn) || typeof fn.name !== 'string') return undefined;
    specs.push({ name: fn.name, parameters: fn.parameters });
  }
  return specs;
}

async function chat(
  x: Exchange,
  body: Record<string, unknown>,
  messages: Record<string, unknown>[],
  headers: OutgoingHttpHeaders,
  answering: Answering,
  precachedPromptTokens: number,
  attached: ReadonlyMap<number, StoredFile[]>,
): Promise<void> {
  const last = messages[messages.length - 1];
  const lastUser = messages.findLast((message) => message.role === 'user');
  const lastUserFiles = lastUser ? (attached.get(messages.lastIndexOf(lastUser)) ?? []) : [];
  const choice = body.function_call;
  const input: ReplyInput = {
    userText: stripFaultDirectives(lastUser ? String(lastUser.content) : ''),
    toolResult: last.role === 'function' ? String(last.content) : undefined,
    tools: parseFunctions(body.functions) ?? [],
    toolChoice: choice === 'none' ? 'none' : isRecord(choice) ? { name: String(choice.name) } : 'auto',
    maxTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
  };
  const format = body.response_format;
  // Recorded: the structured answer is the JSON indented by 4 spaces.
  if (isRecord(format) && isRecord(format.schema)) input.structured = { schema: format.schema, indent: 4 };
  const blacklisted = answering.fault?.contentFilter === true;
  let reply = decideReply(input);
  if (reply.kind === 'text' && lastUserFiles.length > 0 && input.structured === undefined) {
    reply = { ...reply, text: reply.text + seenFiles(lastUserFiles) };
    reply.completionTokens = countTokens(reply.text);
  }
  if (blacklisted) {
    reply = { kind: 'text', text: GIGACHAT_BLACKLIST_TEXT, truncated: false, completionTokens: 0 };
    reply.completionTokens = countTokens(reply.text);
  }
  const promptTokens = countTokens(
    messages.map((message) => (typeof message.content === 'string' ? message.content : '')).join(' '),
  );
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: reply.completionTokens,
    total_tokens: promptTokens + reply.completionTokens,
    precached_prompt_tokens: Math.min(precachedPromptTokens, promptTokens),
  };
  const common = {
    created: Math.floor(Date.now() / 1000),
    model: `${String(body.model)}:${GIGACHAT_MODEL_VERSION}`,
    object: 'chat.completion',
  };
  const finishReason =
    reply.kind === 'tool' ? 'function_call' : blacklisted ? 'blacklist' : reply.truncated ? 'length' : 'stop';
  const message =
    reply.kind === 'tool'
      ? {
          role: 'assistant',
          content: '',
          function_call: { name: reply.name, arguments: reply.args },
          functions_state_id: functionsStateIdFor(reply.name, reply.args),
        }
      : { role: 'assistant', content: reply.text };

  if (body.stream !== true) {
    const choices = [{ message, index: 0, finish_reason: finishReason }];
    return answerJson(x, answering, { choices, ...common, usage }, headers, 'application/json; charset=utf-8');
  }
  const event = (delta: Record<string, unknown>, finish?: string, withUsage = false): Record<string, unknown> => ({
    choices: [finish === undefined ? { delta, index: 0 } : { delta, index: 0, finish_reason: finish }],
    ...common,
    ...(withUsage ? { usage } : {}),
  });
  const plan =
    reply.kind === 'tool'
      ? { content: [event(message, finishReason, true)], tail: [] }
      : {
          content: splitIntoChunks(reply.text, x.state.options.chunks).map((piece, i) =>
            event(i === 0 ? { content: piece, role: 'assistant' } : { content: piece }),
          ),
          tail: [event({ content: '' }, finishReason, true)],
        };
  return answerStream(x, answering, { framing: 'sse', lead: [], ...plan, done: true }, { ...SSE_HEADERS, ...headers });
}
