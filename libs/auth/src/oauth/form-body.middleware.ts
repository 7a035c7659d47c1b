import { urlencoded, type RequestHandler } from 'express';
import { OAuthError } from './oauth.error';
import { writeOAuthError } from './oauth-exception.filter';

/**
 * `application/x-www-form-urlencoded` bodies for the OAuth endpoints only (RFC 6749 §4.1.3, RFC 7009 §2.1, the login
 * form). Small limits: no OAuth request needs more. Parse failures are answered as OAuth errors right here.
 */
export function formBody(): RequestHandler {
  const parse = urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  return (req, res, next) => {
    void parse(req, res, (error?: unknown) => {
      if (error === undefined || error === null) {
        next();
        return;
      }
      const tooLarge = (error as { type?: unknown }).type === 'entity.too.large';
      writeOAuthError(
        res,
        new OAuthError('invalid_request', tooLarge ? 'The request body is too large.' : 'The form body is malformed.'),
      );
    });
  };
}
