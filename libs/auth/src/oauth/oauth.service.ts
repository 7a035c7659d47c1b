import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { STORE, type Store } from '@xrouter/store';
import { hashSecret } from '../api-key-secret';
import { UsersService } from '../users/users.service';
import { renderErrorPage, renderLoginPage, type HtmlPage } from './authorize.page';
import { OAuthClientEntity } from './oauth-client.entity';
import { oauthConfig } from './oauth.config';
import { OAuthError, type OAuthErrorCode } from './oauth.error';
import { formParams, isParameterBody, OAuthParams } from './oauth-params';
import { grantScopes, isClientIdShape, isRegisteredRedirectUri, parseScope, withResponseParams } from './oauth-policy';
import { OAuthTokenService, type TokenResponse } from './oauth-tokens.service';
import { isValidS256Challenge, PKCE_METHOD, verifyPkceS256 } from './pkce';

/** What GET/POST /oauth/authorize answer: a page (login, consent, error) or a redirect back to the client. */
export type AuthorizeOutcome = { kind: 'page'; page: HtmlPage } | { kind: 'redirect'; location: string };

/** RFC 8414 metadata. */
export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint: string;
  response_types_supported: string[];
  response_modes_supported: string[];
  grant_types_supported: string[];
  code_challenge_methods_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  authorization_response_iss_parameter_supported: boolean;
}

/** An authorization code's grant, kept in the store under the code's hash until it is used or expires. */
interface CodeRecord {
  clientId: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  scopes: string[];
  familyId: string;
  expiresAt: number;
}

interface ValidAuthorizeRequest {
  client: OAuthClientEntity;
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string;
  scopes: string[];
  /** The request's parameters, echoed as hidden fields of the login form. */
  echo: Record<string, string | undefined>;
}

const AUTHORIZE_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
] as const;
const CODE_KEY = 'oauth:code:';
const CODE_USED_KEY = 'oauth:code-used:';
const LOGIN_KEY = 'oauth:login:';
/** Sign-in attempts per e-mail from one client address in a window; a successful sign-in starts it again. */
const ADDRESS_ATTEMPTS = 10;
const ADDRESS_WINDOW_MS = 15 * 60_000;
/**
 * Every address together, per e-mail: a bucket that slows a flood from elsewhere to a few guesses a minute without
 * locking the real user out (they wait seconds for a token, never the address window).
 */
const EMAIL_BURST = 20;
const EMAIL_PER_SECOND = 6 / 60;

/** What one sign-in attempt came to. */
type LoginResult = { userId: string } | 'refused' | { retryAfterMs: number };

/**
 * The authorization server: the authorization endpoint (login + consent, then a single-use code bound to a PKCE
 * S256 challenge) and the token endpoint (code and refresh grants). Codes live in the shared store, so a code
 * issued by one replica is redeemed — exactly once — on any other.
 */
@Injectable()
export class OAuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger(OAuthService.name);

  constructor(
    @InjectRepository(OAuthClientEntity) private readonly clients: Repository<OAuthClientEntity>,
    private readonly tokens: OAuthTokenService,
    private readonly users: UsersService,
    @Inject(STORE) private readonly store: Store,
    @Inject(oauthConfig.KEY) private readonly config: ConfigType<typeof oauthConfig>,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.issuerConfigured) {
      this.logger.warn(
        `OAUTH_ISSUER is not set: OAuth metadata and redirects name ${this.config.issuer} as the issuer; ` +
          'set OAUTH_ISSUER to the public URL clients reach this gateway on',
      );
    }
  }

  /** The issuer identifier, from configuration only (the request's Host header is the client's to choose). */
  issuer(): string {
    return this.config.issuer;
  }

  metadata(): AuthorizationServerMetadata {
    const issuer = this.issuer();
    return {
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: [PKCE_METHOD],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      authorization_response_iss_parameter_supported: true,
    };
  }

  /** GET /oauth/authorize: the login and consent page, or the reason the request cannot go on. */
  async startAuthorization(query: object): Promise<AuthorizeOutcome> {
    const checked = await this.checkAuthorizeRequest(new OAuthParams(query));
    if ('kind' in checked) return checked;
    return { kind: 'page', page: this.loginPage(checked) };
  }

  /**
   * POST /oauth/authorize from `clientIp`: Deny sends the user back; Approve checks the password (within the sign-in
   * limits), then sends back a code.
   */
  async completeAuthorization(form: unknown, clientIp: string): Promise<AuthorizeOutcome> {
    if (!isParameterBody(form)) return this.errorPage(400, 'The sign-in form was not sent as a form.');
    const params = new OAuthParams(form);
    const checked = await this.checkAuthorizeRequest(params);
    if ('kind' in checked) return checked;
    const decision = params.get('decision');
    if (decision === 'deny') {
      return this.errorRedirect(checked, 'access_denied', 'The user denied the request.');
    }
    if (decision !== 'approve') {
      return this.errorRedirect(checked, 'invalid_request', "'decision' must be approve or deny.");
    }
    const email = params.get('email')?.trim();
    const password = params.get('password');
    if (!email || !password) {
      return { kind: 'page', page: this.loginPage(checked, 'Enter your email and password.', email, 400) };
    }
    const login = await this.login(email, password, clientIp);
    if (login === 'refused') {
      return { kind: 'page', page: this.loginPage(checked, 'Incorrect email or password.', email, 401) };
    }
    if ('retryAfterMs' in login) {
      const seconds = Math.max(1, Math.ceil(login.retryAfterMs / 1000));
      const page = this.loginPage(
        checked,
        `Too many sign-in attempts for this email. Try again in ${seconds} s.`,
        email,
        429,
      );
      return { kind: 'page', page: { ...page, headers: { ...page.headers, 'retry-after': String(seconds) } } };
    }
    const userId = login.userId;

    const code = randomBytes(32).toString('base64url');
    const record: CodeRecord = {
      clientId: checked.client.id,
      userId,
      redirectUri: checked.redirectUri,
      codeChallenge: checked.codeChallenge,
      scopes: checked.scopes,
      familyId: this.tokens.newFamilyId(),
      expiresAt: Date.now() + this.config.codeTtlMs,
    };
    await this.store.set(CODE_KEY + hashSecret(code), JSON.stringify(record), this.config.codeTtlMs);
    this.logger.log({ clientId: checked.client.id, userId }, 'OAuth authorization granted');
    return {
      kind: 'redirect',
      location: withResponseParams(checked.redirectUri, { code, state: checked.state, iss: this.issuer() }),
    };
  }

  /** POST /oauth/token. */
  async token(form: unknown): Promise<TokenResponse> {
    const params = formParams(form);
    const grantType = params.require('grant_type');
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      throw new OAuthError('unsupported_grant_type', 'Only authorization_code and refresh_token are supported.');
    }
    const client = await this.authenticateClient(params);
    if (grantType === 'refresh_token') {
      const refreshToken = params.require('refresh_token');
      const scopes = parseScope(params.optional('scope'));
      if (!scopes) throw new OAuthError('invalid_scope', "The 'scope' parameter is malformed.");
      return this.tokens.refresh(refreshToken, client.id, scopes);
    }
    return this.redeemCode(
      client.id,
      params.require('code'),
      params.require('redirect_uri'),
      params.require('code_verifier'),
    );
  }

  /** POST /oauth/revoke (RFC 7009): 200 whether or not the token was known. */
  async revoke(form: unknown): Promise<void> {
    const params = formParams(form);
    const token = params.require('token');
    params.optional('token_type_hint'); // Any hint is fine: tokens are looked up by hash whatever their kind.
    const client = await this.authenticateClient(params);
    await this.tokens.revoke(token, client.id);
  }

  private async redeemCode(
    clientId: string,
    code: string,
    redirectUri: string,
    codeVerifier: string,
  ): Promise<TokenResponse> {
    const hash = hashSecret(code);
    const stored = await this.store.get(CODE_KEY + hash);
    const record = stored ? (JSON.parse(stored) as CodeRecord) : null;
    if (!record || record.expiresAt <= Date.now()) {
      throw new OAuthError('invalid_grant', 'The authorization code is invalid or expired.');
    }
    // Exactly one redemption attempt per code, across replicas; whatever its outcome, the code is spent.
    const first = await this.store.setIfAbsent(CODE_USED_KEY + hash, '1', this.config.codeTtlMs);
    if (!first) {
      // RFC 6749 §4.1.2: a code used twice was intercepted; whatever it bought is revoked.
      await this.tokens.revokeFamily(record.familyId);
      this.logger.warn({ clientId: record.clientId, userId: record.userId }, 'OAuth authorization code reused');
      throw new OAuthError('invalid_grant', 'The authorization code was already used.');
    }
    if (record.clientId !== clientId) {
      throw new OAuthError('invalid_grant', 'The authorization code was issued to another client.');
    }
    if (record.redirectUri !== redirectUri) {
      throw new OAuthError('invalid_grant', "'redirect_uri' does not match the authorization request.");
    }
    if (!verifyPkceS256(codeVerifier, record.codeChallenge)) {
      throw new OAuthError('invalid_grant', "'code_verifier' does not match the code challenge.");
    }
    return this.tokens.issue(record);
  }

  /** Public clients authenticate with their client_id alone (PKCE binds the code to the instance). */
  private async authenticateClient(params: OAuthParams): Promise<OAuthClientEntity> {
    const clientId = params.optional('client_id');
    const client = clientId ? await this.findClient(clientId) : null;
    if (!client) throw new OAuthError('invalid_client', 'Unknown client.');
    return client;
  }

  private async findClient(clientId: string): Promise<OAuthClientEntity | null> {
    if (!isClientIdShape(clientId)) return null;
    return this.clients.findOneBy({ id: clientId, deletedAt: IsNull() });
  }

  /**
   * Validates an authorization request in RFC 6749 §4.1.2.1 order: until the client and its exact redirect URI are
   * known, errors are shown on a page (never redirected to an unverified URI); after that, they go back to the client.
   */
  private async checkAuthorizeRequest(params: OAuthParams): Promise<AuthorizeOutcome | ValidAuthorizeRequest> {
    const untrusted = params.malformed(['client_id', 'redirect_uri']);
    if (untrusted) return this.errorPage(400, `The '${untrusted}' parameter is malformed.`);
    const clientId = params.get('client_id');
    const client = clientId ? await this.findClient(clientId) : null;
    if (!client) return this.errorPage(400, 'The application is not registered with XRouter (unknown client_id).');
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri || !isRegisteredRedirectUri(client.redirectUris, redirectUri)) {
      return this.errorPage(400, 'The redirect_uri is missing or not one this application registered.');
    }

    const state = params.get('state');
    const request: ValidAuthorizeRequest = {
      client,
      redirectUri,
      state,
      codeChallenge: '',
      scopes: [],
      echo: Object.fromEntries(AUTHORIZE_PARAMS.map((name) => [name, params.get(name)])),
    };
    const fail = (code: OAuthErrorCode, description: string) => this.errorRedirect(request, code, description);
    const malformed = params.malformed(AUTHORIZE_PARAMS);
    if (malformed) return fail('invalid_request', `The '${malformed}' parameter must be given once.`);
    const responseType = params.get('response_type');
    if (!responseType) return fail('invalid_request', "The 'response_type' parameter is required.");
    if (responseType !== 'code') return fail('unsupported_response_type', "Only response_type 'code' is supported.");
    const challenge = params.get('code_challenge');
    if (!challenge) return fail('invalid_request', 'PKCE is required: send code_challenge (S256).');
    if (params.get('code_challenge_method') !== PKCE_METHOD) {
      return fail('invalid_request', "Only code_challenge_method 'S256' is supported.");
    }
    if (!isValidS256Challenge(challenge)) {
      return fail('invalid_request', 'The code_challenge is not a base64url SHA-256 value.');
    }
    const requested = parseScope(params.get('scope'));
    const scopes = requested && grantScopes(client.scopes, requested);
    if (!scopes) return fail('invalid_scope', `This application may ask only for: ${client.scopes.join(' ')}.`);
    return { ...request, codeChallenge: challenge, scopes };
  }

  /**
   * The user id for a correct email and password of an enabled user. Whether the password is checked at all is
   * decided first, in one atomic store call: at most {@link ADDRESS_ATTEMPTS} per (e-mail, client address) in the
   * window, and the e-mail's bucket across every address. A sign-in starts that address's count again.
   */
  private async login(email: string, password: string, clientIp: string): Promise<LoginResult> {
    // One hash tag per e-mail, so both counters sit on one Redis Cluster slot.
    const subject = `${LOGIN_KEY}{${hashSecret(email.toLowerCase())}}`;
    const addressKey = `${subject}:address:${hashSecret(clientIp)}`;
    const limits = await this.store.consumeLimits([
      { type: 'window', key: addressKey, cost: 1, limit: ADDRESS_ATTEMPTS, windowMs: ADDRESS_WINDOW_MS },
      { type: 'bucket', key: `${subject}:every-address`, cost: 1, ratePerSec: EMAIL_PER_SECOND, burst: EMAIL_BURST },
    ]);
    if (!limits.allowed) return { retryAfterMs: Math.max(...limits.checks.map((check) => check.retryAfterMs)) };
    const userId = await this.users.verifySignIn(email, password);
    if (userId === null) return 'refused';
    await this.store.delete(addressKey);
    return { userId };
  }

  private loginPage(request: ValidAuthorizeRequest, error?: string, email?: string, status?: number): HtmlPage {
    return renderLoginPage({
      clientName: request.client.name,
      redirectUri: request.redirectUri,
      scopes: request.scopes,
      params: request.echo,
      email,
      error,
      status,
    });
  }

  private errorPage(status: number, message: string): AuthorizeOutcome {
    return { kind: 'page', page: renderErrorPage(status, message) };
  }

  private errorRedirect(
    request: Pick<ValidAuthorizeRequest, 'redirectUri' | 'state'>,
    error: OAuthErrorCode,
    description: string,
  ): AuthorizeOutcome {
    return {
      kind: 'redirect',
      location: withResponseParams(request.redirectUri, {
        error,
        error_description: description,
        state: request.state,
        iss: this.issuer(),
      }),
    };
  }
}
