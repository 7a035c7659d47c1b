import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Authenticated } from '@xrouter/auth';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { OpenAiGatewayService } from './openai-gateway.service';
import { callerContext, setRouteHeaders } from './request-context';
import { writeSse } from './sse-writer';

@ApiTags('OpenAI')
@Authenticated({ scopes: ['chat'] })
@Controller('v1/chat')
export class ChatCompletionsController {
  constructor(private readonly gateway: OpenAiGatewayService) {}

  @Post('completions')
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a chat completion (stream: true answers Server-Sent Events)' })
  @ApiOkResponse({ description: 'An OpenAI chat.completion object, or an SSE stream of chat.completion.chunk objects' })
  async create(@Body() body: ChatCompletionRequestDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const caller = callerContext(req, res);
    if (body.stream) {
      const outcome = await this.gateway.chatStream(body, caller);
      setRouteHeaders(res, outcome);
      return writeSse(res, outcome.value, body.stream_options?.include_usage === true);
    }
    const outcome = await this.gateway.chat(body, caller);
    setRouteHeaders(res, outcome);
    res.json(outcome.value);
  }
}
