import { toBase64Embeddings } from './openai-gateway.service';

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
