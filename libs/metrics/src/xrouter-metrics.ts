import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type BreakerStateName = 'closed' | 'half-open' | 'open';
const BREAKER_VALUE: Record<BreakerStateName, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * Every metric the gateway exports, on one registry. Labels are low-cardinality only: routes are route templates,
 * models are configured names (direct `provider/model` addressing is labelled `direct`), deployments come from the
 * routing config. Never a key, a user or a request id.
 */
export class XRouterMetrics {
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly upstreamRequests: Counter<'provider' | 'model' | 'outcome'>;
  readonly upstreamDuration: Histogram<'provider' | 'model' | 'outcome'>;
  readonly upstreamTimeToFirstToken: Histogram<'provider' | 'model'>;
  readonly breakerState: Gauge<'deployment'>;
  readonly dependencyUp: Gauge<'dependency'>;
  readonly credentialsRejected: Gauge<'provider' | 'account'>;
  readonly breakerTransitions: Counter<'deployment' | 'to'>;
  readonly retries: Counter<'model'>;
  readonly tokens: Counter<'provider' | 'model' | 'kind'>;
  readonly costRub: Counter<'provider' | 'model'>;
  readonly budgetRejections: Counter<'scope'>;
  readonly usageBuffered: Gauge;
  readonly usageDropped: Counter;
  readonly usageFlushDuration: Histogram;
  private usageBufferSource: () => number = () => 0;
  readonly fallbacks: Counter<'model'>;
  readonly rateLimitRejections: Counter<'kind'>;
  readonly storeErrors: Counter<'operation'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.httpRequests = new Counter({
      name: 'xrouter_http_requests_total',
      help: 'HTTP requests answered, by route template and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'xrouter_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (for streams: until the last byte)',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.upstreamRequests = new Counter({
      name: 'xrouter_upstream_requests_total',
      help: 'Attempts sent to providers, by outcome (ok or an error code)',
      labelNames: ['provider', 'model', 'outcome'],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'xrouter_upstream_request_duration_seconds',
      help: 'Duration of one attempt at a provider (for streams: until the first chunk)',
      labelNames: ['provider', 'model', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.upstreamTimeToFirstToken = new Histogram({
      name: 'xrouter_upstream_time_to_first_token_seconds',
      help: 'Time from sending a streamed request to its first chunk',
      labelNames: ['provider', 'model'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'xrouter_circuit_breaker_state',
      help: 'Circuit breaker per deployment: 0 closed, 1 half-open, 2 open',
      labelNames: ['deployment'],
      registers,
    });
    this.breakerTransitions = new Counter({
      name: 'xrouter_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by the state entered',
      labelNames: ['deployment', 'to'],
      registers,
    });
    this.retries = new Counter({
      name: 'xrouter_routing_retries_total',
      help: 'Attempts beyond the first for one request',
      labelNames: ['model'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'xrouter_routing_fallbacks_total',
      help: 'Requests answered by another deployment than the first one tried',
      labelNames: ['model'],
      registers,
    });
    this.tokens = new Counter({
      name: 'xrouter_tokens_total',
      help: 'Tokens billed, by provider, model and kind (prompt or completion)',
      labelNames: ['provider', 'model', 'kind'],
      registers,
    });
    this.costRub = new Counter({
      name: 'xrouter_cost_rub_total',
      help: 'Cost of requests in RUB, from the routing config price table',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.budgetRejections = new Counter({
      name: 'xrouter_budget_rejections_total',
      help: 'Requests refused because a monthly budget was used up, by whose budget (key or user)',
      labelNames: ['scope'],
      registers,
    });
    const bufferSource = () => this.usageBufferSource();
    this.usageBuffered = new Gauge({
      name: 'xrouter_usage_buffer_rows',
      help: 'Usage rows waiting in memory to be written',
      registers,
      collect() {
        this.set(bufferSource());
      },
    });
    this.usageDropped = new Counter({
      name: 'xrouter_usage_dropped_rows_total',
      help: 'Usage rows lost: buffer overflow, rows the database refused, rows left at the shutdown deadline',
      registers,
    });
    this.usageFlushDuration = new Histogram({
      name: 'xrouter_usage_flush_duration_seconds',
      help: 'Time to write one batch of usage rows',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.rateLimitRejections = new Counter({
      name: 'xrouter_rate_limit_rejections_total',
      help: 'Requests refused with 429 by the per-key rate limits, by the limit that refused (requests or tokens)',
      labelNames: ['kind'],
      registers,
    });
    this.dependencyUp = new Gauge({
      name: 'xrouter_dependency_up',
      help: 'Whether a shared dependency answered its last check (1) or not (0): database, store. Never readiness.',
      labelNames: ['dependency'],
      registers,
    });
    this.credentialsRejected = new Gauge({
      name: 'xrouter_account_credentials_rejected',
      help: "1 while an upstream refuses an account's credentials (401/403); its traffic goes to other accounts",
      labelNames: ['provider', 'account'],
      registers,
    });
    this.storeErrors = new Counter({
      name: 'xrouter_store_errors_total',
      help: 'Store (Redis) calls that failed, by the operation that needed them (e.g. rate_limit)',
      labelNames: ['operation'],
      registers,
    });
  }

  /** The usage recorder tells the gauge where to read its buffer depth at scrape time. */
  bindUsageBuffer(source: () => number): void {
    this.usageBufferSource = source;
  }

  setBreakerState(deployment: string, state: BreakerStateName): void {
    this.breakerState.set({ deployment }, BREAKER_VALUE[state]);
  }
}
