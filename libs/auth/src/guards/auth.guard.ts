import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { AUTH_REQUIREMENTS, IS_PUBLIC } from '../auth.constants';
import type { AuthRequirements } from '../auth.decorators';
import { CredentialService } from '../credential.service';
import { permits } from '../authority';
import type { Principal } from '../principal';

/** `Authorization: Bearer <secret>` (OpenAI SDKs send this); null when absent or malformed. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/** Whether the principal's authority holds every scope the route requires (admin routes require `admin`). */
export function meetsRequirements(principal: Principal, requirements: AuthRequirements): boolean {
  return permits(principal, requirements.scopes ?? []);
}

/**
 * The principal behind an `Authorization: Bearer` header, if it meets the requirements; otherwise a 401 (missing,
 * unknown, revoked or expired credential) or 403 GatewayError: what the guard does for every closed route.
 */
export async function authenticateBearer(
  credentials: CredentialService,
  authorization: string | undefined,
  requirements: AuthRequirements,
): Promise<Principal> {
  const secret = bearerToken(authorization);
  if (!secret) {
    throw new GatewayError(
      ErrorCode.INVALID_API_KEY,
      "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
    );
  }
  const principal = await credentials.authenticate(secret);
  if (!principal) throw new GatewayError(ErrorCode.INVALID_API_KEY, 'Incorrect, revoked or expired API key provided.');
  if (!meetsRequirements(principal, requirements)) {
    throw new GatewayError(ErrorCode.FORBIDDEN, 'This credential is not allowed to use this endpoint.');
  }
  return principal;
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
    const requirements = this.reflector.getAllAndOverride<AuthRequirements>(AUTH_REQUIREMENTS, targets) ?? {};
    const principal = await authenticateBearer(this.credentials, request.headers.authorization, requirements);
    request.principal = principal;
    return true;
  }
}
