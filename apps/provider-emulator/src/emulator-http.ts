/**
 * HTTP plumbing shared by the protocol emulators: body reading, JSON and stream writing, pacing and the
 * fault steps common to every protocol. Zero latency and zero chunk delay take no timer at all.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ProviderName } from './emulator-defaults';
import type { EmulatorState } from './emulator-state';
import type { Fault } from './faults';
import { FaultSpecError, findFaultDirective, parseFaultSpec } from './faults';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** One request to a provider route. `route` is the stats key, e.g. `POST /chat/completions`. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly provider: ProviderName;
  readonly route: string;
  readonly state: EmulatorState;
}

/** Handles one request whose path (query removed) starts after the provider prefix, e.g. `/chat/completions`. */
export type ProviderHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

export interface Pacing {
  latencyMs: number;
  chunkDelayMs: number;
}

/** Writes the provider's own error body for `status`. */
export type ErrorWriter = (x: Exchange, status: number, message?: string, headers?: OutgoingHttpHeaders) => void;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8');
}

/** The body as bytes (a multipart upload). */
export function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy(new Error('request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The body parsed as a JSON object, or undefined when it is not one. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: OutgoingHttpHeaders,
  contentType = 'application/json',
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Resolves after `ms`, or at once when the response closes first; the timer is always cleared. */
export function pause(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve();
    }, ms);
    res.once('close', onClose);
  });
}

function headerMs(req: IncomingMessage, name: string): number | undefined {
  const raw = header(req, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Options, overridden per request by `x-emulator-latency-ms` / `x-emulator-chunk-delay-ms` and by the fault. */
export function pacingFor(x: Exchange, fault: Fault | undefined): Pacing {
  const { options } = x.state;
  const latencyMs = headerMs(x.req, 'x-emulator-latency-ms') ?? options.latencyMs;
  const chunkDelayMs = headerMs(x.req, 'x-emulator-chunk-delay-ms') ?? options.chunkDelayMs;
  if (fault === undefined) return { latencyMs, chunkDelayMs };
  return { latencyMs: latencyMs + (fault.slowFirstByteMs ?? 0), chunkDelayMs: fault.chunkDelayMs ?? chunkDelayMs };
}

/**
 * The fault of this request: the `x-emulator-fault` header, else `[[fault:…]]` directives in `userText`, else an
 * admin entry. Throws FaultSpecError on a bad header or directive.
 */
export function resolveFault(x: Exchange, userText: string | undefined): Fault | undefined {
  const spec = header(x.req, 'x-emulator-fault') || (userText === undefined ? undefined : findFaultDirective(userText));
  const fault = spec ? parseFaultSpec(spec) : x.state.faults.take(x.provider, x.route);
  if (fault !== undefined) x.state.stats.faultInjected(x.provider);
  return fault;
}

export interface Answering {
  fault: Fault | undefined;
  pacing: Pacing;
}

/**
 * Resolves the fault and applies the ones that replace the response (bad spec → 400, reset, hang, status).
 * Returns undefined when the response is taken care of, else the fault and pacing for the answer.
 */
export async function beginAnswer(
  x: Exchange,
  writeError: ErrorWriter,
  userText?: string,
): Promise<Answering | undefined> {
  let fault: Fault | undefined;
  try {
    fault = resolveFault(x, userText);
  } catch (error: unknown) {
    if (!(error instanceof FaultSpecError)) throw error;
    writeError(x, 400, `Invalid emulator fault spec: ${error.message}`);
    return undefined;
  }
  const pacing = pacingFor(x, fault);
  if (fault === undefined) return { fault, pacing };
  if (fault.reset) {
    x.req.socket.destroy();
    return undefined;
  }
  if (fault.hang) return undefined;
  if (fault.status !== undefined) {
    if (pacing.latencyMs > 0) await pause(pacing.latencyMs, x.res);
    if (x.res.destroyed) return undefined;
    const headers =
      fault.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(fault.retryAfterSeconds) };
    writeError(x, fault.status, undefined, headers);
    return undefined;
  }
  return { fault, pacing };
}

/** Sends a JSON answer after the latency; `malformed-json` and `truncate-after` break it. */
export async function answerJson(
  x: Exchange,
  answering: Answering,
  body: unknown,
  headers?: OutgoingHttpHeaders,
  contentType = 'application/json',
): Promise<void> {
  const { fault, pacing } = answering;
  if (pacing.latencyMs > 0) {
    await pause(pacing.latencyMs, x.res);
    if (x.res.destroyed) return;
  }
  if (fault?.malformedJson || fault?.truncateAfter !== undefined) {
    const text = JSON.stringify(body);
    const half = text.slice(0, Math.floor(text.length / 2));
    const fullLength = fault.malformedJson ? Buffer.byteLength(half) : Buffer.byteLength(text);
    x.res.writeHead(200, { 'content-type': contentType, 'content-length': fullLength, ...headers });
    if (fault.malformedJson) x.res.end(half);
    else x.res.write(half, () => x.res.destroy());
    return;
  }
  sendJson(x.res, 200, body, headers, contentType);
}

/**
 * A streamed answer: `lead` frames (e.g. the OpenAI role chunk), `content` frames (the ones `truncate-after` counts)
 * and `tail` frames (finish/usage/final). `done` appends `data: [DONE]` (SSE only).
 */
export interface StreamPlan {
  framing: 'sse' | 'ndjson';
  lead: unknown[];
  content: unknown[];
  tail: unknown[];
  done: boolean;
  /** The provider's mid-stream error frame, sent by `stream-error=n` after n content frames. */
  error?: unknown;
}

function frame(framing: StreamPlan['framing'], json: string): string {
  return framing === 'sse' ? `data: ${json}\n\n` : `${json}\n`;
}

/**
 * Streams the plan: latency before the head, chunk delay between frames. `truncate-after=n` keeps the lead and n content
 * frames and ends the body; `stream-error=n` does the same and then sends the plan's error frame; `malformed-json` inserts a half-cut copy of the first frame right after it.
 */
export async function answerStream(
  x: Exchange,
  answering: Answering,
  plan: StreamPlan,
  headers: OutgoingHttpHeaders,
): Promise<void> {
  const { fault, pacing } = answering;
  const cutAfter = fault?.truncateAfter ?? fault?.streamErrorAfter;
  const objects =
    cutAfter !== undefined
      ? [...plan.lead, ...plan.content.slice(0, cutAfter)]
      : [...plan.lead, ...plan.content, ...plan.tail];
  if (fault?.truncateAfter === undefined && fault?.streamErrorAfter !== undefined && plan.error !== undefined) {
    objects.push(plan.error);
  }
  const frames = objects.map((object) => frame(plan.framing, JSON.stringify(object)));
  if (cutAfter === undefined && plan.done && plan.framing === 'sse') frames.push('data: [DONE]\n\n');
  if (fault?.malformedJson && objects.length > 0) {
    const first = JSON.stringify(objects[0]);
    frames.splice(1, 0, frame(plan.framing, first.slice(0, Math.floor(first.length / 2))));
  }

  const { res } = x;
  if (pacing.latencyMs > 0) {
    await pause(pacing.latencyMs, res);
    if (res.destroyed) return;
  }
  res.writeHead(200, headers);
  if (pacing.chunkDelayMs <= 0) {
    res.end(frames.join(''));
    return;
  }
  for (let i = 0; i < frames.length; i++) {
    if (i > 0) {
      await pause(pacing.chunkDelayMs, res);
      if (res.destroyed) return;
    }
    res.write(frames[i]);
  }
  res.end();
}

export const SSE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
};
