import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { ErrorCode, GatewayError } from '@xrouter/common';

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
    if (!req.complete) discardRest(req, res, limitBytes);
    throw error;
  }
}

/**
 * The rest of a refused body is read and dropped, so a client still uploading gets the error answer instead of a
 * reset, and the connection stays usable (left unread, the body would stall it). A rest known or found to be over
 * `capBytes` closes the connection instead: nobody gets to make the gateway read without bound.
 */
function discardRest(req: IncomingMessage, res: ServerResponse, capBytes: number): void {
  req.unpipe();
  if (Number(req.headers['content-length']) > 2 * capBytes) {
    res.setHeader('connection', 'close');
    return;
  }
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > capBytes) req.socket.destroy();
  });
  req.resume();
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

/**
 * The same reader as express middleware, for the routes Nest serves: JSON bodies land in `req.body`, other
 * content types are left to their own parsers (the OAuth form), failures go to the error filter.
 */
export function jsonBodyMiddleware(limitBytes: number) {
  return (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: (error?: unknown) => void): void => {
    if (!isJsonContentType(req.headers['content-type'])) return next();
    readJsonBody(req, res, limitBytes).then((body) => {
      req.body = body;
      next();
    }, next);
  };
}
