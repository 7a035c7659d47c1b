import { encode } from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import { GatewayError, type ChatCompletion, type ChatCompletionChunk } from '@xrouter/common';
import type { CompletionRequestDto } from './dto/completion-request.dto';
import { isCompletionPrompt } from './dto/completion-request.dto';
import { MAX_CHOICES, planCompletion, toTextCompletion, toTextCompletionChunks } from './legacy-completions';

const request = (fields: Partial<CompletionRequestDto>): CompletionRequestDto => ({
  model: 'GigaChat-2',
  prompt: 'hi',
  ...fields,
});

function refusal(fields: Partial<CompletionRequestDto>): { param: string | null; message: string } {
  try {
    planCompletion(request(fields));
  } catch (error) {
    if (error instanceof GatewayError && error.status === 400) return { param: error.param, message: error.message };
    throw error;
  }
  throw new Error('not refused');
}

const answer = (content: string, finish: ChatCompletion['choices'][0]['finish_reason'] = 'stop'): ChatCompletion => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1700000000,
  model: 'GigaChat-2',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish }],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
});

describe('planCompletion', () => {
  it('should send a string prompt as one user message with the sampling parameters', () => {
    const plan = planCompletion(
      request({ prompt: 'Say hi', max_tokens: 7, temperature: 0.5, top_p: 0.9, stop: ['\n'], user: 'u1' }),
    );
    expect(plan.calls).toEqual([
      {
        model: 'GigaChat-2',
        messages: [{ role: 'user', content: 'Say hi' }],
        max_tokens: 7,
        temperature: 0.5,
        top_p: 0.9,
        stop: ['\n'],
        user: 'u1',
      },
    ]);
  });

  it('should make one call per prompt and choice, numbered prompt × n + choice', () => {
    const plan = planCompletion(request({ prompt: ['a', 'b'], n: 2 }));
    expect(plan.calls.map((c) => c.messages[0].content)).toEqual(['a', 'a', 'b', 'b']);
    expect(plan.calls.every((c) => c.n === undefined)).toBe(true);
  });

  it('should decode token prompts with cl100k_base, one list or several', () => {
    expect(planCompletion(request({ prompt: encode('Привет, мир') })).prompts).toEqual(['Привет, мир']);
    expect(planCompletion(request({ prompt: [encode('one'), encode('two')] })).prompts).toEqual(['one', 'two']);
  });

  it('should refuse a token id outside the vocabulary, naming the prompt', () => {
    expect(refusal({ prompt: [[1, 2], [999_999_999]] }).param).toBe('prompt[1]');
  });

  it.each<[Partial<CompletionRequestDto>, string]>([
    [{ suffix: 'end' }, 'suffix'],
    [{ logprobs: 0 }, 'logprobs'],
    [{ best_of: 2 }, 'best_of'],
    [{ logit_bias: { '50256': -100 } }, 'logit_bias'],
    [{ n: MAX_CHOICES + 1 }, 'n'],
    [{ prompt: ['a', 'b'], stream: true }, 'prompt'],
    [{ n: 2, stream: true }, 'n'],
  ])('should refuse %j by name', (fields, param) => {
    expect(refusal(fields).param).toBe(param);
  });

  it.each<Partial<CompletionRequestDto>>([
    { suffix: '' },
    { suffix: null },
    { logprobs: null },
    { best_of: 1 },
    { logit_bias: {} },
  ])('should accept the neutral value %j', (fields) => {
    expect(planCompletion(request(fields)).calls).toHaveLength(1);
  });

  it('should pass stream_options only to a stream', () => {
    expect(
      planCompletion(request({ stream_options: { include_usage: true } })).calls[0].stream_options,
    ).toBeUndefined();
    expect(
      planCompletion(request({ stream: true, stream_options: { include_usage: true } })).calls[0].stream_options,
    ).toEqual({ include_usage: true });
  });
});

describe('isCompletionPrompt', () => {
  it.each([['text'], [['a', 'b']], [[1, 2]], [[[1], [2, 3]]], ['']])('should accept %j', (prompt) => {
    expect(isCompletionPrompt(prompt)).toBe(true);
  });
  it.each([[[]], [[1, 'a']], [[[]]], [[-1]], [[1.5]], [null], [{}]])('should refuse %j', (prompt) => {
    expect(isCompletionPrompt(prompt)).toBe(false);
  });
});

describe('toTextCompletion', () => {
  it('should make text choices, echo the prompt when asked and sum the usage', () => {
    const plan = planCompletion(request({ prompt: ['a', 'b'], echo: true }));
    const completion = toTextCompletion(plan, [answer('1'), answer('2', 'tool_calls')], 'cmpl-x');
    expect(completion).toEqual({
      id: 'cmpl-x',
      object: 'text_completion',
      created: 1700000000,
      model: 'GigaChat-2',
      choices: [
        { text: 'a1', index: 0, logprobs: null, finish_reason: 'stop' },
        { text: 'b2', index: 1, logprobs: null, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 },
    });
  });
});

describe('toTextCompletionChunks', () => {
  async function* chat(): AsyncGenerator<ChatCompletionChunk> {
    const base = { id: 'c', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
    yield await Promise.resolve({
      ...base,
      choices: [{ index: 0, delta: { role: 'assistant' as const, content: '' }, finish_reason: null }],
    });
    yield { ...base, choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] };
    yield { ...base, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: 'length' }] };
    yield { ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, cost_rub: '0.1' } };
  }

  it('should stream text deltas as text_completion chunks, the echo first and the usage chunk last', async () => {
    const chunks = [];
    for await (const chunk of toTextCompletionChunks(planCompletion(request({ echo: true })), chat(), 'cmpl-1')) {
      chunks.push(chunk);
    }
    expect(chunks.map((c) => [c.object, c.choices[0]?.text, c.choices[0]?.finish_reason])).toEqual([
      ['text_completion', 'hi', null],
      ['text_completion', 'Hel', null],
      ['text_completion', 'lo', 'length'],
      ['text_completion', undefined, undefined],
    ]);
    expect(chunks[3].usage).toMatchObject({ total_tokens: 3, cost_rub: '0.1' });
    expect(chunks.every((c) => c.id === 'cmpl-1')).toBe(true);
  });
});
