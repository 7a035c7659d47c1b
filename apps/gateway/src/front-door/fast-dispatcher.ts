import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { sendOpenAiError } from '@xrouter/common';
import { labelRoute } from '@xrouter/metrics';
import { Admission } from './admission';
import { declaredRoutes, pathOf, type DeclaredRoute } from './route-table';

type ArgumentResolver = (
  req: IncomingMessage & { body?: unknown },
  res: ServerResponse,
  ctx: ExecutionContextHost,
) => unknown;

interface FastHandler {
  route: DeclaredRoute;
  controller: Type;
  fn: (...args: unknown[]) => unknown;
  instance: object;
  args: ArgumentResolver[];
}

interface RouteArgument {
  index: number;
  data?: unknown;
  pipes?: unknown[];
  factory?: (data: unknown, ctx: ExecutionContextHost) => unknown;
}

/** The kind of a route argument from its key in Nest's metadata (`3:0` is the body at index 0). */
function paramtypeOf(key: string): RouteParamtypes {
  return Number(key.split(':')[0]);
}

function refuse(route: DeclaredRoute, why: string): never {
  throw new Error(
    `${route.method} ${route.path} is marked @FastRoute() but ${why}, which the fast dispatcher does not run: ` +
      'teach front-door/fast-dispatcher.ts to, or serve the route with Nest alone',
  );
}

/**
 * Serves the {@link FastRoute} routes straight on node:http, ahead of express's router — which, with Nest's route
 * handler around it, cost a third of the gateway's CPU per call (bench/README.md). Nothing about a route is written
 * here: its table is built from the controllers' own Nest metadata ({@link declaredRoutes}), and each request goes
 * through what Nest would run, in Nest's order — the app's global guards (auth and scope, rate limit, then the
 * body reader: `gateway.module.ts`), the global pipes on `@Body()`, the handler with its declared arguments, and on
 * any failure the error filter's own writer. What it cannot run (a route's own guards, pipes, interceptors or
 * filters; a global interceptor; another global filter) stops the app at start-up instead of being skipped.
 */
export class FastDispatcher {
  private readonly handlers = new Map<string, FastHandler>();

  private constructor(private readonly admission: Admission) {}

  static fromApp(app: INestApplication): FastDispatcher {
    const dispatcher = new FastDispatcher(Admission.of(app));
    for (const route of declaredRoutes(app.get(ModulesContainer))) {
      if (route.fast) dispatcher.add(route, app.get<object>(route.controller as Type<object>, { strict: false }));
    }
    return dispatcher;
  }

  /** `POST /v1/chat/completions`, …: what it serves, for the start-up log. */
  describe(): string[] {
    return [...this.handlers.values()].map((h) => `${h.route.method} ${h.route.path}`);
  }

  /** The handler a request is for, or undefined when express and Nest serve it. */
  match(req: IncomingMessage): FastHandler | undefined {
    return this.handlers.get(`${req.method} ${pathOf(req.url ?? '')}`);
  }

  /** Serves one request of a matched route; never rejects (failures are answered in OpenAI's envelope). */
  async serve(handler: FastHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
    labelRoute(req, handler.route.path);
    try {
      const ctx = await this.admission.admit(req, res, handler.controller, handler.fn);
      const args: unknown[] = [];
      for (const resolve of handler.args) args.push(await resolve(req, res, ctx));
      await handler.fn.apply(handler.instance, args);
    } catch (error) {
      sendOpenAiError(req, res, error);
    }
  }

  private add(route: DeclaredRoute, instance: object): void {
    if (/[:*]/.test(route.path)) refuse(route, 'its path has parameters');
    const fn = (route.controller.prototype as Record<string, (...args: unknown[]) => unknown>)[route.handler];
    for (const [what, key] of [
      ['guards', GUARDS_METADATA],
      ['interceptors', INTERCEPTORS_METADATA],
      ['pipes', PIPES_METADATA],
      ['exception filters', EXCEPTION_FILTERS_METADATA],
    ]) {
      if (Reflect.getMetadata(key, fn) || Reflect.getMetadata(key, route.controller)) refuse(route, `it has ${what}`);
    }
    const declared = (Reflect.getMetadata(ROUTE_ARGS_METADATA, route.controller, route.handler) ?? {}) as Record<
      string,
      RouteArgument
    >;
    const types = (Reflect.getMetadata('design:paramtypes', route.controller.prototype as object, route.handler) ??
      []) as Type[];
    const args: ArgumentResolver[] = [];
    let writesItsResponse = false;
    for (const [key, argument] of Object.entries(declared)) {
      if ((argument.pipes ?? []).length > 0) refuse(route, 'an argument has pipes');
      args[argument.index] = this.resolverOf(route, key, argument, types[argument.index]);
      writesItsResponse ||= paramtypeOf(key) === RouteParamtypes.RESPONSE;
    }
    if (!writesItsResponse) refuse(route, 'its handler returns its answer instead of writing it with @Res()');
    this.handlers.set(`${route.method} ${route.path}`, { route, controller: route.controller, fn, instance, args });
  }

  private resolverOf(route: DeclaredRoute, key: string, argument: RouteArgument, type: Type): ArgumentResolver {
    if (key.includes(CUSTOM_ROUTE_ARGS_METADATA)) {
      const { factory, data } = argument;
      if (!factory) refuse(route, `argument ${argument.index} has no factory`);
      return (_req, _res, ctx) => factory(data, ctx);
    }
    const kind = paramtypeOf(key);
    if (kind === RouteParamtypes.REQUEST) return (req) => req;
    if (kind === RouteParamtypes.RESPONSE) return (_req, res) => res;
    if (kind !== RouteParamtypes.BODY) refuse(route, `argument ${argument.index} is of a kind it does not resolve`);
    if (argument.data !== undefined) refuse(route, '@Body() names a property');
    return (req) => this.admission.body(req.body, type);
  }
}
