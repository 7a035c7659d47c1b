import type { IncomingMessage, ServerResponse } from 'node:http';
import type { XRouterMetrics } from './xrouter-metrics';

const ROUTE_TEMPLATE = Symbol('xrouter.routeTemplate');

type LabelledRequest = IncomingMessage & {
  [ROUTE_TEMPLATE]?: string;
  route?: { path?: string };
  baseUrl?: string;
};

/** Names the route template of a request served outside express's router, for its metrics label. */
export function labelRoute(req: IncomingMessage, template: string): void {
  (req as LabelledRequest)[ROUTE_TEMPLATE] = template;
}

/** The route template a request matched (`/v1/models/*id`, never the raw path), or `unmatched`. */
function routeTemplate(req: LabelledRequest): string {
  const labelled = req[ROUTE_TEMPLATE];
  if (labelled) return labelled;
  const route = req.route?.path;
  return route ? `${req.baseUrl ?? ''}${route}` : 'unmatched';
}

/**
 * Counts and times every HTTP answer by method, route template and status. Measured when the response closes,
 * streams included.
 */
export function httpMetricsMiddleware(metrics: XRouterMetrics) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const labels = { method: req.method ?? 'GET', route: routeTemplate(req), status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
