/** The error codes of RFC 6749 §4.1.2.1 and §5.2, and RFC 7009 §2.2.1. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'unsupported_token_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  /** RFC 8628 §3.5 (in the IANA OAuth error registry): too many requests from this client; answered with 429. */
  | 'slow_down';

/** The HTTP status of each error at the token and revocation endpoints; exhaustive, so a new code must decide. */
export function oauthErrorStatus(code: OAuthErrorCode): number {
  switch (code) {
    case 'invalid_client':
      return 401;
    case 'access_denied':
      return 403;
    case 'server_error':
      return 500;
    case 'temporarily_unavailable':
      return 503;
    case 'slow_down':
      return 429;
    case 'invalid_request':
    case 'invalid_grant':
    case 'unauthorized_client':
    case 'unsupported_grant_type':
    case 'unsupported_response_type':
    case 'unsupported_token_type':
    case 'invalid_scope':
      return 400;
  }
}

/** An RFC 6749 error, answered as `{"error": code, "error_description": …}` by OAuthExceptionFilter. */
export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
    this.name = 'OAuthError';
  }

  get status(): number {
    return oauthErrorStatus(this.code);
  }
}
