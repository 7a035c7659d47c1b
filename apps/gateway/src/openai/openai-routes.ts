import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type Type } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { authenticateBearer, CredentialService, type Scope } from '@xrouter/auth';
import { createValidationPipe, ErrorCode, GatewayError, sendOpenAiError, writeJson } from '@xrouter/common';
import { labelRoute } from '@xrouter/metrics';
import { RateLimitService } from '@xrouter/rate-limit';
import { appConfig } from '../app.config';
import { bodySizeBytes, readJsonBody } from '../json-body';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { EmbeddingRequestDto } from './dto/embedding-request.dto';
import { CallerContext, OpenAiGatewayService } from './openai-gateway.service';
import { callerContext, setRouteHeaders } from './request-context';
import { writeSse } from './sse-writer';

/** One POST route of the OpenAI API: its path, the scope a credential needs, its body's DTO and what serves it. */
export interface OpenAiRoute {
  path: string;
  scope: Scope;
  dto: Type<object>;
  serve(body: object, caller: CallerContext, res: ServerResponse): Promise<void>;
}

/** The request path without its query and without one trailing slash (express matches it either way). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings` — every LLM call — served straight on node:http, ahead of
 * express's router and Nest's guard/pipe chain, which cost about a third of the gateway's CPU per call (see
 * bench/README.md). The steps are the ones Nest runs for its routes, with the same pieces: {@link authenticateBearer},
 * the rate limiter's one store call, the JSON body reader, the same ValidationPipe on the same DTOs, then the gateway
 * service; every failure is answered by {@link sendOpenAiError}, the error filter's own writer. Swagger describes these routes from the same DTOs (`swagger.ts`). Everything else stays with Nest.
 */
@Injectable()
export class OpenAiRoutes {
  private readonly routes = new Map<string, OpenAiRoute>();
  private readonly validation = createValidationPipe();
  private readonly maxBodyBytes: number;

  constructor(
    private readonly credentials: CredentialService,
    private readonly limiter: RateLimitService,
    private readonly gateway: OpenAiGatewayService,
    @Inject(appConfig.KEY) settings: ConfigType<typeof appConfig>,
  ) {
    this.maxBodyBytes = bodySizeBytes(settings.maxBodySize);
    for (const route of [this.chatCompletions(), this.embeddings()]) this.routes.set(route.path, route);
  }

  /** The route a request is for, or undefined when the rest of the app serves it. */
  match(req: IncomingMessage): OpenAiRoute | undefined {
    return req.method === 'POST' ? this.routes.get(pathOf(req.url ?? '')) : undefined;
  }

  /**
   * Serves one request of a matched route; never rejects (failures are answered in OpenAI's envelope). In a guard's
   * order: the credential (from the cache), its rate limit (one store call), then the body — read, parsed and
   * validated. (Overlapping the store call with the body read measured slower: see bench/README.md.)
   */
  async serve(route: OpenAiRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    labelRoute(req, route.path);
    try {
      const principal = await authenticateBearer(this.credentials, req.headers.authorization, {
        scopes: [route.scope],
      });
      const limitHeaders = await this.limiter.check(principal);
      for (const name in limitHeaders) res.setHeader(name, limitHeaders[name]);
      const body = await this.validated(route, await readJsonBody(req, res, this.maxBodyBytes));
      await route.serve(body, callerContext(principal, res), res);
    } catch (error) {
      sendOpenAiError(req, res, error);
    }
  }

  /** The body as an instance of the route's DTO, validated by the app's ValidationPipe (a 400 naming the field). */
  private async validated(route: OpenAiRoute, raw: unknown): Promise<object> {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'The request body must be a JSON object.');
    }
    return (await this.validation.transform(raw, { type: 'body', metatype: route.dto })) as object;
  }

  private chatCompletions(): OpenAiRoute {
    return {
      path: '/v1/chat/completions',
      scope: 'chat',
      dto: ChatCompletionRequestDto,
      serve: async (body, caller, res) => {
        const request = body as ChatCompletionRequestDto;
        if (request.stream) {
          const outcome = await this.gateway.chatStream(request, caller);
          setRouteHeaders(res, outcome);
          return writeSse(res, outcome.value, request.stream_options?.include_usage === true);
        }
        const outcome = await this.gateway.chat(request, caller);
        setRouteHeaders(res, outcome);
        writeJson(res, 200, outcome.value);
      },
    };
  }

  private embeddings(): OpenAiRoute {
    return {
      path: '/v1/embeddings',
      scope: 'embeddings',
      dto: EmbeddingRequestDto,
      serve: async (body, caller, res) => {
        const outcome = await this.gateway.embeddings(body as EmbeddingRequestDto, caller);
        setRouteHeaders(res, outcome);
        writeJson(res, 200, outcome.value);
      },
    };
  }
}
