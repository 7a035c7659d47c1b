import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ErrorCode } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, UpstreamHttpClient } from '@xrouter/providers';
import { MemoryStore } from '@xrouter/store';
import { GigaChatProvider } from '../../libs/providers/src/gigachat/gigachat.provider';
import { DEFAULT_GIGACHAT_AUTH_KEY } from '../../apps/provider-emulator/src/emulator-defaults';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { failure } from '../support/outcomes';
import { createTestPki, type TestPki } from '../support/test-ca';

/**
 * GigaChat over HTTPS with certificates from CAs outside Node's roots (as the Russian Trusted Root CA is): the chat
 * host and the OAuth host each verified against the provider's `ca_file`, never accepted without it.
 * The chat host's certificate comes from `chatCa`, the OAuth host's from `oauthCa`, so each host's check shows.
 */
describe('GigaChat over HTTPS with a custom CA', () => {
  let chatCa: TestPki;
  let oauthCa: TestPki;
  let emulator: EmulatorServer;
  let oauthServer: HttpsServer;
  let chatBase: string;
  let oauthBase: string;
  const clients: UpstreamHttpClient[] = [];

  beforeAll(async () => {
    chatCa = createTestPki('Chat Host Test CA');
    oauthCa = createTestPki('OAuth Host Test CA');
    emulator = createEmulatorServer({}, { tls: { cert: chatCa.serverCert, key: chatCa.serverKey } });
    chatBase = `https://127.0.0.1:${await emulator.listen(0)}`;
    const handler = emulator.server.listeners('request')[0] as Parameters<typeof createHttpsServer>[1];
    oauthServer = createHttpsServer({ cert: oauthCa.serverCert, key: oauthCa.serverKey }, handler);
    await new Promise<void>((resolve) => oauthServer.listen(0, '127.0.0.1', resolve));
    oauthBase = `https://127.0.0.1:${(oauthServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.onApplicationShutdown()));
    await emulator.close();
    oauthServer.closeAllConnections();
    await new Promise<void>((resolve) => oauthServer.close(() => resolve()));
    chatCa.remove();
    oauthCa.remove();
  });

  /** A provider (fresh token cache and pools) whose config names `caFile`. */
  const giga = (caFile: string): { provider: GigaChatProvider; target: DeploymentTarget } => {
    const config = parseRoutingConfig(
      `providers:
  - id: giga
    type: gigachat
    base_url: ${chatBase}/gigachat/api/v1
    auth_url: ${oauthBase}/gigachat/api/v2/oauth
    ca_file: "${caFile}"
    accounts: [{ id: main, auth_key: "\${KEY}" }]
    free: true
models:
  - name: giga
    deployments: [{ provider: giga, model: GigaChat-2 }]
`,
      'test.yaml',
      { KEY: DEFAULT_GIGACHAT_AUTH_KEY },
    );
    const provider = config.providers[0];
    const http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    clients.push(http);
    return {
      provider: new GigaChatProvider(http, new MemoryStore()),
      target: { key: 'giga/main/GigaChat-2', provider, account: provider.accounts[0], upstreamModel: 'GigaChat-2' },
    };
  };

  const ctx = (target: DeploymentTarget): CallContext => ({
    target,
    signal: AbortSignal.timeout(10_000),
    requestId: randomUUID(),
    publicModel: 'giga',
    completionId: 'chatcmpl-tls',
  });
  const hello = { model: 'giga', messages: [{ role: 'user' as const, content: 'hello there' }] };

  /** A bundle file holding the PEM certificates of `cas`, with a comment line between them as real bundles have. */
  const bundle = (name: string, ...cas: TestPki[]): string => {
    const file = join(chatCa.dir, name);
    writeFileSync(file, cas.map((ca) => `# ${ca.dir}\n${readFileSync(ca.caPemFile, 'utf8')}`).join('\n'));
    return file;
  };

  it('should call both hosts when one PEM file holds both CAs', async () => {
    const { provider, target } = giga(bundle('both.pem', chatCa, oauthCa));
    const completion = await provider.chat(hello, ctx(target));
    expect(completion.choices[0].message.content).toContain('hello there');
  });

  it('should refuse the OAuth host when no ca_file is configured, saying the certificate was refused', async () => {
    const { provider, target } = giga('');
    const before = emulator.state.stats.snapshot().gigachat.oauthTokensIssued;
    const error = await failure(provider.chat(hello, ctx(target)));
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNREACHABLE);
    expect(error.message).toMatch(/^giga: the upstream's TLS certificate was refused \(\w+\); is its CA in the/);
    expect(emulator.state.stats.snapshot().gigachat.oauthTokensIssued).toBe(before);
  });

  it('should refuse the chat host when only the OAuth host’s CA is trusted (DER file)', async () => {
    const { provider, target } = giga(oauthCa.caDerFile);
    const before = emulator.state.stats.snapshot().gigachat;
    const error = await failure(provider.chat(hello, ctx(target)));
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNREACHABLE);
    expect(error.message).toContain('TLS certificate was refused');
    const after = emulator.state.stats.snapshot().gigachat;
    // The token came from the trusted OAuth host; the chat host was never reached.
    expect(after.oauthTokensIssued - before.oauthTokensIssued).toBe(1);
    expect(after.routes['POST /chat/completions'] ?? 0).toBe(before.routes['POST /chat/completions'] ?? 0);
  });

  it('should refuse the OAuth host when only the chat host’s CA is trusted', async () => {
    const { provider, target } = giga(chatCa.caPemFile);
    const error = await failure(provider.chat(hello, ctx(target)));
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNREACHABLE);
    expect(error.message).toContain('TLS certificate was refused');
  });
});
