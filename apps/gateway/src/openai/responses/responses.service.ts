import { Injectable } from '@nestjs/common';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { RouteOutcome } from '@xrouter/routing';
import { OpenAiGatewayService, type BilledOutcome } from '../openai-gateway.service';
import type { CallerContext } from '../request-context';
import {
  fromChatCompletion,
  newId,
  parseResponseRequest,
  ResponseEventBuilder,
  responseEvents,
  responseShell,
  toChatRequest,
} from './responses-mapping';
import type { ResponseCreateRequest, ResponseObject, ResponseStreamEvent } from './responses.types';

/**
 * `POST /v1/responses` over chat completions: the request is mapped to a chat request and sent the one way every
 * chat call goes (admission, routing and settlement: {@link OpenAiGatewayService}), and the answer mapped back.
 */
@Injectable()
export class ResponsesService {
  constructor(private readonly gateway: OpenAiGatewayService) {}

  async create(body: ResponseCreateRequest, caller: CallerContext): Promise<BilledOutcome<ResponseObject>> {
    const { shell, chat } = this.prepare(body);
    const outcome = await this.gateway.chat(chat, caller);
    return { ...outcome, value: fromChatCompletion(shell, outcome.value) };
  }

  async stream(
    body: ResponseCreateRequest,
    caller: CallerContext,
  ): Promise<RouteOutcome<AsyncIterable<ResponseStreamEvent>>> {
    const { shell, chat } = this.prepare(body);
    const outcome = await this.gateway.chatStream(chat, caller);
    return { ...outcome, value: responseEvents(new ResponseEventBuilder(shell), outcome.value) };
  }

  private prepare(body: ResponseCreateRequest) {
    const parsed = parseResponseRequest(body);
    if (parsed.settings.previous_response_id !== null) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'previous_response_id is not supported yet', {
        param: 'previous_response_id',
      });
    }
    const shell = responseShell(parsed.settings, newId('resp'), Math.floor(Date.now() / 1000));
    return { shell, chat: toChatRequest(parsed) };
  }
}
