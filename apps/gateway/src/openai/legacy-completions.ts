import {
  ErrorCode,
  GatewayError,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  type FinishReason,
  type TextCompletion,
  type TextFinishReason,
  type Usage,
} from '@xrouter/common';
import type { CompletionPrompt, CompletionRequestDto } from './dto/completion-request.dto';
import { decodeTokens } from './token-ids';

export { decodeTokens } from './token-ids';

/**
 * The legacy completions API over chat. Each prompt is one user message; each of its `n` choices is one chat call of
 * its own (the chat APIs behind the gateway return one choice per call), so a request asks for
 * `prompts × n` calls, at most {@link MAX_CHOICES}. Choice `i` of prompt `p` is `index = p × n + i`, as OpenAI
 * numbers them. A stream carries one choice (one prompt, `n` 1): several would interleave calls that fail and fall
 * back independently.
 */
export const MAX_CHOICES = 16;

/** Fields that change what the model is asked, with no equivalent in chat: refused unless neutral. */
const UNSUPPORTED: Array<[string, (value: unknown) => boolean, string]> = [
  ['suffix', (v) => typeof v === 'string' && v !== '', 'no provider behind this gateway fills in a suffix'],
  ['logprobs', (v) => typeof v === 'number', 'no provider behind this gateway returns log probabilities'],
  ['best_of', (v) => typeof v === 'number' && v > 1, 'the providers do not generate and rank candidates; use n'],
  [
    'logit_bias',
    (v) => typeof v === 'object' && v !== null && Object.keys(v).length > 0,
    'token ids mean nothing to these providers',
  ],
];

/** Fields the mapping handles itself; everything else goes to chat as it came (as chat passes unknown fields on). */
const MAPPED = new Set(['prompt', 'n', 'echo', 'suffix', 'logprobs', 'best_of', 'logit_bias', 'stream_options']);

function refuse(param: string, message: string): never {
  throw new GatewayError(ErrorCode.BAD_REQUEST, message, { param });
}

/** The prompts of a request as text, in order. */
export function promptsOf(prompt: CompletionPrompt): string[] {
  if (typeof prompt === 'string') return [prompt];
  if (prompt.every((p) => typeof p === 'number')) return [decodeTokens(prompt, 'prompt')];
  return prompt.map((p, i) => (typeof p === 'string' ? p : decodeTokens(p, `prompt[${i}]`)));
}

/** What a legacy request asks for: the chat request of each call, in choice order. */
export interface CompletionPlan {
  prompts: string[];
  /** Choices per prompt. */
  n: number;
  /** One chat request per choice; `calls[p * n + i]` is choice `i` of prompt `p`. */
  calls: ChatCompletionRequest[];
  echo: boolean;
}

/** Maps a legacy request onto chat calls, or refuses it (400 naming the field) when it cannot be honoured. */
export function planCompletion(body: CompletionRequestDto): CompletionPlan {
  for (const [field, unsupported, why] of UNSUPPORTED) {
    if (unsupported(body[field])) refuse(field, `${field} is not supported: ${why}`);
  }
  const prompts = promptsOf(body.prompt);
  const n = body.n ?? 1;
  if (prompts.length * n > MAX_CHOICES) {
    refuse(
      prompts.length > 1 ? 'prompt' : 'n',
      `At most ${MAX_CHOICES} choices per request (prompts × n); this one asks for ${prompts.length * n}`,
    );
  }
  if (body.stream && prompts.length * n > 1) {
    refuse(prompts.length > 1 ? 'prompt' : 'n', 'A stream carries one choice: send one prompt with n 1');
  }
  const shared = Object.fromEntries(
    Object.entries(body).filter(([field, value]) => !MAPPED.has(field) && value !== null && value !== undefined),
  );
  if (body.stream && body.stream_options) shared.stream_options = body.stream_options;
  const calls = prompts.flatMap((content) =>
    Array.from({ length: n }, (): ChatCompletionRequest => ({
      ...shared,
      model: body.model,
      messages: [{ role: 'user', content }],
    })),
  );
  return { prompts, n, calls, echo: body.echo === true };
}

function textFinish(reason: FinishReason | null): TextFinishReason | null {
  if (reason === null || reason === 'length' || reason === 'content_filter') return reason;
  return 'stop';
}

/** The sum of the calls' usage (each call reports its own). */
export function sumUsage(usages: ReadonlyArray<Usage | null | undefined>): Usage {
  const sum = (field: 'prompt_tokens' | 'completion_tokens' | 'total_tokens') =>
    usages.reduce((total, usage) => total + (usage?.[field] ?? 0), 0);
  return {
    prompt_tokens: sum('prompt_tokens'),
    completion_tokens: sum('completion_tokens'),
    total_tokens: sum('total_tokens'),
  };
}

/** The chat completions of a plan's calls (in its order) as one `text_completion`. */
export function toTextCompletion(plan: CompletionPlan, answers: readonly ChatCompletion[], id: string): TextCompletion {
  return {
    id,
    object: 'text_completion',
    created: answers[0]?.created ?? Math.floor(Date.now() / 1000),
    model: answers[0]?.model ?? '',
    choices: answers.map((answer, index) => {
      const choice = answer.choices[0];
      const echoed = plan.echo ? plan.prompts[Math.floor(index / plan.n)] : '';
      return {
        text: echoed + (choice?.message.content ?? ''),
        index,
        logprobs: null,
        finish_reason: textFinish(choice?.finish_reason ?? null),
      };
    }),
    usage: sumUsage(answers.map((answer) => answer.usage)),
  };
}

/**
 * A chat stream of one choice as `text_completion` chunks: text deltas and the finish, the echoed prompt first, the
 * usage chunk as it came (it carries `cost_rub`). Chunks with nothing for a text client (the role) are left out.
 */
export async function* toTextCompletionChunks(
  plan: CompletionPlan,
  chunks: AsyncIterable<ChatCompletionChunk>,
  id: string,
): AsyncGenerator<TextCompletion> {
  let echo = plan.echo ? plan.prompts[0] : '';
  for await (const chunk of chunks) {
    const choice = chunk.choices[0];
    const text = echo + (choice?.delta.content ?? '');
    const finish = textFinish(choice?.finish_reason ?? null);
    if (text === '' && finish === null && !chunk.usage) continue;
    echo = '';
    yield {
      id,
      object: 'text_completion',
      created: chunk.created,
      model: chunk.model,
      choices: choice || text ? [{ text, index: 0, logprobs: null, finish_reason: finish }] : [],
      ...(chunk.usage !== undefined ? { usage: chunk.usage } : {}),
    };
  }
}
