import {
  Body,
  Controller,
  createParamDecorator,
  ExecutionContext,
  Get,
  Header,
  HttpCode,
  Post,
  Query,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth.decorators';
import { OAuthExceptionFilter } from './oauth-exception.filter';
import { OAuthErrorDto, RevokeRequestDto, TokenRequestDto, TokenResponseDto } from './oauth-requests.dto';
import { OAuthService, type AuthorizationServerMetadata, type AuthorizeOutcome } from './oauth.service';
import type { TokenResponse } from './oauth-tokens.service';
import { ThrottlerGuard } from '@nestjs/throttler';

/** The client's address: the socket's, or what a trusted proxy says (express's `trust proxy`, from TRUST_PROXY). */
const ClientIp = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => {
  const req = ctx.switchToHttp().getRequest<Request>();
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
});

/** Writes a page (with its security headers) or a 302; returns the body for Nest to send. */
function send(res: Response, outcome: AuthorizeOutcome): string {
  if (outcome.kind === 'redirect') {
    res.status(302).setHeader('location', outcome.location);
    res.setHeader('cache-control', 'no-store');
    return '';
  }
  res.status(outcome.page.status);
  for (const [name, value] of Object.entries(outcome.page.headers)) res.setHeader(name, value);
  return outcome.page.html;
}

const FORM = 'application/x-www-form-urlencoded';

@ApiTags('OAuth')
@Public()
@UseFilters(OAuthExceptionFilter)
@UseGuards(ThrottlerGuard)
@Controller()
export class OAuthController {
  constructor(private readonly oauth: OAuthService) {}

  @Get('.well-known/oauth-authorization-server')
  @ApiOperation({ summary: 'Authorization server metadata (RFC 8414)' })
  metadata(): AuthorizationServerMetadata {
    return this.oauth.metadata();
  }

  @Get('oauth/authorize')
  @ApiOperation({
    summary: 'Start Authorization Code + PKCE (S256): shows the login and consent page',
    description:
      'Parameters: response_type=code, client_id, redirect_uri (exactly as registered), code_challenge, ' +
      'code_challenge_method=S256, optional state and scope. Errors before the client and redirect URI are ' +
      'verified are shown as a page; later ones are redirected back with error and state.',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The login and consent page' })
  @ApiFoundResponse({ description: 'Redirect back to the client with an error' })
  @ApiBadRequestResponse({ description: 'Unknown client or unregistered redirect URI (page, no redirect)' })
  async authorize(@Query() query: Record<string, unknown>, @Res({ passthrough: true }) res: Response): Promise<string> {
    return send(res, await this.oauth.startAuthorization(query));
  }

  @Post('oauth/authorize')
  @ApiOperation({ summary: 'The login and consent form: email, password, decision=approve|deny' })
  @ApiConsumes(FORM)
  @ApiProduces('text/html')
  @ApiFoundResponse({ description: 'Back to the client with a code (approve) or access_denied (deny)' })
  @ApiUnauthorizedResponse({ description: 'Wrong email or password: the page again, with an error' })
  @ApiTooManyRequestsResponse({
    description:
      'Too many sign-in attempts for this email from this address (or from everywhere): the page, Retry-After',
  })
  async decide(
    @Body() form: unknown,
    @ClientIp() clientIp: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    return send(res, await this.oauth.completeAuthorization(form, clientIp));
  }

  @Post('oauth/token')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @Header('pragma', 'no-cache')
  @ApiOperation({ summary: 'Exchange a code (with its PKCE verifier) or a refresh token for tokens' })
  @ApiConsumes(FORM)
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiBadRequestResponse({ type: OAuthErrorDto, description: 'invalid_grant, invalid_request, …' })
  @ApiUnauthorizedResponse({ type: OAuthErrorDto, description: 'invalid_client' })
  token(@Body() form: unknown): Promise<TokenResponse> {
    return this.oauth.token(form);
  }

  @Post('oauth/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an access or refresh token (RFC 7009); a refresh token takes its grant with it' })
  @ApiConsumes(FORM)
  @ApiBody({ type: RevokeRequestDto })
  @ApiOkResponse({ description: 'Revoked, or the token was unknown' })
  @ApiUnauthorizedResponse({ type: OAuthErrorDto, description: 'invalid_client' })
  async revoke(@Body() form: unknown): Promise<void> {
    await this.oauth.revoke(form);
  }
}
