import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '@xrouter/auth';
import { DeploymentStatusService } from '@xrouter/routing';
import { DeploymentStatusDto } from './deployment-status.dto';

@ApiTags('Admin')
@Authenticated({ scopes: ['admin'] })
@Controller('admin/providers')
export class ProvidersController {
  constructor(private readonly deployments: DeploymentStatusService) {}

  @Get()
  @ApiOperation({ summary: 'Every deployment with its circuit breaker state and measured latency (this replica)' })
  @ApiOkResponse({ type: [DeploymentStatusDto] })
  list(): DeploymentStatusDto[] {
    return this.deployments.deploymentStatus();
  }
}
