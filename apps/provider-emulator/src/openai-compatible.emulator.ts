/**
 * OpenAI-compatible emulator, used for MWS GPT (MTS, `/mts/v1`) and T-Bank (`/tbank/v1`), per docs/provider-protocols.md §4–§5.
 *
 * Routes: POST /chat/completions (plain and SSE, `stream_options.include_usage`, tools), GET /models,
 * GET /models/{id}, POST /embeddings (`encoding_format` float or base64). Bearer auth; errors in the OpenAI envelope.
 * T-Bank (Cloud.ru) also accepts, as Bearer, the live tokens of the Cloud.ru IAM emulator (cloud-ru-iam.emulator.ts).
 * T-Bank: a `<think>…</think>` block starts `content` when the request sets `x-emulator-think: 1`, or when the model is
 * T-pro and `chat_template_kwargs.enable_thinking` is not false (`x-emulator-think: 0` turns it off).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { EmulatorOptions } from './emulator-defaults';
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
  sendJson,
} from './emulator-http';
import type { Reply, ReplyInput, ToolSpec } from './deterministic-answer';
import {
  countTokens,
  decideReply,
  embeddingVector,
  limitTokens,
  openAiStructured,
  splitIntoChunks,
} from './deterministic-answer';
import { stripFaultDirectives } from './faults';

export interface OpenAiModel {
  id: string;
  kind: 'chat' | 'embedding';
}

export interface OpenAiCompatibleProfile {
  provider: 'mts' | 'tbank';
  apiKey: string;
  ownedBy: string;
  models: OpenAiModel[];
  /** T-Bank `<think>` support. */
  thinking: boolean;
  /** Bearer tokens accepted besides the API key (Cloud.ru IAM tokens for T-Bank). */
  acceptsToken?: (token: string) => boolean;
}

export const MTS_MODELS: OpenAiModel[] = [
  { id: 'mws-gpt-alpha', kind: 'chat' },
  { id: 'qwen2.5-72b-instruct', kind: 'chat' },
  { id: 'bge-m3', kind: 'embedding' },
];

export const TBANK_MODELS: OpenAiModel[] = [
  { id: 't-tech/T-pro-it-2.0', kind: 'chat' },
  { id: 't-tech/T-lite-it-2.1', kind: 'chat' },
];

/** `created` of every listed model: 2025-01-01T00:00:00Z. */
const MODEL_CREATED = 1735689600;

export function mtsProfile(options: EmulatorOptions): OpenAiCompatibleProfile {
  return { provider: 'mts', apiKey: options.mtsApiKey, ownedBy: 'mts', models: MTS_MODELS, thinking: false };
}

export function tbankProfile(
  options: EmulatorOptions,
  acceptsToken?: (token: string) => boolean,
): OpenAiCompatibleProfile {
  return {
    provider: 'tbank',
    apiKey: options.tbankApiKey,
    ownedBy: 't-tech',
    models: TBANK_MODELS,
    thinking: true,
    acceptsToken,
  };
}

const ERROR_KINDS: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  402: ['insufficient_quota', 'insufficient_quota'],
  403: ['permission_error', 'permission_denied'],
  404: ['invalid_request_error', 'not_found'],
  413: ['invalid_request_error', 'request_too_large'],
  429: ['rate_limit_error', 'rate_limit_exceeded'],
  500: ['server_error', 'internal_error'],
  502: ['server_error', 'bad_gateway'],
  503: ['server_error', 'service_unavailable'],
  504: ['server_error', 'timeout'],
};

function sendOpenAiError(
  x: Exchange,
  status: number,
  message: string,
  extra: { code?: string; param?: string; headers?: OutgoingHttpHeaders } = {},
): void {
  const [type, code] = ERROR_KINDS[status] ?? [status >= 500 ? 'server_error' : 'invalid_request_error', null];
  const error = { message, type, param: extra.param ?? null, code: extra.code ?? code };
  sendJson(x.res, status, { error }, extra.headers);
}

const writeError: ErrorWriter = (x, status, message, headers) =>
  sendOpenAiError(x, status, message ?? `${status} ${STATUS_CODES[status] ?? 'Error'}`, { headers });

function routeOf(method: string | undefined, path: string): string {
  if (method === 'POST' && path === '/chat/completions') return 'POST /chat/completions';
  if (method === 'POST' && path === '/embeddings') return 'POST /embeddings';
  if (method === 'GET' && path === '/models') return 'GET /models';
  if (method === 'GET' && path.startsWith('/models/')) return 'GET /models/{id}';
  return 'unmatched';
}

export function createOpenAiCompatibleEmulator(
  state: EmulatorState,
  profile: OpenAiCompatibleProfile,
): ProviderHandler {
  const expectedAuth = `Bearer ${profile.apiKey}`;
  const models = new Map(profile.models.map((model) => [model.id, model]));

  return async (req, res, path) => {
    const route = routeOf(req.method, path);
    state.stats.request(profile.provider, route);
    const x: Exchange = { req, res, provider: profile.provider, route, state };
    if (route === 'unmatched') {
      return sendOpenAiError(x, 404, `Unknown request URL: ${req.method} ${path}`, { code: 'unknown_url' });
    }
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : '';
    if (req.headers.authorization !== expectedAuth && !(bearer && profile.acceptsToken?.(bearer))) {
      return sendOpenAiError(x, 401, 'Incorrect API key provided.');
    }
    switch (route) {
      case 'POST /chat/completions':
        return chatCompletions(x, profile, models, await readBody(req));
      case 'POST /embeddings':
        return embeddings(x, models, await readBody(req));
      case 'GET /models': {
        const answering = await beginAnswer(x, writeError);
        if (!answering) return;
        return answerJson(x, answering, { object: 'list', data: profile.models.map((m) => modelObject(profile, m)) });
      }
      default: {
        const model = models.get(decodeURIComponent(path.slice('/models/'.length)));
        if (!model) return modelNotFound(x, path.slice('/models/'.length));
        const answering = await beginAnswer(x, writeError);
        if (!answering) return;
        return answerJson(x, answering, modelObject(profile, model));
      }
    }
  };
}

function modelObject(profile: OpenAiCompatibleProfile, model: OpenAiModel): Record<string, unknown> {
  return { id: model.id, object: 'model', created: MODEL_CREATED, owned_by: profile.ownedBy };
}

function modelNotFound(x: Exchange, id: string): void {
  sendOpenAiError(x, 404, `The model \`${id}\` does not exist or you do not have access to it.`, {
    code: 'model_not_found',
    param: 'model',
  });
}

/** Text of an OpenAI message `content`: a string, or the text parts joined by "\n". */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part): part is Record<string, unknown> => isRecord(part) && typeof part.text === 'string')
    .map((part) => part.text as string)
    .join('\n');
}

async function chatCompletions(
  x: Exchange,
  profile: OpenAiCompatibleProfile,
  models: Map<string, OpenAiModel>,
  rawBody: string,
): Promise<void> {
  const body = parseJsonObject(rawBody);
  if (!body) return sendOpenAiError(x, 400, 'We could not parse the JSON body of your request.');
  if (typeof body.model !== 'string' || body.model === '') {
    return sendOpenAiError(x, 400, 'You must provide a model parameter.', { param: 'model' });
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    return sendOpenAiError(x, 400, "'messages' must be a non-empty array.", { param: 'messages' });
  }
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isRecord(message) || !['system', 'developer', 'user', 'assistant', 'tool'].includes(String(message.role))) {
      return sendOpenAiError(x, 400, `Invalid value for 'messages[${i}].role'.`, { param: `messages[${i}].role` });
    }
  }
  const model = models.get(body.model);
  if (!model) return modelNotFound(x, body.model);
  if (model.kind !== 'chat') {
    return sendOpenAiError(x, 400, `The model \`${model.id}\` does not support chat completions.`, { param: 'model' });
  }
  const tools = parseTools(body.tools);
  if (tools === undefined)
    return sendOpenAiError(x, 400, "Invalid 'tools': each needs function.name.", { param: 'tools' });
  const toolChoice = parseToolChoice(body.tool_choice);
  if (typeof toolChoice === 'object' && !tools.some((tool) => tool.name === toolChoice.name)) {
    return sendOpenAiError(x, 400, `tool_choice names an unknown function '${toolChoice.name}'.`, {
      param: 'tool_choice',
    });
  }

  const typed = messages as Record<string, unknown>[];
  const last = typed[typed.length - 1];
  const lastUser = typed.findLast((message) => message.role === 'user');
  const rawUserText = lastUser ? contentText(lastUser.content) : '';
  const answering = await beginAnswer(x, writeError, rawUserText);
  if (!answering) return;

  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const input: ReplyInput = {
    userText: stripFaultDirectives(rawUserText),
    toolResult: last.role === 'tool' ? contentText(last.content) : undefined,
    tools,
    toolChoice,
    maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
    think: profile.thinking && wantsThinking(x, model.id, body.chat_template_kwargs),
    structured: openAiStructured(body.response_format),
  };
  let reply = decideReply(input);
  let filtered = false;
  if (answering.fault?.contentFilter && reply.kind === 'text') {
    const cut = limitTokens(reply.text, Math.max(1, Math.floor(countTokens(reply.text) / 2)));
    reply = { ...reply, text: cut.text, completionTokens: countTokens(cut.text) };
    filtered = true;
  }
  const promptTokens = countTokens(typed.map((message) => contentText(message.content)).join(' '));
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: reply.completionTokens,
    total_tokens: promptTokens + reply.completionTokens,
  };
  const finishReason =
    reply.kind === 'tool' ? 'tool_calls' : filtered ? 'content_filter' : reply.truncated ? 'length' : 'stop';
  const seq = x.state.nextSeq();
  const common = { id: `chatcmpl-emu-${seq}`, created: Math.floor(Date.now() / 1000), model: model.id };
  const toolCallId = `call_emu_${seq}`;

  if (body.stream !== true) {
    const message =
      reply.kind === 'tool'
        ? { role: 'assistant', content: null, tool_calls: [toolCallObject(toolCallId, reply)] }
        : { role: 'assistant', content: reply.text };
    const choice = { index: 0, message, logprobs: null, finish_reason: finishReason };
    return answerJson(x, answering, { ...common, object: 'chat.completion', choices: [choice], usage });
  }

  const chunk = (delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> => ({
    ...common,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const chunks = x.state.options.chunks;
  const content =
    reply.kind === 'tool'
      ? [
          chunk({ tool_calls: [{ index: 0, ...toolCallObject(toolCallId, reply, '') }] }),
          ...splitIntoChunks(JSON.stringify(reply.args), chunks).map((piece) =>
            chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }),
          ),
        ]
      : splitIntoChunks(reply.text, chunks).map((piece) => chunk({ content: piece }));
  const tail: unknown[] = [chunk({}, finishReason)];
  if (isRecord(body.stream_options) && body.stream_options.include_usage === true) {
    tail.push({ ...common, object: 'chat.completion.chunk', choices: [], usage });
  }
  return answerStream(
    x,
    answering,
    { framing: 'sse', lead: [chunk({ role: 'assistant', content: '' })], content, tail, done: true },
    SSE_HEADERS,
  );
}

function toolCallObject(id: string, reply: Reply & { kind: 'tool' }, args = JSON.stringify(reply.args)) {
  return { id, type: 'function', function: { name: reply.name, arguments: args } };
}

/** undefined when the tools are malformed. */
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

function wantsThinking(x: Exchange, modelId: string, templateKwargs: unknown): boolean {
  const forced = header(x.req, 'x-emulator-think');
  if (forced === '1' || forced === 'true') return true;
  if (forced === '0' || forced === 'false') return false;
  const disabled = isRecord(templateKwargs) && templateKwargs.enable_thinking === false;
  return modelId.includes('T-pro') && !disabled;
}

async function embeddings(x: Exchange, models: Map<string, OpenAiModel>, rawBody: string): Promise<void> {
  const body = parseJsonObject(rawBody);
  if (!body) return sendOpenAiError(x, 400, 'We could not parse the JSON body of your request.');
  if (typeof body.model !== 'string') {
    return sendOpenAiError(x, 400, 'You must provide a model parameter.', { param: 'model' });
  }
  const inputs = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((item) => typeof item === 'string')) {
    return sendOpenAiError(x, 400, "'input' must be a string or a non-empty array of strings.", { param: 'input' });
  }
  const model = models.get(body.model);
  if (!model) return modelNotFound(x, body.model);
  if (model.kind !== 'embedding') {
    return sendOpenAiError(x, 400, `The model \`${model.id}\` does not support embeddings.`, { param: 'model' });
  }
  const answering: Answering | undefined = await beginAnswer(x, writeError);
  if (!answering) return;
  const base64 = body.encoding_format === 'base64';
  const texts = inputs;
  const data = texts.map((text, index) => {
    const vector = embeddingVector(text);
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const promptTokens = texts.reduce((sum, text) => sum + countTokens(text), 0);
  return answerJson(x, answering, {
    object: 'list',
    data,
    model: model.id,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}
