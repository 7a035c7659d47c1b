import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';
import { DEFAULT_PORT, defineConfig } from '@xrouter/config';

const HTTP_HEADERS_TIMEOUT_MS = 10_000;
const HTTP_REQUEST_TIMEOUT_MS = 30_000;
const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;

/** node:http refuses a headers timeout longer than the request timeout (which covers the headers too). */
function NotOverRequestTimeout(): PropertyDecorator {
  return ValidateBy({
    name: 'notOverRequestTimeout',
    validator: {
      validate: (value: unknown, args) =>
        typeof value !== 'number' ||
        value <= ((args?.object as AppEnv).HTTP_REQUEST_TIMEOUT_MS ?? HTTP_REQUEST_TIMEOUT_MS),
      defaultMessage: () => 'HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS',
    },
  });
}

class AppEnv {
  @IsOptional() @IsInt() @Min(0) @Max(65535) PORT?: number;
  @IsOptional() @IsString() HOST?: string;
  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL?: string;
  @IsOptional() @IsBoolean() LOG_PRETTY?: boolean;
  @IsOptional()
  @Matches(/^\d+(b|kb|mb)$/i, { message: 'MAX_BODY_SIZE must look like 512kb or 10mb' })
  MAX_BODY_SIZE?: string;
  @IsOptional() @IsInt() @Min(0) SHUTDOWN_DELAY_MS?: number;
  @IsOptional() @IsInt() @Min(0) SHUTDOWN_GRACE_MS?: number;
  @IsOptional() @IsInt() @Min(1) @NotOverRequestTimeout() HTTP_HEADERS_TIMEOUT_MS?: number;
  @IsOptional() @IsInt() @Min(1) HTTP_REQUEST_TIMEOUT_MS?: number;
  @IsOptional() @IsInt() @Min(1) HTTP_KEEP_ALIVE_TIMEOUT_MS?: number;
  @IsOptional() @IsString() XROUTER_CONFIG?: string;
  @IsOptional() @IsBoolean() FAST_ROUTES?: boolean;
  @IsOptional() @IsInt() @Min(0) WEBSOCKET_IDLE_TIMEOUT_MS?: number;
  @IsOptional() @IsInt() @Min(1) ANSWER_CACHE_TTL_MS?: number;
  @IsOptional()
  @Matches(/^(true|false|\d+|[\w.:/,\s-]+)$/, {
    message: 'TRUST_PROXY must be true, false, a hop count, or addresses/subnets such as loopback, 10.0.0.0/8',
  })
  TRUST_PROXY?: string;
}

/**
 * Express's `trust proxy` from `TRUST_PROXY`: which proxies' `X-Forwarded-For` names the client (the address the
 * OAuth endpoints' per-IP limit counts). Unset: nobody's — the socket's address is the client.
 */
export function trustProxySetting(value: string | undefined): boolean | number | string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

export const appConfig = defineConfig('app', AppEnv, (env) => ({
  port: env.PORT ?? DEFAULT_PORT,
  host: env.HOST ?? '0.0.0.0',
  logLevel: env.LOG_LEVEL ?? 'info',
  logPretty: env.LOG_PRETTY ?? false,
  maxBodySize: env.MAX_BODY_SIZE ?? '10mb',
  /** What SIGTERM starts: readiness says draining at once, and every answer says `connection: close`. */
  shutdown: {
    /**
     * How long new connections are still accepted: until the load balancers have stopped sending to this process
     * (Kubernetes: until the endpoints controller has taken the pod out; the chart sets it). 0 outside them.
     */
    delayMs: env.SHUTDOWN_DELAY_MS ?? 0,
    /** Then, how long in-flight requests (streams included) may take to finish. */
    graceMs: env.SHUTDOWN_GRACE_MS ?? 30_000,
  },
  routingConfigPath: env.XROUTER_CONFIG ?? 'config/xrouter.yaml',
  /**
   * Whether the `@FastRoute()` routes are served ahead of express (`front-door/fast-dispatcher.ts`). Off, Nest
   * serves them like every other route, through the same guards and pipes: for A/B runs of the bench.
   */
  fastRoutes: env.FAST_ROUTES ?? true,
  /** A WebSocket with nothing running and no message for this long is closed (normal close, reason `idle`); 0 never. */
  webSocketIdleMs: env.WEBSOCKET_IDLE_TIMEOUT_MS ?? 300_000,
  trustProxy: trustProxySetting(env.TRUST_PROXY),
  /** How long a cached answer is served (`answer-cache.ts`): one hour unless set. */
  answerCacheTtlMs: env.ANSWER_CACHE_TTL_MS ?? 3_600_000,
  /** Slow or idle clients must not hold sockets: node:http answers 408 and closes when these run out. */
  http: {
    /** From the connection (or the previous request) to the end of the request headers. */
    headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS ?? HTTP_HEADERS_TIMEOUT_MS,
    /** The whole request, body included. Responses (streams) are not bounded by it. */
    requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS ?? HTTP_REQUEST_TIMEOUT_MS,
    /** How long an idle keep-alive connection stays open between requests. */
    keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? HTTP_KEEP_ALIVE_TIMEOUT_MS,
  },
}));

export type ShutdownSettings = ReturnType<typeof appConfig>['shutdown'];
