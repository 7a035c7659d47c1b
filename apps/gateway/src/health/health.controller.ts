import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '@xrouter/auth';
import { EventLoopHealthIndicator, ShutdownHealthIndicator } from '@xrouter/health';
import { DependencyReport, type HealthDetails } from './dependency.report';

/**
 * Probes for Kubernetes, about this process only: liveness (the event loop answers) and readiness (not draining,
 * the event loop on time). A database, store or provider outage is shared by every pod, so it never takes pods out
 * of the Service — that would turn a partial failure into a full one. Those are reported at /health, in metrics and
 * in alerts instead.
 */
@Public()
@ApiTags('Health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly lifecycle: ShutdownHealthIndicator,
    private readonly eventLoop: EventLoopHealthIndicator,
    private readonly dependencies: DependencyReport,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary:
      'Readiness: this process can serve — not draining, event loop on time (503 when not); no shared dependency',
  })
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.lifecycle.check(), () => this.eventLoop.check()]);
    } catch (error) {
      // Terminus reports "not ready" as a 503 carrying the details: answer them as they are, for operators.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return error.getResponse() as HealthCheckResult;
    }
  }

  @Get()
  @ApiOperation({
    summary: 'Details for people and dashboards: this process, the database, the store, the providers',
    description:
      '200 while this process can serve, even with a dependency down (`status: "degraded"`); 503 only when it cannot.',
  })
  async details(@Res({ passthrough: true }) res: Response): Promise<HealthDetails> {
    const report = await this.dependencies.report();
    if (report.status === 'error') res.status(HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}
