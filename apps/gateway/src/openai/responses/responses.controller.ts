import type { ServerResponse } from 'node:http';
import { Body, Controller, Delete, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentPrincipal, type Principal } from '@xrouter/auth';
import { ErrorCode, GatewayError, writeJson } from '@xrouter/common';
import { WebSocketRoute } from '../../front-door/upgrade-dispatcher';
import { LlmRoute } from '../openai-api.decorators';
import { Caller, type CallerContext, setRouteHeaders } from '../request-context';
import { writeNamedSse } from '../sse-writer';
import { InputItemsQueryDto, RetrieveQueryDto } from './responses-query.dto';
import { ResponseCreateRequestDto } from './response-create-request.dto';
import type { ResponseObject } from './responses.types';
import { ResponsesService, type InputItemList } from './responses.service';
import { ResponsesSockets } from './responses-sockets';

/**
 * OpenAI's Responses API: `POST /v1/responses` (with `stream: true`, the Responses events over SSE) and the stored
 * responses of the credential's user.
 */
@Controller('v1')
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  @LlmRoute(
    'responses',
    'chat',
    'Create a model response (stream: true answers Server-Sent Events of the Responses API)',
    'An OpenAI response object, or an SSE stream of Responses events (response.created … response.completed)',
  )
  async create(
    @Body() body: ResponseCreateRequestDto,
    @Caller() caller: CallerContext,
    @Res() res: ServerResponse,
  ): Promise<void> {
    if (body.stream) {
      const outcome = await this.responses.stream(body, caller);
      setRouteHeaders(res, outcome);
      await writeNamedSse(res, outcome.value);
      return outcome.afterAnswer();
    }
    const outcome = await this.responses.create(body, caller);
    setRouteHeaders(res, outcome);
    writeJson(res, 200, outcome.value);
    outcome.afterAnswer();
  }

  @Get('responses')
  @Authenticated({ scopes: ['chat'] })
  @WebSocketRoute(ResponsesSockets)
  @ApiOperation({
    summary:
      'The WebSocket mode of the Responses API: upgrade this GET (Authorization at the handshake), send ' +
      'response.create messages, receive the same events as the SSE stream, one response after another',
  })
  @ApiResponse({ status: 101, description: 'Switching protocols: the socket is open' })
  @ApiResponse({ status: 426, description: 'Reached without `Upgrade: websocket`' })
  upgradeRequired(): never {
    throw new GatewayError(
      ErrorCode.UPGRADE_REQUIRED,
      'GET /v1/responses is the WebSocket mode of the Responses API: connect with Upgrade: websocket',
    );
  }

  @Get('responses/:id')
  @Authenticated({ scopes: ['chat'] })
  @ApiTags('OpenAI')
  @ApiOperation({ summary: 'Retrieve a stored response of your user' })
  @ApiParam({ name: 'id', example: 'resp_0123456789abcdef' })
  retrieve(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() _query: RetrieveQueryDto,
  ): Promise<ResponseObject> {
    return this.responses.retrieve(principal, id);
  }

  @Get('responses/:id/input_items')
  @Authenticated({ scopes: ['chat'] })
  @ApiTags('OpenAI')
  @ApiOperation({ summary: 'List the input items of a stored response of your user' })
  @ApiParam({ name: 'id', example: 'resp_0123456789abcdef' })
  inputItems(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: InputItemsQueryDto,
  ): Promise<InputItemList> {
    return this.responses.inputItems(principal, id, query);
  }

  @Delete('responses/:id')
  @Authenticated({ scopes: ['chat'] })
  @ApiTags('OpenAI')
  @ApiOperation({ summary: 'Delete a stored response of your user' })
  @ApiParam({ name: 'id', example: 'resp_0123456789abcdef' })
  delete(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<{ id: string; object: 'response'; deleted: true }> {
    return this.responses.delete(principal, id);
  }
}
