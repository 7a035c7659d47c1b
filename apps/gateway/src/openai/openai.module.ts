import { Module } from '@nestjs/common';
import { ChatCompletionsController } from './chat-completions.controller';
import { EmbeddingsController } from './embeddings.controller';
import { ModelsController } from './models.controller';
import { OpenAiGatewayService } from './openai-gateway.service';

@Module({
  controllers: [ChatCompletionsController, ModelsController, EmbeddingsController],
  providers: [OpenAiGatewayService],
})
export class OpenAiModule {}
