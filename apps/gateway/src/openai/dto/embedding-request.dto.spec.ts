import { encode } from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import { createValidationPipe, ErrorCode, GatewayError } from '@xrouter/common';
import { EmbeddingRequestDto, embeddingTexts, isEmbeddingInput } from './embedding-request.dto';

describe('embedding inputs', () => {
  it.each<[string, unknown, boolean]>([
    ['a text', 'Привет', true],
    ['texts', ['a', 'b'], true],
    ['token ids', [9906, 1917], true],
    ['lists of token ids (LangChain)', [[9906], [1917, 0]], true],
    ['an empty text', '', false],
    ['an empty list', [], false],
    ['an empty list of ids among others', [[1], []], false],
    ['texts mixed with ids', ['a', 1], false],
    ['negative ids', [-1], false],
    ['fractional ids', [1.5], false],
  ])('should take %s: %s', (_what, input, ok) => {
    expect(isEmbeddingInput(input)).toBe(ok);
  });

  it('should decode cl100k_base token ids to the text they encode, keeping texts as they are', () => {
    const text = 'Привет, мир';
    expect(embeddingTexts(encode(text))).toBe(text);
    expect(embeddingTexts([encode(text), encode('hello')])).toEqual([text, 'hello']);
    expect(embeddingTexts(['a', 'b'])).toEqual(['a', 'b']);
    expect(embeddingTexts('a')).toBe('a');
  });

  it('should refuse ids outside the vocabulary with a 400 naming input', () => {
    const cases: Array<[number[] | number[][], string]> = [
      [[999_999_999], 'input'],
      [[[1], [100_277]], 'input[1]'],
    ];
    for (const [input, param] of cases) {
      let error: unknown;
      try {
        embeddingTexts(input);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ code: ErrorCode.BAD_REQUEST, param, status: 400 });
    }
  });
});

describe('EmbeddingRequestDto through the validation pipe', () => {
  const validate = (body: Record<string, unknown>) =>
    createValidationPipe().transform(body, { type: 'body', metatype: EmbeddingRequestDto });

  it.each<[string, unknown]>([
    ['null', null],
    ['a number', 5],
    ['an object', { text: 'hi' }],
    ['an empty text', ''],
    ['an empty list', []],
  ])('should refuse an input of %s with a 400 naming input', async (_what, input) => {
    await expect(validate({ model: 'bge-m3', input })).rejects.toMatchObject({
      code: ErrorCode.BAD_REQUEST,
      param: 'input',
    });
  });

  it('should take a text, texts and token ids', async () => {
    for (const input of ['hi', ['a', 'b'], [1, 2], [[1], [2]]]) {
      await expect(validate({ model: 'bge-m3', input })).resolves.toMatchObject({ input });
    }
  });
});
