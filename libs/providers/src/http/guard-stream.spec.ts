import { Readable } from 'node:stream';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { ProviderConfig } from '@xrouter/config';
import type { DeploymentTarget } from '../llm-provider.interface';
import { guardStream } from './guard-stream';
import type { UpstreamResponse } from './upstream-http.client';

const target = { key: 'p/a/m', provider: { id: 'p' } as ProviderConfig, upstreamModel: 'm' } as DeploymentTarget;

function body(): UpstreamResponse['body'] {
  return new Readable({ read() {} }) as unknown as UpstreamResponse['body'];
}

async function* chunks(fail?: Error): AsyncGenerator<number> {
  yield await Promise.resolve(1);
  yield 2;
  if (fail !== undefined) throw fail;
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const seen: T[] = [];
  for await (const item of stream) seen.push(item);
  return seen;
}

describe('guardStream', () => {
  it('should pass every chunk through and release the body at the end', async () => {
    const upstream = body();
    const signal = new AbortController().signal;
    expect(await collect(guardStream(upstream, { target, signal }, chunks()))).toEqual([1, 2]);
    expect(upstream.destroyed).toBe(true);
  });

  it('should release the body when the consumer stops early', async () => {
    const upstream = body();
    const signal = new AbortController().signal;
    for await (const chunk of guardStream(upstream, { target, signal }, chunks())) {
      expect(chunk).toBe(1);
      break;
    }
    expect(upstream.destroyed).toBe(true);
  });

  it("should rethrow the adapter's own GatewayError as it is", async () => {
    const upstream = body();
    const bad = new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, 'p: a stream event is not valid JSON');
    const signal = new AbortController().signal;
    await expect(collect(guardStream(upstream, { target, signal }, chunks(bad)))).rejects.toBe(bad);
    expect(upstream.destroyed).toBe(true);
  });

  it('should turn a broken body into STREAM_TRUNCATED, keeping the cause', async () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const signal = new AbortController().signal;
    const failure = collect(guardStream(body(), { target, signal }, chunks(reset)));
    await expect(failure).rejects.toMatchObject({ code: ErrorCode.STREAM_TRUNCATED, cause: reset });
    await expect(failure).rejects.toThrow('p: the stream broke off');
  });

  it("should report our own abort as its reason (the router's deadline), not as a broken stream", async () => {
    const controller = new AbortController();
    const deadline = new GatewayError(ErrorCode.TIMEOUT, 'p: no first token within 100 ms');
    controller.abort(deadline);
    const aborted = Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    await expect(collect(guardStream(body(), { target, signal: controller.signal }, chunks(aborted)))).rejects.toBe(
      deadline,
    );
  });

  it('should report an abort without a GatewayError reason as TIMEOUT', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      collect(guardStream(body(), { target, signal: controller.signal }, chunks(new Error('aborted')))),
    ).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
  });
});
