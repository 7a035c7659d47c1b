import type { ServerResponse } from 'node:http';
import { Body, Controller, Res } from '@nestjs/common';
import { writeJson } from '@xrouter/common';
import { LlmRoute } from '../openai-api.decorators';
import { Caller, type CallerContext, setRouteHeaders } from '../request-context';
import { writeNamedSse } from '../sse-writer';
import { ResponseCreateRequestDto } from './response-create-request.dto';
import { ResponsesService } from './responses.service';

/** OpenAI's Responses API: `POST /v1/responses` (with `stream: true`, the Responses events over SSE). */
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
      return writeNamedSse(res, outcome.value);
    }
    const outcome = await this.responses.create(body, caller);
    setRouteHeaders(res, outcome);
    writeJson(res, 200, outcome.value);
  }
}
