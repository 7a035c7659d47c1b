/**
 * Fault specs and the admin fault registry.
 *
 * A spec is a comma-separated list of items, combinable (`slow-first-byte=200,truncate-after=3`):
 *   status=<400..599>     answer with this status and the provider's own error body
 *   retry-after=<s>       with status: add `Retry-After: <s>`
 *   slow-first-byte=<ms>  wait this long (on top of the latency) before the response head
 *   chunk-delay=<ms>      delay between stream chunks (overrides EMULATOR_CHUNK_DELAY_MS)
 *   hang                  never answer; the socket stays open until the client aborts
 *   reset                 destroy the socket without a response
 *   malformed-json        200 with half of the JSON body; in a stream, a broken copy of the first frame after it
 *   truncate-after=<n>    stream: n content chunks, then the body ends without the final/finish event or [DONE];
 *                         non-stream: the head (with the full Content-Length) and half the body, then a socket reset
 *   expire-token          GigaChat: the bearer token of this request is revoked and answered 401 (once per refresh:
 *                         the token issued by the next OAuth call for the same key is spared on its first use); on an OAuth call,
 *                         the issued token is rejected on its first use. Other providers: same as status=401
 *   stream-error=<n>      stream: n content chunks, then the provider's mid-stream error object as a frame (Yandex:
 *                         an NDJSON line `{"error": {grpcCode, httpCode, message, httpStatus, details}}`, as the
 *                         grpc-gateway writes a failure after the head), then the body ends. Providers without such a
 *                         frame treat it as truncate-after
 *   content-filter        the answer is stopped by the provider's content filter (finish `content_filter`,
 *                         GigaChat `blacklist`, Yandex ALTERNATIVE_STATUS_CONTENT_FILTER)
 *
 * Admin entries (`POST /_emulator/faults`) apply to the provider's API routes whose stats key contains `route`
 * (default: every route but the token endpoints, GigaChat's OAuth and Yandex's IAM). Rate is counter-based, not random: the k-th request an entry sees
 * fails when floor(k·rate) > floor((k−1)·rate), so rate 0.5 fails requests 2, 4, 6…, rate 0.25 fails 4, 8…, rate 1
 * fails all. `count` = n: the entry sees only the next n matching requests, then it is removed. Entries are checked in
 * the order they were added; the first that fires wins.
 */
import type { ProviderName } from './emulator-defaults';
import { PROVIDER_NAMES } from './emulator-defaults';

export interface Fault {
  status?: number;
  retryAfterSeconds?: number;
  slowFirstByteMs?: number;
  chunkDelayMs?: number;
  hang?: boolean;
  reset?: boolean;
  malformedJson?: boolean;
  truncateAfter?: number;
  expireToken?: boolean;
  contentFilter?: boolean;
  streamErrorAfter?: number;
}

export class FaultSpecError extends Error {}

export function parseFaultSpec(spec: string): Fault {
  const fault: Fault = {};
  const items = spec
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new FaultSpecError('empty fault spec');
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = (eq === -1 ? item : item.slice(0, eq)).trim().toLowerCase();
    const raw = eq === -1 ? undefined : item.slice(eq + 1).trim();
    const int = (min: number, max = Number.MAX_SAFE_INTEGER): number => {
      const value = Number(raw);
      if (raw === undefined || raw === '' || !Number.isInteger(value) || value < min || value > max) {
        throw new FaultSpecError(`fault "${key}" needs an integer in [${min}, ${max}] (got "${raw ?? ''}")`);
      }
      return value;
    };
    switch (key) {
      case 'status':
        fault.status = int(400, 599);
        break;
      case 'retry-after':
        fault.retryAfterSeconds = int(0);
        break;
      case 'slow-first-byte':
        fault.slowFirstByteMs = int(0);
        break;
      case 'chunk-delay':
        fault.chunkDelayMs = int(0);
        break;
      case 'truncate-after':
        fault.truncateAfter = int(0);
        break;
      case 'hang':
        fault.hang = true;
        break;
      case 'reset':
        fault.reset = true;
        break;
      case 'malformed-json':
        fault.malformedJson = true;
        break;
      case 'expire-token':
        fault.expireToken = true;
        break;
      case 'stream-error':
        fault.streamErrorAfter = int(0);
        break;
      case 'content-filter':
        fault.contentFilter = true;
        break;
      default:
        throw new FaultSpecError(`unknown fault "${key}"`);
    }
  }
  if (fault.retryAfterSeconds !== undefined && fault.status === undefined) {
    throw new FaultSpecError('retry-after needs status=<code>');
  }
  return fault;
}

const DIRECTIVE = /\[\[fault:([^\]]*)\]\]/g;

/** The specs of every `[[fault:<spec>]]` directive in `text`, joined by commas; undefined when there is none. */
export function findFaultDirective(text: string): string | undefined {
  if (!text.includes('[[fault:')) return undefined;
  const specs = Array.from(text.matchAll(DIRECTIVE), (match) => match[1]);
  return specs.length > 0 ? specs.join(',') : undefined;
}

export function stripFaultDirectives(text: string): string {
  return text.includes('[[fault:') ? text.replace(DIRECTIVE, ' ').replace(/\s+/g, ' ').trim() : text.trim();
}

export interface AdminFault {
  id: number;
  provider: ProviderName;
  fault: string;
  rate: number;
  count: number | null;
  route: string | null;
  seen: number;
  fired: number;
}

interface AdminEntry extends AdminFault {
  parsed: Fault;
}

export class FaultRegistry {
  private entries: AdminEntry[] = [];
  private nextId = 1;

  /** Validates an admin request body and adds the entry; throws FaultSpecError on bad input. */
  add(input: unknown): AdminFault {
    if (typeof input !== 'object' || input === null) throw new FaultSpecError('body must be a JSON object');
    const body = input as Record<string, unknown>;
    const provider = body.provider;
    if (typeof provider !== 'string' || !PROVIDER_NAMES.includes(provider as ProviderName)) {
      throw new FaultSpecError(`provider must be one of ${PROVIDER_NAMES.join(', ')}`);
    }
    if (typeof body.fault !== 'string') throw new FaultSpecError('fault must be a string spec');
    const rate = body.rate ?? 1;
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new FaultSpecError('rate must be in [0, 1]');
    const count = body.count ?? null;
    if (count !== null && (typeof count !== 'number' || !Number.isInteger(count) || count < 1)) {
      throw new FaultSpecError('count must be a positive integer');
    }
    const route = body.route ?? null;
    if (route !== null && (typeof route !== 'string' || route === '')) {
      throw new FaultSpecError('route must be a non-empty string');
    }
    const entry: AdminEntry = {
      id: this.nextId++,
      provider: provider as ProviderName,
      fault: body.fault,
      parsed: parseFaultSpec(body.fault),
      rate,
      count,
      route,
      seen: 0,
      fired: 0,
    };
    this.entries.push(entry);
    return toPublic(entry);
  }

  list(): AdminFault[] {
    return this.entries.map(toPublic);
  }

  clear(): number {
    const cleared = this.entries.length;
    this.entries = [];
    return cleared;
  }

  /** The admin fault for this request, if an entry fires; advances the entries' counters. */
  take(provider: ProviderName, route: string): Fault | undefined {
    if (this.entries.length === 0) return undefined;
    let chosen: Fault | undefined;
    for (const entry of this.entries) {
      if (entry.provider !== provider) continue;
      if (entry.route === null ? isTokenRoute(route) : !route.includes(entry.route)) continue;
      entry.seen++;
      const fires = Math.floor(entry.seen * entry.rate + 1e-9) > Math.floor((entry.seen - 1) * entry.rate + 1e-9);
      if (fires) {
        entry.fired++;
        chosen = entry.parsed;
        break;
      }
    }
    this.entries = this.entries.filter((entry) => entry.count === null || entry.seen < entry.count);
    return chosen;
  }
}

/** Token endpoints (GigaChat OAuth, Yandex IAM) are spared by entries without a route. */
function isTokenRoute(route: string): boolean {
  return route.includes('/oauth') || route.includes('/iam/');
}

function toPublic(entry: AdminEntry): AdminFault {
  const { parsed: _parsed, ...rest } = entry;
  return rest;
}
