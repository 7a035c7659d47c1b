import { splitThinking, ThinkSplitter } from './think-splitter';

function feed(chunks: string[]): { reasoning: string; content: string } {
  const splitter = new ThinkSplitter();
  let reasoning = '';
  let content = '';
  for (const chunk of [...chunks.map((c) => splitter.push(c)), splitter.flush()]) {
    reasoning += chunk.reasoning;
    content += chunk.content;
  }
  return { reasoning, content };
}

describe('ThinkSplitter', () => {
  const answer = '<think>\nI should greet.\n</think>\n\nHello!';

  it('should split a whole answer', () => {
    expect(splitThinking(answer)).toEqual({ reasoning: '\nI should greet.\n', content: 'Hello!' });
  });

  it('should split the same way however the text is chunked', () => {
    for (let size = 1; size <= answer.length; size++) {
      const chunks = answer.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? [];
      expect(feed(chunks)).toEqual({ reasoning: '\nI should greet.\n', content: 'Hello!' });
    }
  });

  it('should pass text without a leading block through unchanged', () => {
    expect(feed(['Hello ', '<think>not at the start</think>'])).toEqual({
      reasoning: '',
      content: 'Hello <think>not at the start</think>',
    });
    expect(feed(['<thi', 'nk is a word'])).toEqual({ reasoning: '', content: '<think is a word' });
  });

  it('should not lose an unterminated block', () => {
    expect(feed(['<think>still thinking</thi'])).toEqual({ reasoning: 'still thinking</thi', content: '' });
  });
});
