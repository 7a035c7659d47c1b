import type { NextFunction, Request, Response } from 'express';
import type { XRouterMetrics } from './xrouter-metrics';

/**
 * Counts and times every HTTP answer by method, route template (`/v1/models/*id`, never the raw path: unmatched
 * paths are `unmatched`) and status. Measured when the response finishes, streams included.
 */
export function httpMetricsMiddleware(metrics: XRouterMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      const labels = {
        method: req.method,
        route: route ? `${req.baseUrl}${route}` : 'unmatched',
        status: String(res.statusCode),
      };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
