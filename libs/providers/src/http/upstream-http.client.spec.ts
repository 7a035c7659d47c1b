import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderConfig } from '@xrouter/config';
import { UpstreamHttpClient } from './upstream-http.client';

describe('UpstreamHttpClient', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];
  const client = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
  const provider = { id: 'local' } as ProviderConfig;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await client.onApplicationShutdown();
    await new Promise((resolve) => server.close(resolve));
  });

  it('should send each request to its own path and query, the same URL again included', async () => {
    const send = (url: string) =>
      client.sendJson<{ path: string }>(provider, {
        method: 'GET',
        url,
        headers: {},
        signal: AbortSignal.timeout(5_000),
      });
    await expect(send(`${base}/v1/models`)).resolves.toEqual({ path: '/v1/models' });
    await expect(send(`${base}/v1/models`)).resolves.toEqual({ path: '/v1/models' });
    await expect(send(`${base}/v1/models?page=2&q=%20a`)).resolves.toEqual({ path: '/v1/models?page=2&q=%20a' });
    await expect(send(`${base}/v1/embeddings`)).resolves.toEqual({ path: '/v1/embeddings' });
    expect(seen).toEqual(['GET /v1/models', 'GET /v1/models', 'GET /v1/models?page=2&q=%20a', 'GET /v1/embeddings']);
  });
});
