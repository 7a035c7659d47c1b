import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /docs and the OpenAPI JSON at /docs-json, with the bearer "Authorize" button wired. */
export function setupSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('XRouter')
    .setDescription(
      'OpenAI-compatible gateway for GigaChat, YandexGPT, MTS AI and T-Bank. Authorize with an XRouter API key.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'xr-… API key or OAuth token',
      description: 'An XRouter API key (xr-…)',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
