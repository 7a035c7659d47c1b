import type { Principal } from '@xrouter/auth';
import { ErrorCode } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { ModelCatalog, type RoutingService } from '@xrouter/routing';
import type { AnswerCache } from './answer-cache';
import type { CallPipeline } from './call-pipeline';
import { OpenAiGatewayService, toBase64Embeddings } from './openai-gateway.service';

describe('toBase64Embeddings', () => {
  it('should encode float32 little-endian as the OpenAI SDKs decode it', () => {
    const encoded = toBase64Embeddings({
      object: 'list',
      model: 'm',
      usage: { prompt_tokens: 1, total_tokens: 1 },
      data: [{ object: 'embedding', index: 0, embedding: [0.5, -1, 0.25] }],
    });
    const bytes = Buffer.from(encoded.data[0].embedding as string, 'base64');
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual([0.5, -1, 0.25]);
  });
});

describe('OpenAiGatewayService.getModel', () => {
  const catalog = new ModelCatalog(
    parseRoutingConfig(
      `
providers:
  - id: mts
    type: openai
    base_url: http://mts.local/v1
    accounts: [{ id: main, api_key: k }]
    pricing:
      qwen2.5-72b-instruct: { prompt_per_1k: 0.2, completion_per_1k: 0.4 }
      bge-m3: { prompt_per_1k: 0.01, completion_per_1k: 0 }
models:
  - name: mws
    aliases: [mws-alias]
    deployments: [{ provider: mts, model: qwen2.5-72b-instruct }]
`,
      't.yaml',
      {},
    ),
  );
  const service = new OpenAiGatewayService({} as RoutingService, catalog, {} as CallPipeline, {} as AnswerCache);
  const principal = (allowedModels: string[] | null): Principal => ({
    kind: 'api_key',
    credentialId: 'k',
    userId: 'u',
    scopes: ['chat'],
    allowedModels,
    rpmLimit: null,
    tpmLimit: null,
    expiresAt: null,
    budgets: [],
    issuers: [],
  });

  it('should retrieve every id the list shows', () => {
    const anyone = principal(null);
    for (const model of service.listModels(anyone).data) {
      expect(service.getModel(anyone, model.id)).toEqual(model);
    }
  });

  it('should retrieve a direct provider/model id that chat accepts, even one no model is configured with', () => {
    expect(service.getModel(principal(null), 'mts/qwen2.5-72b-instruct')).toMatchObject({
      id: 'mts/qwen2.5-72b-instruct',
      object: 'model',
      owned_by: 'mts',
    });
    expect(service.getModel(principal(null), 'mts/bge-m3').id).toBe('mts/bge-m3');
  });

  it.each([
    ['an unknown name', 'nope', null],
    ['an unknown provider', 'acme/qwen2.5-72b-instruct', null],
    ['an unpriced direct model', 'mts/unpriced', null],
    ['a direct model the key may not use', 'mts/qwen2.5-72b-instruct', ['mws']],
    ['a listed model the key may not use', 'mws-alias', ['mws']],
  ])('should answer 404 for %s', (_what, id, allowed) => {
    expect(() => service.getModel(principal(allowed), id)).toThrow(
      expect.objectContaining({ code: ErrorCode.MODEL_NOT_FOUND, status: 404 }) as Error,
    );
  });
});
