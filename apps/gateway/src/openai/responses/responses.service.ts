import { Injectable, Logger } from '@nestjs/common';
import type { Principal } from '@xrouter/auth';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { RouteOutcome } from '@xrouter/routing';
import { OpenAiGatewayService, type BilledOutcome } from '../openai-gateway.service';
import type { CallerContext } from '../request-context';
import { ResponseStore, type StoredResponse } from './response.store';
import {
  asResponsesError,
  fromChatCompletion,
  newId,
  parseResponseRequest,
  ResponseEventBuilder,
  responseEvents,
  responseShell,
  toChatRequest,
  type ParsedResponseRequest,
} from './responses-mapping';
import type { ConversationItem, ResponseCreateRequest, ResponseObject, ResponseStreamEvent } from './responses.types';

/** An answer, and what to do once it has been sent (store the response, when the request asked to). */
export type Answered<T> = T & { afterAnswer: () => void };

export interface InputItemsQuery {
  limit?: number;
  order?: 'asc' | 'desc';
  after?: string;
}

export interface InputItemList {
  object: 'list';
  data: ConversationItem[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/**
 * The state a WebSocket connection keeps between its responses: the last one answered on it, stored or not, so that
 * `previous_response_id` naming it continues without the store (and works with `store: false`, as OpenAI's
 * WebSocket mode does). Only the most recent response is kept; older ones must have been stored.
 */
export interface ConnectionState {
  last: StoredResponse | null;
}

/** What a prepared request needs to become a stored response. */
interface Prepared {
  parsed: ParsedResponseRequest;
  shell: ResponseObject;
  context: ConversationItem[];
}

function notFound(id: string, param: string | null = null): GatewayError {
  return new GatewayError(ErrorCode.NOT_FOUND, `Response with id '${id}' not found.`, { param });
}

/**
 * The Responses API over chat completions: a request is mapped to a chat request and sent the one way every chat
 * call goes (admission, routing and settlement: {@link OpenAiGatewayService}), and the answer mapped back. With
 * `store` (the default) the response, its input and its chain's context are kept — written after the answer is
 * sent, so the client never waits on that insert — for GET, DELETE and `previous_response_id`, each visible to the
 * credential's user only.
 */
@Injectable()
export class ResponsesService {
  private readonly logger = new Logger('Responses');

  constructor(
    private readonly gateway: OpenAiGatewayService,
    private readonly store: ResponseStore,
  ) {}

  async create(body: ResponseCreateRequest, caller: CallerContext): Promise<Answered<BilledOutcome<ResponseObject>>> {
    const prepared = await this.prepare(body, caller.principal);
    const outcome = await this.gateway
      .chat(toChatRequest(prepared.parsed, prepared.context), caller)
      .catch((error: unknown) => {
        throw asResponsesError(error);
      });
    const response = fromChatCompletion(prepared.shell, outcome.value);
    return { ...outcome, value: response, afterAnswer: () => this.keep(prepared, caller.principal, response) };
  }

  /** `connection`: the socket's state, when streamed over a WebSocket; it is then updated with this response. */
  async stream(
    body: ResponseCreateRequest,
    caller: CallerContext,
    connection?: ConnectionState,
  ): Promise<Answered<RouteOutcome<AsyncIterable<ResponseStreamEvent>>>> {
    const prepared = await this.prepare(body, caller.principal, connection);
    const outcome = await this.gateway
      .chatStream(toChatRequest(prepared.parsed, prepared.context), caller)
      .catch((error: unknown) => {
        throw asResponsesError(error);
      });
    const builder = new ResponseEventBuilder(prepared.shell);
    return {
      ...outcome,
      value: responseEvents(builder, outcome.value),
      // A stream its client abandoned was never answered: nothing to keep.
      afterAnswer: () => {
        if (!builder.result || caller.signal.aborted) return;
        const answered = this.keep(prepared, caller.principal, builder.result);
        if (connection) connection.last = answered;
      },
    };
  }

  async retrieve(principal: Principal, id: string): Promise<ResponseObject> {
    return (await this.find(principal, id)).response;
  }

  async inputItems(principal: Principal, id: string, query: InputItemsQuery): Promise<InputItemList> {
    const { input } = await this.find(principal, id);
    const ordered = query.order === 'asc' ? input : [...input].reverse();
    let start = 0;
    if (query.after !== undefined) {
      const at = ordered.findIndex((item) => item.id === query.after);
      if (at < 0) throw new GatewayError(ErrorCode.BAD_REQUEST, `No input item '${query.after}'.`, { param: 'after' });
      start = at + 1;
    }
    const limit = query.limit ?? 20;
    const data = ordered.slice(start, start + limit);
    return {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + limit < ordered.length,
    };
  }

  async delete(principal: Principal, id: string): Promise<{ id: string; object: 'response'; deleted: true }> {
    // An id PostgreSQL cannot hold as text (a NUL) was never stored.
    if (id.includes('\0') || !(await this.store.delete(id, principal.userId))) throw notFound(id);
    return { id, object: 'response', deleted: true };
  }

  private async find(principal: Principal, id: string, param: string | null = null): Promise<StoredResponse> {
    const stored = id.includes('\0') ? null : await this.store.find(id, principal.userId);
    if (!stored) throw notFound(id, param);
    return stored;
  }

  /** Checks the request and loads the chain it continues: everything that can refuse it before it is admitted. */
  private async prepare(
    body: ResponseCreateRequest,
    principal: Principal,
    connection?: ConnectionState,
  ): Promise<Prepared> {
    const parsed = parseResponseRequest(body);
    const previousId = parsed.settings.previous_response_id;
    let context: ConversationItem[] = [];
    if (previousId !== null) {
      const local = connection?.last?.id === previousId ? connection.last : null;
      const previous = local ?? (await this.find(principal, previousId, 'previous_response_id'));
      context = [...previous.context, ...previous.input, ...previous.response.output];
    }
    const shell = responseShell(parsed.settings, newId('resp'), Math.floor(Date.now() / 1000));
    return { parsed, shell, context };
  }

  /**
   * The answered response with its chain, stored when the request asked to (a failure to store is logged: the client
   * already has its answer).
   */
  private keep(prepared: Prepared, principal: Principal, response: ResponseObject): StoredResponse {
    const stored: StoredResponse = {
      id: response.id,
      createdAt: new Date(response.created_at * 1000),
      userId: principal.userId,
      context: prepared.context,
      input: prepared.parsed.input,
      response,
    };
    if (!prepared.parsed.settings.store) return stored;
    this.store.save(stored).catch((error: unknown) => {
      this.logger.warn(
        `Could not store response ${response.id}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    });
    return stored;
  }
}
