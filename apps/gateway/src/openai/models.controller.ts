import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentPrincipal, type Principal } from '@xrouter/auth';
import type { ModelList, ModelObject } from '@xrouter/common';
import { OpenAiGatewayService } from './openai-gateway.service';

@ApiTags('OpenAI')
@Authenticated()
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly gateway: OpenAiGatewayService) {}

  @Get()
  @ApiOperation({
    summary: 'List the models this credential may use',
    description:
      "OpenAI's model objects, each with XRouter's `capabilities` (tools, images, logprobs, …; dimensions for " +
      'embeddings): a request using a feature set to false is refused with a 400 naming the field.',
  })
  list(@CurrentPrincipal() principal: Principal): ModelList {
    return this.gateway.listModels(principal);
  }

  @Get('*id')
  @ApiOperation({
    summary: 'Retrieve one model (ids may contain "/", e.g. mts/qwen2.5-72b-instruct)',
    description: "OpenAI's model object with XRouter's `capabilities`, as in the list.",
  })
  @ApiParam({ name: 'id', type: String, example: 'GigaChat-2' })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string | string[]): ModelObject {
    // Express 5 hands a wildcard over as its path segments.
    return this.gateway.getModel(principal, Array.isArray(id) ? id.join('/') : id);
  }
}
