import { normalizeMessage, toUpstreamRequest } from './openai-compatible.provider';

describe('toUpstreamRequest', () => {
  const request = { model: 'public', messages: [{ role: 'user' as const, content: 'x' }], temperature: 0.5, seed: 7 };

  it('should use the upstream model and drop what the host rejects', () => {
    const body = toUpstreamRequest(request, 'upstream', { dropParams: ['seed'], thinkTags: 'keep', streamUsage: true });
    expect(body).toEqual({ model: 'upstream', messages: request.messages, temperature: 0.5 });
  });

  it('should always ask for usage on streams', () => {
    const body = toUpstreamRequest({ ...request, stream: true }, 'upstream', {
      dropParams: [],
      thinkTags: 'keep',
      streamUsage: true,
    });
    expect(body.stream_options).toEqual({ include_usage: true });
  });
});

describe('normalizeMessage', () => {
  it('should rename vLLM reasoning to reasoning_content', () => {
    expect(normalizeMessage({ role: 'assistant', content: 'a', reasoning: 'r' }, 'keep')).toEqual({
      role: 'assistant',
      content: 'a',
      reasoning_content: 'r',
    });
  });

  it('should strip the think block without keeping it', () => {
    expect(normalizeMessage({ role: 'assistant', content: '<think>x</think>\n\nanswer' }, 'strip')).toEqual({
      role: 'assistant',
      content: 'answer',
    });
  });
});
