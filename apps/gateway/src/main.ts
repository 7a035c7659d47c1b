import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Logger as NestLogger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  assignRequestId,
  createRootLogger,
  createValidationPipe,
  OpenAiExceptionFilter,
  PinoNestLogger,
  requestLogMiddleware,
} from '@xrouter/common';
import { ConfigFileError, ConfigValidationError, loadRoutingConfig, validateEnvironment } from '@xrouter/config';
import { ShutdownState } from '@xrouter/health';
import { httpMetricsMiddleware, XRouterMetrics } from '@xrouter/metrics';
import { appConfig } from './app.config';
import { needsEmulators, startBundledEmulator, type BundledEmulator } from './emulator/bundled-emulator';
import { CONFIG_NAMESPACES, GatewayModule } from './gateway.module';
import { jsonBody } from './json-body';
import { setupSwagger } from './swagger';

/** Stops accepting connections, lets in-flight requests (streams too) finish within the grace period, then closes. */
function drainOnSignals(app: INestApplication, graceMs: number, emulator?: BundledEmulator): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const logger = new NestLogger('Shutdown');
    logger.log(`${signal} received: draining in-flight requests (up to ${graceMs} ms)`);
    app.get(ShutdownState).begin();
    const server = app.getHttpServer() as Server;
    const drained = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    await drained;
    clearTimeout(timer);
    await app.close();
    await emulator?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

async function bootstrap(): Promise<void> {
  // A `.env` in the working directory fills in variables the environment does not set (never overrides them).
  if (existsSync('.env')) process.loadEnvFile('.env');
  validateEnvironment(CONFIG_NAMESPACES, process.env);
  const settings = appConfig();
  let routing = loadRoutingConfig(settings.routingConfigPath);
  let emulator: BundledEmulator | undefined;
  if (needsEmulators(routing)) {
    ({ emulator, config: routing } = await startBundledEmulator(routing));
  }

  const rootLogger = createRootLogger({ level: settings.logLevel, pretty: settings.logPretty });
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(routing), {
    logger: new PinoNestLogger(rootLogger),
    bodyParser: false,
  });
  // Before anything can fail: every response, body-parser errors included, carries the request id; while draining,
  // every response also closes its connection, so keep-alive clients move to another replica instead of lingering.
  const shutdown = app.get(ShutdownState);
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    assignRequestId(req, res);
    if (shutdown.isDraining) res.setHeader('connection', 'close');
    next();
  });
  app.use(requestLogMiddleware(rootLogger));
  app.use(httpMetricsMiddleware(app.get(XRouterMetrics)));
  app.use(...jsonBody(settings.maxBodySize));
  app.useGlobalFilters(new OpenAiExceptionFilter());
  app.useGlobalPipes(createValidationPipe());
  app.disable('x-powered-by');
  app.set('etag', false);
  setupSwagger(app);
  drainOnSignals(app, settings.shutdownGraceMs, emulator);

  await app.listen(settings.port, settings.host);
  const logger = new NestLogger('Gateway');
  if (emulator) {
    logger.warn(
      `No provider credentials are set: routing to the bundled provider emulators at ${emulator.url} ` +
        `(models show owned_by "emulator"). Set GIGACHAT_AUTH_KEY, YANDEX_API_KEY, MTS_API_KEY or TBANK_API_KEY for real providers.`,
    );
  }
  logger.log(`XRouter listening on http://${settings.host}:${settings.port} (docs at /docs)`);
}

bootstrap().catch((error: unknown) => {
  const known = error instanceof ConfigValidationError || error instanceof ConfigFileError;
  process.stderr.write(
    `XRouter failed to start: ${known ? (error as Error).message : String((error as Error)?.stack ?? error)}\n`,
  );
  process.exit(1);
});
