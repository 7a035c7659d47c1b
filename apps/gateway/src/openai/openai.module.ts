import { Module } from '@nestjs/common';
import { AuthModule } from '@xrouter/auth';
import { UsageModule } from '@xrouter/usage';
import { AnswerCache } from './answer-cache';
import { CallPipeline } from './call-pipeline';
import { ChatCompletionsController, CompletionsController, EmbeddingsController } from './llm.controllers';
import { ModelsController } from './models.controller';
import { OpenAiGatewayService } from './openai-gateway.service';
import { ResponsesController } from './responses/responses.controller';
import { RESPONSES_PROVIDERS } from './responses/responses.providers';

/**
 * The OpenAI surface: ordinary Nest controllers. The routes every LLM call takes are also marked `@FastRoute()`,
 * which `main.ts` serves ahead of express with the same guards and pipes (`front-door/`).
 */
@Module({
  imports: [AuthModule, UsageModule],
  controllers: [
    ChatCompletionsController,
    CompletionsController,
    EmbeddingsController,
    ResponsesController,
    ModelsController,
  ],
  providers: [AnswerCache, CallPipeline, OpenAiGatewayService, ...RESPONSES_PROVIDERS],
})
export class OpenAiModule {}
