import { decode } from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import { ErrorCode, GatewayError } from '@xrouter/common';

/**
 * Token ids from OpenAI clients, as text. OpenAI's APIs take prompts and embedding inputs as token ids too, and some
 * clients send nothing else (LangChain's `OpenAIEmbeddings` tokenizes every input); the providers behind the gateway
 * take text. The ids are cl100k_base, the encoding of the OpenAI models that served those APIs (the embedding models
 * and the completion models alike); its ranks ship in the package, nothing is downloaded.
 */

/** A non-empty list of non-negative integers. */
export function isTokenIds(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((t) => Number.isSafeInteger(t) && (t as number) >= 0);
}

/** Token ids as text; ids outside the vocabulary are a 400 naming `param`. */
export function decodeTokens(tokens: readonly number[], param: string): string {
  try {
    return decode(tokens);
  } catch {
    throw new GatewayError(
      ErrorCode.BAD_REQUEST,
      `${param} holds token ids that are not in the cl100k_base vocabulary`,
      { param },
    );
  }
}
