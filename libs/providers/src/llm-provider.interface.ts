import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from '@xrouter/common';
import type { AccountConfig, ProviderConfig, ProviderType } from '@xrouter/config';

/** One concrete place a request can go: a provider, one of its accounts, and the model id at the upstream. */
export interface DeploymentTarget {
  /** `provider/account/model`: names the deployment in breakers, stats, headers and usage rows. */
  readonly key: string;
  readonly provider: ProviderConfig;
  readonly account: AccountConfig;
  readonly upstreamModel: string;
}

/** Per-call data. Adapters are stateless singletons: everything about the call travels here. */
export interface CallContext {
  readonly target: DeploymentTarget;
  /** Aborted on timeout (reason: a GatewayError TIMEOUT) or when the client goes away. */
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** The model name the client asked for; responses echo it. */
  readonly publicModel: string;
  /** The gateway's completion id (`chatcmpl-…`), the same for every chunk of a stream. */
  readonly completionId: string;
  /**
   * Called when the upstream's answer begins (its response headers): the router then moves the attempt from its
   * first-token bound to its whole bound. Adapters hand it to the HTTP client with the request.
   */
  readonly onResponseStart?: () => void;
  /** The client's session id (`x-session-id` header), for providers that cache context by session (GigaChat). */
  readonly sessionId?: string;
}

/** A stream whose upstream answered 200; iterating yields OpenAI chunks and throws a GatewayError on failure. */
export type ChatChunkStream = AsyncIterable<ChatCompletionChunk>;

export interface LlmProvider {
  readonly type: ProviderType;
  chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion>;
  /** Resolves once the upstream accepted the stream, so failures before the first byte can still fall back. */
  chatStream(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatChunkStream>;
  embeddings(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse>;
  /** Model ids the upstream serves; also the health probe. */
  listModels(target: DeploymentTarget, signal: AbortSignal): Promise<string[]>;
}
