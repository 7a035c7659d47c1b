import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '@xrouter/auth';
import { DatabaseHealthIndicator, ShutdownHealthIndicator, StoreHealthIndicator } from '@xrouter/health';
import { RoutingService } from '@xrouter/routing';

/**
 * Probes for Kubernetes. Liveness checks nothing outside the process, so a database outage never restarts pods;
 * readiness checks the database, the store, that every configured model has a deployment whose breaker is not
 * open, and that the process is not draining.
 */
@Public()
@ApiTags('Health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseHealthIndicator,
    private readonly store: StoreHealthIndicator,
    private readonly lifecycle: ShutdownHealthIndicator,
    private readonly routing: RoutingService,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: database, store, routable models, not draining (503 when not ready)' })
  ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    return this.readiness(res);
  }

  @Get()
  @ApiOperation({ summary: 'Same as /health/ready, for simple probes' })
  root(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    return this.readiness(res);
  }

  private async readiness(res: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.lifecycle.check(),
        () => this.database.check(),
        () => this.store.check(),
        () => {
          const indicator = this.indicators.check('providers');
          const unroutable = this.routing.unroutableModels();
          return unroutable.length === 0 ? indicator.up() : indicator.down({ unroutable });
        },
      ]);
    } catch (error) {
      // Terminus reports "not ready" as a 503 carrying the details: answer them as they are, for operators.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
