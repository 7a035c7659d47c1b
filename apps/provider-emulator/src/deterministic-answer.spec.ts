import {
  ANSWER_PADDING,
  THINK_BLOCK,
  answerText,
  countTokens,
  decideReply,
  embeddingVector,
  limitTokens,
  splitIntoChunks,
  stableUuid,
  toolArguments,
} from './deterministic-answer';

describe('deterministic answers', () => {
  it('should echo and pad short texts only', () => {
    expect(answerText('hi')).toBe('Echo: hi The provider emulator answers deterministically.');
    expect(answerText('')).toBe(`Echo: ${ANSWER_PADDING}`);
    expect(answerText('1 2 3 4 5 6 7 8')).toBe('Echo: 1 2 3 4 5 6 7 8');
    expect(answerText('{"a":1}', 'Tool result:')).toBe(`Tool result: {"a":1} ${ANSWER_PADDING}`);
  });

  it('should count whitespace-separated words, at least 1', () => {
    expect(countTokens('')).toBe(1);
    expect(countTokens('  one\ttwo\nthree ')).toBe(3);
  });

  it('should split into near-equal code-point chunks that join back', () => {
    expect(splitIntoChunks('abcdefgh', 4)).toEqual(['ab', 'cd', 'ef', 'gh']);
    expect(splitIntoChunks('abc', 8)).toEqual(['a', 'b', 'c']);
    expect(splitIntoChunks('', 8)).toEqual(['']);
    expect(splitIntoChunks('😀😀', 2)).toEqual(['😀', '😀']);
  });

  it('should cut to max tokens', () => {
    expect(limitTokens('a b  c', 2)).toEqual({ text: 'a b', truncated: true });
    expect(limitTokens('a b', 2)).toEqual({ text: 'a b', truncated: false });
  });

  it('should derive tool arguments from the JSON schema', () => {
    const parameters = {
      properties: {
        q: { type: 'string' },
        n: { type: 'number' },
        f: { type: 'boolean' },
        l: { type: 'array' },
        o: { type: 'object' },
        e: { type: 'string', enum: ['x', 'y'] },
      },
    };
    expect(toolArguments(parameters, 'two words')).toEqual({ q: 'two words', n: 2, f: true, l: [], o: {}, e: 'x' });
    expect(toolArguments(undefined, 'x')).toEqual({});
  });

  it('should decide between a tool call and text', () => {
    const tools = [
      { name: 'a', parameters: {} },
      { name: 'b', parameters: {} },
    ];
    expect(decideReply({ userText: 'hi', tools, toolChoice: 'auto' })).toMatchObject({ kind: 'tool', name: 'a' });
    expect(decideReply({ userText: 'hi', tools, toolChoice: { name: 'b' } })).toMatchObject({ name: 'b' });
    expect(decideReply({ userText: 'hi', tools, toolChoice: 'none' })).toMatchObject({ kind: 'text' });
    expect(decideReply({ userText: 'hi', toolResult: 'r', tools, toolChoice: 'auto' })).toMatchObject({
      kind: 'text',
      text: `Tool result: r ${ANSWER_PADDING}`,
    });
    expect(decideReply({ userText: 'hi', tools: [], toolChoice: 'auto', think: true })).toMatchObject({
      text: THINK_BLOCK + answerText('hi'),
    });
  });

  it('should give stable embeddings of any dimension in [-1, 1]', () => {
    const v = embeddingVector('alpha');
    expect(v).toHaveLength(16);
    expect(embeddingVector('alpha')).toEqual(v);
    expect(embeddingVector('beta')).not.toEqual(v);
    expect(embeddingVector('alpha', 40).slice(0, 16)).toEqual(v);
    expect(embeddingVector('alpha', 40).every((x) => x >= -1 && x <= 1)).toBe(true);
    expect(stableUuid('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
