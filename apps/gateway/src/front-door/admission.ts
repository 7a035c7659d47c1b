import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ForbiddenException,
  type CanActivate,
  type ExceptionFilter,
  type INestApplication,
  type PipeTransform,
  type Type,
} from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { isObservable, lastValueFrom } from 'rxjs';
import { OpenAiExceptionFilter } from '@xrouter/common';

/**
 * What Nest runs around every route, taken from the app itself so the doors ahead of express run exactly it: the
 * global guards in their order (`gateway.module.ts`) and the global pipes. Checks, once, that there is nothing
 * else a door would have to run — a global interceptor, another global filter — and stops the app if there is.
 */
export class Admission {
  private constructor(
    readonly guards: readonly CanActivate[],
    readonly pipes: readonly PipeTransform[],
  ) {}

  static of(app: INestApplication): Admission {
    const config = app.get(ApplicationConfig);
    if (config.getGlobalInterceptors().length > 0 || config.getGlobalRequestInterceptors().length > 0) {
      throw new Error('The doors ahead of express do not run global interceptors: teach front-door/ to first');
    }
    const filters: ExceptionFilter[] = [
      ...config.getGlobalFilters(),
      ...config.getGlobalRequestFilters().map((w) => w.instance),
    ];
    if (filters.some((filter) => !(filter instanceof OpenAiExceptionFilter))) {
      throw new Error('The doors ahead of express answer errors as OpenAiExceptionFilter does: another filter is set');
    }
    return new Admission(
      [...config.getGlobalGuards(), ...config.getGlobalRequestGuards().map((w) => w.instance)],
      [...config.getGlobalPipes(), ...config.getGlobalRequestPipes().map((w) => w.instance)],
    );
  }

  /**
   * Runs the global guards for a request of a route's handler, as Nest's guards consumer does: in order, each
   * awaited; a guard that says no without an error of its own is a 403. Returns the context they saw.
   */
  async admit(
    req: IncomingMessage,
    res: ServerResponse,
    controller: Type,
    handler: (...args: unknown[]) => unknown,
  ): Promise<ExecutionContextHost> {
    const ctx = new ExecutionContextHost([req, res, undefined], controller, handler);
    for (const guard of this.guards) {
      const verdict = guard.canActivate(ctx);
      const allowed = isObservable(verdict) ? await lastValueFrom(verdict) : await verdict;
      if (!allowed) throw new ForbiddenException('Forbidden resource');
    }
    return ctx;
  }

  /** The global pipes over a `@Body()` argument of the given DTO class. */
  async body(value: unknown, metatype: Type | undefined): Promise<unknown> {
    for (const pipe of this.pipes) value = await pipe.transform(value, { type: 'body', metatype });
    return value;
  }
}
