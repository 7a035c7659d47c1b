import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { AUTH_REQUIREMENTS, IS_PUBLIC } from '../auth.constants';
import type { AuthRequirements } from '../auth.decorators';
import { CredentialService } from '../credential.service';
import type { Principal } from '../principal';

/** `Authorization: Bearer <secret>` (OpenAI SDKs send this); null when absent or malformed. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/** Whether the principal meets a route's requirements; admins hold every role and scope. */
export function meetsRequirements(principal: Principal, requirements: AuthRequirements): boolean {
  if (principal.role === 'admin') return true;
  if (requirements.roles?.length && !requirements.roles.includes(principal.role)) return false;
  if (requirements.scopes?.length && principal.scopes.length > 0) {
    return requirements.scopes.every((scope) => principal.scopes.includes(scope));
  }
  return true;
}

/** The one global guard: every route is closed unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly credentials: CredentialService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const secret = bearerToken(request.headers.authorization);
    if (!secret) {
      throw new GatewayError(
        ErrorCode.INVALID_API_KEY,
        "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
      );
    }
    const principal = await this.credentials.authenticate(secret);
    if (!principal)
      throw new GatewayError(ErrorCode.INVALID_API_KEY, 'Incorrect, revoked or expired API key provided.');
    const requirements = this.reflector.getAllAndOverride<AuthRequirements>(AUTH_REQUIREMENTS, targets) ?? {};
    if (!meetsRequirements(principal, requirements)) {
      throw new GatewayError(ErrorCode.FORBIDDEN, 'This credential is not allowed to use this endpoint.');
    }
    request.principal = principal;
    return true;
  }
}
