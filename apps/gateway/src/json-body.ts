import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '@xrouter/auth';
import { ErrorCode, GatewayError, releaseUnreadBody } from '@xrouter/common';
import { appConfig } from './app.config';

const SIZE_PATTERN = /^(\d+)(b|kb|mb)$/i;

/**
 * How deeply arrays and objects may nest in a body. Far more than any request needs (tool parameter schemas
 * included), far less than the depth at which the recursive DTO transform and validation overflow the stack.
 */
export const MAX_JSON_DEPTH = 100;
const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** `MAX_BODY_SIZE` (`512kb`, `10mb`, validated by the app config) in bytes. */
export function bodySizeBytes(size: string): number {
  const match = SIZE_PATTERN.exec(size);
  if (!match) throw new Error(`Not a body size: ${size}`);
  return Number(match[1]) * UNIT_BYTES[match[2].toLowerCase()];
}

/** Whether a `Content-Type` says JSON (`application/json`, `application/merge-patch+json`, with any parameters). */
export function isJsonContentType(header: string | undefined): boolean {
  return header !== undefined && /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(header);
}

function tooLarge(): GatewayError {
  return new GatewayError(ErrorCode.PAYLOAD_TOO_LARGE, 'The request body is larger than this gateway accepts.');
}

/**
 * Whether arrays and objects nest more than `levelsLeft` deep. Walks values, not bytes (a string is one step however
 * long), and stops at the first branch that is too deep, so its own recursion is bounded by the limit.
 */
export function nestsDeeperThan(value: unknown, levelsLeft: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levelsLeft === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestsDeeperThan(item, levelsLeft - 1)) return true;
    return false;
  }
  for (const key in value) if (nestsDeeperThan((value as Record<string, unknown>)[key], levelsLeft - 1)) return true;
  return false;
}

/** zlib's errors (`Z_DATA_ERROR`, `Z_BUF_ERROR` for a truncated stream, …): the client's compressed bytes are bad. */
function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** The body as a stream of plain bytes: gzip and deflate are inflated, any other encoding is refused. */
function decoded(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return req;
  if (encoding === 'gzip') return req.pipe(createGunzip());
  if (encoding === 'deflate') return req.pipe(createInflate());
  throw new GatewayError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, `Unsupported content encoding "${encoding}".`);
}

/**
 * Reads a request body of at most `limitBytes` (after inflating) and parses it as JSON. Rejects with a GatewayError
 * the error filter answers as is: 413 when the body is too large (a declared `Content-Length` over the limit is
 * refused before reading), 400 `invalid_json` when it does not parse or nests deeper than {@link MAX_JSON_DEPTH},
 * 400 when its gzip or deflate bytes are corrupt, 415 for a charset other than UTF-8 or an unknown content encoding.
 * An empty body is `undefined`.
 */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, limitBytes: number): Promise<unknown> {
  try {
    return await readJson(req, limitBytes);
  } catch (error) {
    // A body refused while being read: a rest of up to the limit is still read and dropped, more closes the socket.
    releaseUnreadBody(req, res, 2 * limitBytes);
    throw error;
  }
}

async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const charset = /;\s*charset=("?)([\w-]+)\1/i.exec(req.headers['content-type'] ?? '')?.[2]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new GatewayError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, `Unsupported charset "${charset.toUpperCase()}".`);
  }
  const declared = Number(req.headers['content-length']);
  if (declared > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // Stopping early must not destroy the request: that would reset the connection before the 413 is written.
    for await (const chunk of decoded(req).iterator({ destroyOnReturn: false })) {
      size += (chunk as Buffer).length;
      if (size > limitBytes) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (!isZlibError(error)) throw error;
    const encoding = String(req.headers['content-encoding']).toLowerCase();
    throw new GatewayError(ErrorCode.BAD_REQUEST, `The request body is not valid ${encoding} data.`, { cause: error });
  }
  if (size === 0) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new GatewayError(ErrorCode.INVALID_JSON, 'The request body is not valid JSON.', { cause: error });
  }
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    throw new GatewayError(ErrorCode.INVALID_JSON, `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return body;
}

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** Whether a request carries a body at all (a declared non-zero length, or chunks). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads a JSON body into `req.body`, as the LAST global guard (`gateway.module.ts`): not a permission check but the
 * final step of admission, so no body is read — and no 10 MB parsed — for a caller the guards before it refused
 * (Nest runs guards before pipes and handlers, and both doors run the global guards in order: `front-door/`). A body
 * some other reader took (the OAuth form) is left alone; one in a type that is neither JSON nor a form is a 415 on a
 * closed route, and left to the route on a public one.
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  private readonly limitBytes: number;

  constructor(
    private readonly reflector: Reflector,
    @Inject(appConfig.KEY) settings: ConfigType<typeof appConfig>,
  ) {
    this.limitBytes = bodySizeBytes(settings.maxBodySize);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<IncomingMessage & { body?: unknown }>();
    if (req.body !== undefined || !hasBody(req)) return true;
    const type = req.headers['content-type'];
    // `curl -d` says form-urlencoded for what is JSON; a form the route reads has been read by its own reader.
    if (type !== undefined && !isJsonContentType(type) && !FORM.test(type)) {
      // The public routes (the OAuth pages) answer a body they cannot read in their own way.
      if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
      throw new GatewayError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Send the request body as application/json.');
    }
    req.body = await readJsonBody(req, http.getResponse<ServerResponse>(), this.limitBytes);
    return true;
  }
}
