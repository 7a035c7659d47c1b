import { Module } from '@nestjs/common';
import { UsageModule } from '@xrouter/usage';
import { ChatCompletionsController } from './chat-completions.controller';
import { EmbeddingsController } from './embeddings.controller';
import { ModelsController } from './models.controller';
import { OpenAiGatewayService } from './openai-gateway.service';

@Module({
  imports: [UsageModule],
  controllers: [ChatCompletionsController, ModelsController, EmbeddingsController],
  providers: [OpenAiGatewayService],
})
export class OpenAiModule {}
