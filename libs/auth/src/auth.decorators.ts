import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { Request } from 'express';
import { AUTH_REQUIREMENTS, IS_PUBLIC } from './auth.constants';
import type { Scope } from './authority';
import type { Principal } from './principal';

/** What a route requires of the caller's authority: every listed scope (`admin` for /admin/*). */
export interface AuthRequirements {
  scopes?: Scope[];
}

/** Opens a route to anyone (health, metrics, docs, OAuth endpoints). Everything else is closed by default. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Requires a credential (and optionally scopes); also marks the route as bearer-secured in Swagger. */
export const Authenticated = (requirements: AuthRequirements = {}): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(AUTH_REQUIREMENTS, requirements), ApiBearerAuth());

/** The authenticated caller of this request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<Request>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});
