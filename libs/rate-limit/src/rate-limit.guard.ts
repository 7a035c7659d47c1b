import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { IS_PUBLIC } from '@xrouter/auth';
import { SKIP_RATE_LIMIT } from './rate-limit.constants';
import { RateLimitService } from './rate-limit.service';

/**
 * The per-key rate-limit guard, global and AFTER the auth guard (it reads `request.principal`). Public routes
 * (health, metrics, docs, OAuth) and `@SkipRateLimit()` routes pass untouched.
 *
 * Why not a `ThrottlerGuard` subclass: it runs one storage call per named throttler, one after another, and each
 * counts the request even when another refuses it (a client held back by the per-second burst would still use up
 * its RPM); it cannot read a TPM counter charged after the call; and it writes `X-RateLimit-Reset-<name>` in whole
 * seconds and `Retry-After-<name>`, where OpenAI clients expect `x-ratelimit-reset-requests: 6m0s` and a plain
 * `Retry-After`. Bending it would mean overriding `canActivate` and `handleRequest` entirely, so this guard makes
 * one atomic `Store.consumeLimits` call instead. `StoreThrottlerStorage` keeps throttler's own counters in the
 * store for IP-based limits on public routes.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimitService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(SKIP_RATE_LIMIT, targets)) return true;
    const http = context.switchToHttp();
    const principal = http.getRequest<Request>().principal;
    if (!principal) {
      if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
      // A closed route without a principal means this guard ran first: fail loudly rather than limit nothing.
      throw new Error('RateLimitGuard ran before the auth guard: import RateLimitModule after AuthModule');
    }
    const headers = await this.limiter.check(principal);
    const response = http.getResponse<Response>();
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    return true;
  }
}
