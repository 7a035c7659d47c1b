import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Authenticated } from '@xrouter/auth';
import { EmbeddingRequestDto } from './dto/embedding-request.dto';
import { OpenAiGatewayService } from './openai-gateway.service';
import { callerContext, setRouteHeaders } from './request-context';

@ApiTags('OpenAI')
@Authenticated({ scopes: ['embeddings'] })
@Controller('v1/embeddings')
export class EmbeddingsController {
  constructor(private readonly gateway: OpenAiGatewayService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Create embeddings' })
  async create(@Body() body: EmbeddingRequestDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const outcome = await this.gateway.embeddings(body, callerContext(req, res));
    setRouteHeaders(res, outcome);
    res.json(outcome.value);
  }
}
