import { answerCacheKey, canonicalJson } from './answer-cache';

const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0.5 };

describe('answerCacheKey', () => {
  it('should read two spellings of one request as the same, streamed or not', () => {
    const respelt = { temperature: 0.5, messages: [{ content: 'hi', role: 'user' as const }], model: 'm' };
    expect(answerCacheKey('k1', respelt)).toBe(answerCacheKey('k1', request));
    expect(answerCacheKey('k1', { ...request, stream: false, user: undefined })).toBe(answerCacheKey('k1', request));
  });

  it.each([
    ['another key', 'k2', request],
    ['another model', 'k1', { ...request, model: 'n' }],
    ['another message', 'k1', { ...request, messages: [{ role: 'user' as const, content: 'ho' }] }],
    ['another parameter', 'k1', { ...request, temperature: 0.6 }],
    ['a stop sequence', 'k1', { ...request, stop: ['\n'] }],
  ])('should tell apart %s', (_what, key, other) => {
    expect(answerCacheKey(key, other)).not.toBe(answerCacheKey('k1', request));
  });

  it('should keep the key id readable and the request hashed', () => {
    expect(answerCacheKey('k1', request)).toMatch(/^answers:k1:[\w-]{43}$/);
  });
});

describe('canonicalJson', () => {
  it('should sort keys at every depth and keep array order', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[2,{"c":null,"d":1}]}');
  });
});
