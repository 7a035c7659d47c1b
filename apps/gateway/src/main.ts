import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger as NestLogger, type INestApplication } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import type { Logger as PinoLogger } from 'pino';
import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  assignRequestId,
  createLoggers,
  createValidationPipe,
  OpenAiExceptionFilter,
  PinoNestLogger,
  requestLogMiddleware,
} from '@xrouter/common';
import {
  ConfigFileError,
  ConfigValidationError,
  loadRoutingConfig,
  validateEnvironment,
  type RoutingConfig,
} from '@xrouter/config';
import { ShutdownState } from '@xrouter/health';
import { httpMetricsMiddleware, XRouterMetrics } from '@xrouter/metrics';
import { appConfig, type ShutdownSettings } from './app.config';
import { needsEmulators, startBundledEmulator, type BundledEmulator } from './emulator/bundled-emulator';
import { CONFIG_NAMESPACES, GatewayModule } from './gateway.module';
import { stopAccepting, TimedExpressAdapter } from './http-server';
import { FastDispatcher } from './front-door/fast-dispatcher';
import { UpgradeDispatcher } from './front-door/upgrade-dispatcher';
import { bodySizeBytes } from './json-body';
import { declaredRoutes } from './front-door/route-table';
import { setupSwagger } from './swagger';

/**
 * On SIGTERM (or SIGINT) readiness says draining and every answer `connection: close` at once, so each keep-alive
 * client moves to another replica after its current request. New connections are still accepted for the delay, while
 * the load balancers stop sending here; then the listener closes without cutting idle connections, and in-flight
 * requests (streams too) get the grace period to finish before the app closes.
 */
function drainOnSignals(
  app: INestApplication,
  shutdown: ShutdownSettings,
  upgrades: UpgradeDispatcher,
  emulator?: BundledEmulator,
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const logger = new NestLogger('Shutdown');
    logger.log(
      `${signal} received: accepting connections for ${shutdown.delayMs} ms more, then draining in-flight requests ` +
        `(up to ${shutdown.graceMs} ms)`,
    );
    app.get(ShutdownState).begin();
    await sleep(shutdown.delayMs);
    const server = app.getHttpServer() as Server;
    // WebSockets are no longer the HTTP server's connections: their sessions finish what runs and close them.
    const drained = Promise.all([stopAccepting(server), upgrades.drain()]);
    const timer = setTimeout(() => server.closeAllConnections(), shutdown.graceMs);
    await drained;
    clearTimeout(timer);
    await app.close();
    await emulator?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/**
 * The HTTP server's request handler: what every request gets first (its id, its log line, its metrics, and while
 * draining `connection: close` so keep-alive clients move to another replica), then the `@FastRoute()` routes are
 * served by the dispatcher (unless `FAST_ROUTES=false`) and everything else goes to express and Nest. Upgrades
 * to a WebSocket go to the upgrade dispatcher.
 */
function serveRequests(
  app: NestExpressApplication,
  logger: PinoLogger,
  fast: boolean,
  upgrades: UpgradeDispatcher,
): void {
  const shutdown = app.get(ShutdownState);
  const routes = fast ? FastDispatcher.fromApp(app) : undefined;
  const expressApp = app.getHttpAdapter().getInstance() as (req: IncomingMessage, res: ServerResponse) => void;
  const logRequest = requestLogMiddleware(logger);
  const measure = httpMetricsMiddleware(app.get(XRouterMetrics));
  const server: Server = app.getHttpServer();
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    assignRequestId(req, res);
    if (shutdown.isDraining) res.setHeader('connection', 'close');
    logRequest(req, res, () => undefined);
    measure(req, res, () => undefined);
    const route = routes?.match(req);
    if (routes && route) void routes.serve(route, req, res);
    else expressApp(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrades.handle(req, socket, head));
}

/**
 * `main.js routes`: every route the app serves with who may call it, as JSON lines, from the controllers' own
 * metadata — the app is built in Nest's preview mode, so nothing is connected or started.
 */
async function printRoutes(routing: RoutingConfig): Promise<void> {
  const app = await NestFactory.create(GatewayModule.forRoot(routing), { preview: true, logger: false });
  for (const route of declaredRoutes(app.get(ModulesContainer))) {
    process.stdout.write(
      `${JSON.stringify({ method: route.method, path: route.path, policy: route.policy, fast: route.fast })}\n`,
    );
  }
  await app.close();
}

async function bootstrap(): Promise<void> {
  // A `.env` in the working directory fills in variables the environment does not set (never overrides them).
  if (existsSync('.env')) process.loadEnvFile('.env');
  validateEnvironment(CONFIG_NAMESPACES, process.env);
  const settings = appConfig();
  let routing = loadRoutingConfig(settings.routingConfigPath);
  if (process.argv[2] === 'routes') return printRoutes(routing);
  let emulator: BundledEmulator | undefined;
  if (needsEmulators(routing)) {
    ({ emulator, config: routing } = await startBundledEmulator(routing));
  }

  const loggers = createLoggers({ level: settings.logLevel, pretty: settings.logPretty });
  const app = await NestFactory.create<NestExpressApplication>(
    GatewayModule.forRoot(routing),
    new TimedExpressAdapter(settings.http),
    {
      logger: new PinoNestLogger(loggers.app),
      bodyParser: false,
    },
  );
  app.useGlobalFilters(new OpenAiExceptionFilter());
  app.useGlobalPipes(createValidationPipe());
  const upgrades = UpgradeDispatcher.fromApp(app, bodySizeBytes(settings.maxBodySize));
  serveRequests(app, loggers.requests, settings.fastRoutes, upgrades);
  app.disable('x-powered-by');
  if (settings.trustProxy !== undefined) app.set('trust proxy', settings.trustProxy);
  app.set('etag', false);
  setupSwagger(app);
  drainOnSignals(app, settings.shutdown, upgrades, emulator);

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
