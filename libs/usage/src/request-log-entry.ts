/** What the request path hands the recorder: one finished request, whatever its outcome. */
export interface RequestLogEntry {
  /** When the request arrived. Its UTC day picks the partition. */
  createdAt: Date;
  requestId: string;
  /** API key and its owner; null for requests made without one (the admin key, public routes). */
  keyId: string | null;
  userId: string | null;
  /** The model name the client asked for. */
  model: string;
  /** The deployment that answered last (null when none was tried). */
  provider: string | null;
  account: string | null;
  upstreamModel: string | null;
  /** HTTP status the client got. */
  status: number;
  /** `ErrorCode` value when the request failed (also for a stream that failed after its first byte). */
  errorCode: string | null;
  /** Upstream attempts, retries and fallbacks included. */
  attempts: number;
  latencyMs: number;
  /** Time to first token of a stream; null when nothing was streamed. */
  ttftMs: number | null;
  promptTokens: number;
  completionTokens: number;
  /** Decimal RUB, as `costRub()` returns it. */
  costRub: string;
  stream: boolean;
  /** The end user the client named (OpenAI's `user`, else `safety_identifier`); null when it named none. */
  endUser: string | null;
}

/** An entry made safe to insert: every value fits its column, so one bad entry can never fail a whole batch. */
export interface RequestLogRow extends RequestLogEntry {
  totalTokens: number;
}

const INT32_MAX = 2_147_483_647;
const SMALLINT_MAX = 32_767;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COST = /^\d{1,11}(\.\d{1,9})?$/;
const MAX_TEXT = 256;

function int(value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return 0;
  return Math.min(Math.trunc(value), max);
}

/** PostgreSQL text cannot hold NUL; names and codes are short, so anything longer is cut. */
function text(value: unknown, max = MAX_TEXT): string {
  if (typeof value !== 'string') return '';
  const clean = value.includes('\0') ? value.replaceAll('\0', '') : value;
  return clean.length > max ? clean.slice(0, max) : clean;
}

function optionalText(value: unknown): string | null {
  return value === null || value === undefined ? null : text(value);
}

function uuid(value: unknown): string | null {
  return typeof value === 'string' && UUID.test(value) ? value : null;
}

export function toRequestLogRow(entry: RequestLogEntry, now: () => Date = () => new Date()): RequestLogRow {
  const promptTokens = int(entry.promptTokens, INT32_MAX);
  const completionTokens = int(entry.completionTokens, INT32_MAX);
  const createdAt =
    entry.createdAt instanceof Date && Number.isFinite(entry.createdAt.getTime()) ? entry.createdAt : now();
  return {
    createdAt,
    requestId: text(entry.requestId),
    keyId: uuid(entry.keyId),
    userId: uuid(entry.userId),
    model: text(entry.model),
    provider: optionalText(entry.provider),
    account: optionalText(entry.account),
    upstreamModel: optionalText(entry.upstreamModel),
    status: int(entry.status, 999),
    errorCode: optionalText(entry.errorCode),
    attempts: int(entry.attempts, SMALLINT_MAX),
    latencyMs: int(entry.latencyMs, INT32_MAX),
    ttftMs: entry.ttftMs === null || entry.ttftMs === undefined ? null : int(entry.ttftMs, INT32_MAX),
    endUser: entry.endUser === '' ? null : optionalText(entry.endUser),
    promptTokens,
    completionTokens,
    totalTokens: Math.min(promptTokens + completionTokens, INT32_MAX),
    costRub: typeof entry.costRub === 'string' && COST.test(entry.costRub) ? entry.costRub : '0',
    stream: entry.stream === true,
  };
}
