import { Module } from '@nestjs/common';
import { AuthModule } from '@xrouter/auth';
import { UsageModule } from '@xrouter/usage';
import { ModelsController } from './models.controller';
import { OpenAiGatewayService } from './openai-gateway.service';
import { OpenAiRoutes } from './openai-routes';

/**
 * The OpenAI surface. `/v1/models` is a Nest controller; the two POST routes every LLM call takes are
 * {@link OpenAiRoutes}, which `main.ts` puts on the HTTP server ahead of express.
 */
@Module({
  imports: [AuthModule, UsageModule],
  controllers: [ModelsController],
  providers: [OpenAiGatewayService, OpenAiRoutes],
  exports: [OpenAiRoutes],
})
export class OpenAiModule {}
