import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, IsNull, Repository } from 'typeorm';
import { STORE, type Store } from '@xrouter/store';
import { hashSecret } from '../api-key-secret';
import { verifyPassword } from '../password';
import type { Role } from '../principal';
import { renderErrorPage, renderLoginPage, type HtmlPage } from './authorize.page';
import { OAuthClientEntity } from './oauth-client.entity';
import { oauthConfig } from './oauth.config';
import { OAuthError, type OAuthErrorCode } from './oauth.error';
import { OAuthParams } from './oauth-params';
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
const LOGIN_FAILURES_KEY = 'oauth:login-failures:';
const MAX_LOGIN_FAILURES = 10;
const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;

/**
 * The authorization server: the authorization endpoint (login + consent, then a single-use code bound to a PKCE
 * S256 challenge) and the token endpoint (code and refresh grants). Codes live in the shared store, so a code
 * issued by one replica is redeemed — exactly once — on any other.
 */
@Injectable()
export class OAuthService {
  private readonly logger = new Logger(OAuthService.name);

  constructor(
    @InjectRepository(OAuthClientEntity) private readonly clients: Repository<OAuthClientEntity>,
    private readonly tokens: OAuthTokenService,
    private readonly dataSource: DataSource,
    @Inject(STORE) private readonly store: Store,
    @Inject(oauthConfig.KEY) private readonly config: ConfigType<typeof oauthConfig>,
  ) {}

  /** The issuer identifier: OAUTH_ISSUER, or the origin the request arrived on. */
  issuer(origin: string): string {
    return this.config.issuer ?? origin;
  }

  metadata(origin: string): AuthorizationServerMetadata {
    const issuer = this.issuer(origin);
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
  async startAuthorization(query: object, origin: string): Promise<AuthorizeOutcome> {
    const checked = await this.checkAuthorizeRequest(new OAuthParams(query), origin);
    if ('kind' in checked) return checked;
    return { kind: 'page', page: this.loginPage(checked) };
  }

  /** POST /oauth/authorize: Deny sends the user back; Approve checks the password, then sends back a code. */
  async completeAuthorization(form: object, origin: string): Promise<AuthorizeOutcome> {
    const params = new OAuthParams(form);
    const checked = await this.checkAuthorizeRequest(params, origin);
    if ('kind' in checked) return checked;
    const decision = params.get('decision');
    if (decision === 'deny') {
      return this.errorRedirect(checked, origin, 'access_denied', 'The user denied the request.');
    }
    if (decision !== 'approve') {
      return this.errorRedirect(checked, origin, 'invalid_request', "'decision' must be approve or deny.");
    }
    const email = params.get('email')?.trim();
    const password = params.get('password');
    if (!email || !password) {
      return { kind: 'page', page: this.loginPage(checked, 'Enter your email and password.', email, 400) };
    }
    const login = await this.login(email, password);
    if (login === 'throttled') {
      return {
        kind: 'page',
        page: this.loginPage(checked, 'Too many failed sign-ins for this email. Try again later.', email, 429),
      };
    }
    if (login === 'refused') {
      return { kind: 'page', page: this.loginPage(checked, 'Incorrect email or password.', email, 401) };
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
      location: withResponseParams(checked.redirectUri, { code, state: checked.state, iss: this.issuer(origin) }),
    };
  }

  /** POST /oauth/token. */
  async token(form: object): Promise<TokenResponse> {
    const params = new OAuthParams(form);
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
  async revoke(form: object): Promise<void> {
    const params = new OAuthParams(form);
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
  private async checkAuthorizeRequest(
    params: OAuthParams,
    origin: string,
  ): Promise<AuthorizeOutcome | ValidAuthorizeRequest> {
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
    const fail = (code: OAuthErrorCode, description: string) => this.errorRedirect(request, origin, code, description);
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

  /** The user id for a correct email and password of an enabled user; failures are counted per email. */
  private async login(email: string, password: string): Promise<{ userId: string } | 'refused' | 'throttled'> {
    const failuresKey = LOGIN_FAILURES_KEY + hashSecret(email.toLowerCase());
    const failures = Number((await this.store.get(failuresKey)) ?? 0);
    if (failures >= MAX_LOGIN_FAILURES) return 'throttled';
    const [user] = await this.dataSource.query<
      Array<{ id: string; role: Role; password_hash: string | null; disabled_at: Date | null }>
    >(`SELECT id, role, password_hash, disabled_at FROM users WHERE lower(email) = lower($1)`, [email]);
    const usable = user && !user.disabled_at ? user.password_hash : null;
    if (await verifyPassword(usable, password)) return { userId: user.id };
    await this.store.increment(failuresKey, 1, LOGIN_FAILURE_WINDOW_MS);
    return 'refused';
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
    origin: string,
    error: OAuthErrorCode,
    description: string,
  ): AuthorizeOutcome {
    return {
      kind: 'redirect',
      location: withResponseParams(request.redirectUri, {
        error,
        error_description: description,
        state: request.state,
        iss: this.issuer(origin),
      }),
    };
  }
}
