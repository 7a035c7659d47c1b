import type { Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod, SetMetadata } from '@nestjs/common';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { AUTH_REQUIREMENTS, IS_PUBLIC, type AuthRequirements, type Scope } from '@xrouter/auth';

const FAST_ROUTE = 'xrouter:fast-route';

/**
 * Serves this route on node:http ahead of express and Nest's router (`fast-dispatcher.ts`), through the same global
 * guards, pipes and error writer: for the routes every LLM call takes, where the router's own cost shows.
 */
export const FastRoute = (): MethodDecorator => SetMetadata(FAST_ROUTE, true);

/** Who may call a route: anyone, or a credential holding every listed scope (`admin` for /admin/*). */
export type RoutePolicy = 'public' | { scopes: Scope[] };

/** One route as its controller declares it: what Swagger, the dispatcher and the route-policy test read. */
export interface DeclaredRoute {
  method: string;
  /** `/v1/chat/completions`, `/admin/api-keys/:id`: express's syntax, as Nest registers it. */
  path: string;
  policy: RoutePolicy;
  /** Marked {@link FastRoute}. */
  fast: boolean;
  controller: Type;
  handler: string;
}

/** The request path without its query and without one trailing slash (express matches it either way). */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function joinPath(...parts: string[]): string {
  const joined = parts
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter((part) => part.length > 0)
    .join('/');
  return `/${joined}`;
}

function pathsOf(target: object): string[] {
  const path = Reflect.getMetadata(PATH_METADATA, target) as string | string[] | undefined;
  return path === undefined ? [] : Array.isArray(path) ? path : [path];
}

/**
 * Every route of every controller in the app, from Nest's own metadata: the one list of the app's routes. Works on
 * an app created in preview mode too (nothing instantiated: `main.js routes`).
 */
export function declaredRoutes(modules: ModulesContainer, reflector = new Reflector()): DeclaredRoute[] {
  const scanner = new MetadataScanner();
  const routes: DeclaredRoute[] = [];
  const seen = new Set<Type>();
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller || seen.has(controller)) continue;
      seen.add(controller);
      const prefixes = pathsOf(controller);
      for (const handler of scanner.getAllMethodNames(controller.prototype as object)) {
        const fn = (controller.prototype as Record<string, (...args: unknown[]) => unknown>)[handler];
        const paths = pathsOf(fn);
        if (paths.length === 0) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod];
        const targets = [fn, controller];
        const policy: RoutePolicy = reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)
          ? 'public'
          : { scopes: reflector.getAllAndOverride<AuthRequirements>(AUTH_REQUIREMENTS, targets)?.scopes ?? [] };
        const fast = reflector.get<boolean>(FAST_ROUTE, fn) === true;
        for (const prefix of prefixes.length > 0 ? prefixes : ['']) {
          for (const path of paths)
            routes.push({ method, path: joinPath(prefix, path), policy, fast, controller, handler });
        }
      }
    }
  }
  return routes;
}
