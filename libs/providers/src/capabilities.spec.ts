import type { ChatCompletionRequest } from '@xrouter/common';
import type { ProviderConfig } from '@xrouter/config';
import {
  chatFeatures,
  deploymentCapabilities,
  embeddingFeatures,
  fitRequest,
  providerCapabilities,
  withoutFields,
} from './capabilities';

const provider = (type: ProviderConfig['type'], extra: Partial<ProviderConfig> = {}): ProviderConfig => ({
  id: type,
  type,
  base_url: 'http://x',
  accounts: [],
  ...extra,
});

const chat = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

describe('the capability table', () => {
  it('should declare GigaChat v1 as it is', () => {
    expect(providerCapabilities(provider('gigachat'))).toEqual({
      tools: true,
      parallel_tool_calls: false,
      json_schema: true,
      json_object: false,
      images: true,
      logprobs: false,
      n: false,
      seed: false,
      stop: false,
      penalties: false,
      top_p: true,
      logit_bias: false,
      reasoning: true,
      dimensions: false,
    });
  });

  it("should declare Yandex's native API as it is", () => {
    expect(providerCapabilities(provider('yandex'))).toEqual({
      tools: true,
      parallel_tool_calls: true,
      json_schema: true,
      json_object: true,
      images: false,
      logprobs: false,
      n: false,
      seed: false,
      stop: false,
      penalties: false,
      top_p: false,
      logit_bias: false,
      reasoning: true,
      dimensions: false,
    });
  });

  it('should let everything through an OpenAI-compatible host but what its profile lacks', () => {
    const mts = providerCapabilities(provider('openai', { profile: 'mts' }));
    expect(Object.values(mts).every(Boolean)).toBe(true);
    const yandex = providerCapabilities(provider('openai', { profile: 'yandex' as ProviderConfig['profile'] }));
    expect(yandex).toMatchObject({ images: false, logprobs: false, n: false, dimensions: false, tools: true });
  });

  it('should apply the provider’s overrides, then the deployment’s', () => {
    const yandexOpenAi = provider('openai', {
      profile: 'yandex' as ProviderConfig['profile'],
      capabilities: { seed: false },
    });
    expect(providerCapabilities(yandexOpenAi)).toMatchObject({ seed: false, images: false });
    expect(deploymentCapabilities(yandexOpenAi, { images: true })).toMatchObject({ seed: false, images: true });
    expect(deploymentCapabilities(provider('gigachat'), { dimensions: true }).dimensions).toBe(true);
  });
});

describe('chatFeatures', () => {
  it.each<[string, Partial<ChatCompletionRequest>, Array<[string, string]>]>([
    ['nothing for a plain request', {}, []],
    ['tools', { tools: [{ type: 'function', function: { name: 'f' } }] }, [['tools', 'tools']]],
    ['no tools for an empty list', { tools: [] }, []],
    [
      'a JSON schema',
      { response_format: { type: 'json_schema', json_schema: {} } },
      [['json_schema', 'response_format']],
    ],
    ['a JSON object', { response_format: { type: 'json_object' } }, [['json_object', 'response_format']]],
    ['nothing for text', { response_format: { type: 'text' } }, []],
    ['logprobs', { logprobs: true, top_logprobs: 2 }, [['logprobs', 'logprobs']]],
    ['top_logprobs alone', { top_logprobs: 3 }, [['logprobs', 'top_logprobs']]],
    ['several choices', { n: 2 }, [['n', 'n']]],
    ['a seed', { seed: 0 }, [['seed', 'seed']]],
    ['stop sequences', { stop: ['\n'] }, [['stop', 'stop']]],
    [
      'penalties',
      { presence_penalty: 0.5, frequency_penalty: -1 },
      [
        ['penalties', 'presence_penalty'],
        ['penalties', 'frequency_penalty'],
      ],
    ],
    ['top_p', { top_p: 0.5 }, [['top_p', 'top_p']]],
    ['logit_bias', { logit_bias: { '50256': -100 } }, [['logit_bias', 'logit_bias']]],
    ['reasoning', { reasoning_effort: 'low' }, [['reasoning', 'reasoning_effort']]],
    [
      'nothing for neutral values clients send by default',
      {
        logprobs: false,
        top_logprobs: 0,
        n: 1,
        top_p: 1,
        presence_penalty: 0,
        frequency_penalty: 0,
        stop: [],
        reasoning_effort: 'none',
        logit_bias: {},
        parallel_tool_calls: true,
      },
      [],
    ],
  ])('should find %s', (_what, extra, expected) => {
    expect(chatFeatures(chat(extra)).map((f) => [f.capability, f.param])).toEqual(expected);
  });

  it('should find each image part by its place in the messages', () => {
    const request = chat({
      messages: [
        { role: 'system', content: 'be brief' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is it?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ],
    });
    expect(chatFeatures(request)).toEqual([{ capability: 'images', param: 'messages[1].content[1]', fields: [] }]);
  });

  it('should find a chosen embedding size', () => {
    expect(embeddingFeatures({ model: 'e', input: 'x', dimensions: 256 })).toEqual([
      { capability: 'dimensions', param: 'dimensions', fields: ['dimensions'] },
    ]);
    expect(embeddingFeatures({ model: 'e', input: 'x' })).toEqual([]);
  });
});

describe('fitRequest', () => {
  const giga = providerCapabilities(provider('gigachat'));
  const fit = (request: ChatCompletionRequest, dropParams: string[] = []) =>
    fitRequest(chatFeatures(request), giga, dropParams, (field) => request[field] !== undefined);

  it('should serve what the deployment can do, dropping nothing', () => {
    expect(fit(chat({ tools: [{ type: 'function', function: { name: 'f' } }], top_p: 0.5 }))).toEqual({
      ok: true,
      dropped: [],
    });
  });

  it('should name the first feature the deployment lacks', () => {
    expect(fit(chat({ seed: 1, logprobs: true }))).toEqual({
      ok: false,
      missing: { capability: 'logprobs', param: 'logprobs', fields: ['logprobs', 'top_logprobs'] },
    });
  });

  it('should drop what drop_params names, by field or by capability, with its companion fields', () => {
    expect(fit(chat({ logprobs: true, top_logprobs: 2, seed: 1 }), ['logprobs', 'seed'])).toEqual({
      ok: true,
      dropped: ['logprobs', 'seed', 'top_logprobs'],
    });
    expect(fit(chat({ presence_penalty: 1 }), ['penalties'])).toEqual({ ok: true, dropped: ['presence_penalty'] });
  });

  it('should drop a field drop_params names even where the deployment has the capability', () => {
    expect(fit(chat({ top_p: 0.5, user: 'u' }), ['user'])).toEqual({ ok: true, dropped: ['user'] });
  });

  it('should never drop an image: the model would answer about a picture it never saw', () => {
    const request = chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] });
    const yandex = providerCapabilities(provider('yandex'));
    expect(fitRequest(chatFeatures(request), yandex, ['images', 'messages'], () => true)).toMatchObject({
      ok: false,
      missing: { capability: 'images' },
    });
  });
});

describe('withoutFields', () => {
  it('should copy the request without the fields, leaving the original untouched', () => {
    const request = chat({ seed: 1, logprobs: true });
    expect(withoutFields(request, ['seed', 'logprobs'])).toEqual(chat());
    expect(request).toMatchObject({ seed: 1, logprobs: true });
  });
});
