/**
 * One plain node:http server for every emulated provider, routed by path prefix:
 *   /mts/v1/…, /tbank/v1/…             OpenAI-compatible (openai-compatible.emulator.ts)
 *   /gigachat/api/v2/oauth, /gigachat/api/v1/…   GigaChat (gigachat.emulator.ts)
 *   /yandex/foundationModels/v1/…      YandexGPT native (yandex.emulator.ts)
 *   /yandex/v1/…                       Yandex's OpenAI-compatible endpoint (yandex-openai.emulator.ts)
 *   /cloudru-iam/api/v1/auth/token     Cloud.ru IAM access-key exchange (cloud-ru-iam.emulator.ts)
 *   /yandex/iam/v1/tokens              Yandex IAM: service-account JWT → IAM token (yandex-iam.emulator.ts)
 *   /_emulator/…                       admin API: faults, stats, reset, health
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CloudRuTokens, createCloudRuIamEmulator } from './cloud-ru-iam.emulator';
import type { EmulatorOptions } from './emulator-defaults';
import { DEFAULT_EMULATOR_OPTIONS } from './emulator-defaults';
import type { ProviderHandler } from './emulator-http';
import { parseJsonObject, readBody, sendJson } from './emulator-http';
import { EmulatorState } from './emulator-state';
import { FaultSpecError } from './faults';
import { createGigaChatEmulator } from './gigachat.emulator';
import { createOpenAiCompatibleEmulator, mtsProfile, tbankProfile } from './openai-compatible.emulator';
import { createYandexEmulator } from './yandex.emulator';
import { createYandexOpenAiEmulator } from './yandex-openai.emulator';
import { IamTokens, createYandexIamEmulator } from './yandex-iam.emulator';

export interface EmulatorServer {
  readonly server: Server;
  readonly state: EmulatorState;
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, drops open connections (hanging requests included) and resolves when closed. */
  close(): Promise<void>;
}

/** How the emulator listens: plain HTTP, or HTTPS with this certificate (tests pass one signed by a test CA). */
export interface EmulatorTransport {
  tls?: { cert: string; key: string };
}

export function createEmulatorServer(
  options: Partial<EmulatorOptions> = {},
  transport: EmulatorTransport = {},
): EmulatorServer {
  const state = new EmulatorState({ ...DEFAULT_EMULATOR_OPTIONS, ...options });
  const cloudRuTokens = new CloudRuTokens();
  const iamTokens = new IamTokens();
  const routes: [prefix: string, handler: ProviderHandler][] = [
    ['/mts/v1', createOpenAiCompatibleEmulator(state, mtsProfile(state.options))],
    [
      '/tbank/v1',
      createOpenAiCompatibleEmulator(
        state,
        tbankProfile(state.options, (token) => cloudRuTokens.isLive(token)),
      ),
    ],
    ['/cloudru-iam', createCloudRuIamEmulator(state, cloudRuTokens)],
    ['/gigachat/api', createGigaChatEmulator(state)],
    ['/yandex/foundationModels/v1', createYandexEmulator(state, (token) => iamTokens.check(token))],
    ['/yandex/v1', createYandexOpenAiEmulator(state, (token) => iamTokens.check(token))],
    ['/yandex/iam', createYandexIamEmulator(state, iamTokens)],
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    for (const [prefix, handler] of routes) {
      if (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47 /* '/' */) {
        return handler(req, res, path.slice(prefix.length));
      }
    }
    if (path.startsWith('/_emulator/')) return admin(state, req, res, path.slice('/_emulator'.length));
    sendJson(res, 404, { error: { message: `No emulator route for ${req.method} ${path}` } });
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      sendJson(res, 500, { error: { message: `Emulator failure: ${message}` } });
    });
  };
  const server: Server = transport.tls ? createHttpsServer(transport.tls, listener) : createServer(listener);

  return {
    server,
    state,
    listen: (port, host = '127.0.0.1') =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Admin API:
 *   POST   /_emulator/faults  {provider, fault, rate?, count?, route?} → 201 the entry
 *   GET    /_emulator/faults  → {faults: [...]}
 *   DELETE /_emulator/faults  → {cleared: n}
 *   GET    /_emulator/stats   → {gigachat|yandex|mts|tbank: {requests, routes, oauthTokensIssued, faultsInjected}}
 *   POST   /_emulator/reset   → clears faults and stats
 *   GET    /_emulator/health  → {status: "ok"}
 */
async function admin(state: EmulatorState, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const route = `${req.method} ${path}`;
  switch (route) {
    case 'POST /faults': {
      const body = parseJsonObject(await readBody(req));
      try {
        return sendJson(res, 201, state.faults.add(body));
      } catch (error: unknown) {
        if (!(error instanceof FaultSpecError)) throw error;
        return sendJson(res, 400, { error: { message: error.message } });
      }
    }
    case 'GET /faults':
      return sendJson(res, 200, { faults: state.faults.list() });
    case 'DELETE /faults':
      return sendJson(res, 200, { cleared: state.faults.clear() });
    case 'GET /stats':
      return sendJson(res, 200, state.stats.snapshot());
    case 'POST /reset':
      state.faults.clear();
      state.stats.reset();
      return sendJson(res, 200, { ok: true });
    case 'GET /health':
      return sendJson(res, 200, { status: 'ok' });
    default:
      return sendJson(res, 404, { error: { message: `No admin route ${route}` } });
  }
}
