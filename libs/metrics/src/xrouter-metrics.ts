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
  readonly breakerTransitions: Counter<'deployment' | 'to'>;
  readonly retries: Counter<'model'>;
  readonly fallbacks: Counter<'model'>;

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
  }

  setBreakerState(deployment: string, state: BreakerStateName): void {
    this.breakerState.set({ deployment }, BREAKER_VALUE[state]);
  }
}
