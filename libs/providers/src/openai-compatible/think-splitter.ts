const OPEN = '<think>';
const CLOSE = '</think>';

/** How a provider's `<think>…</think>` block at the start of an answer reaches the client. */
export type ThinkTagMode = 'split' | 'strip' | 'keep';

export interface SplitText {
  reasoning: string;
  content: string;
}

/** Length of the longest suffix of `text` that is a proper prefix of `tag` (a tag split across chunks). */
function partialTagAt(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (tag.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}

/**
 * Separates a leading `<think>…</think>` block (Qwen3-family models such as T-Pro 2.x served without a reasoning
 * parser) from the answer, chunk by chunk: tags split across chunks are held back only as long as they are ambiguous.
 * After the block, the blank lines that follow it are dropped. Text without a leading block passes through unchanged.
 */
export class ThinkSplitter {
  private state: 'start' | 'thinking' | 'after' | 'answer' = 'start';
  private pending = '';

  push(text: string): SplitText {
    const out: SplitText = { reasoning: '', content: '' };
    let rest = this.pending + text;
    this.pending = '';
    while (rest) {
      switch (this.state) {
        case 'start': {
          const trimmed = rest.trimStart();
          if (trimmed.startsWith(OPEN)) {
            this.state = 'thinking';
            rest = trimmed.slice(OPEN.length);
          } else if (OPEN.startsWith(trimmed)) {
            this.pending = rest; // could still become "<think>"
            return out;
          } else {
            this.state = 'answer';
          }
          break;
        }
        case 'thinking': {
          const end = rest.indexOf(CLOSE);
          if (end >= 0) {
            out.reasoning += rest.slice(0, end);
            rest = rest.slice(end + CLOSE.length);
            this.state = 'after';
          } else {
            const hold = partialTagAt(rest, CLOSE);
            out.reasoning += rest.slice(0, rest.length - hold);
            this.pending = rest.slice(rest.length - hold);
            return out;
          }
          break;
        }
        case 'after': {
          const trimmed = rest.replace(/^\s+/, '');
          if (!trimmed) return out;
          this.state = 'answer';
          rest = trimmed;
          break;
        }
        case 'answer':
          out.content += rest;
          rest = '';
          break;
      }
    }
    return out;
  }

  /** What is still held back when the stream ends (an unfinished tag is text after all). */
  flush(): SplitText {
    const held = this.pending;
    this.pending = '';
    return this.state === 'thinking' ? { reasoning: held, content: '' } : { reasoning: '', content: held };
  }
}

/** The whole-text version, for non-streamed answers. */
export function splitThinking(text: string): SplitText {
  const splitter = new ThinkSplitter();
  const first = splitter.push(text);
  const last = splitter.flush();
  return { reasoning: first.reasoning + last.reasoning, content: first.content + last.content };
}
