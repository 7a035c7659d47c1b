import { OAuthError } from './oauth.error';

/** The most any single OAuth parameter may carry; longer values are refused rather than stored or echoed. */
const MAX_PARAM_LENGTH = 2048;

/** One string, not too long, without NUL (which PostgreSQL text refuses with an error: a login email is looked up). */
function wellFormed(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_PARAM_LENGTH && !value.includes('\0');
}

/**
 * OAuth parameters from a query string or a form body, read defensively: RFC 6749 §3.1 forbids repeating a parameter
 * and parsers turn repeats into arrays, so only single strings are accepted; empty means absent.
 */
export class OAuthParams {
  private readonly values: Map<string, unknown>;

  /** `source`: the parsed query or form; anything else (no body, a JSON array) has no parameters. */
  constructor(source: unknown) {
    const object = typeof source === 'object' && source !== null && !Array.isArray(source);
    this.values = new Map(object ? Object.entries(source) : []);
  }

  /** The first parameter that is repeated, not a string, too long or holds a NUL, if any. */
  malformed(names: readonly string[]): string | null {
    for (const name of names) {
      const value = this.values.get(name);
      if (value !== undefined && !wellFormed(value)) return name;
    }
    return null;
  }

  /** The parameter's value; undefined when absent or empty. Malformed values are treated as absent. */
  get(name: string): string | undefined {
    const value = this.values.get(name);
    return wellFormed(value) && value !== '' ? value : undefined;
  }

  /** The parameter's value, or an `invalid_request` naming it. */
  require(name: string): string {
    const value = this.values.get(name);
    if (value !== undefined && !wellFormed(value)) {
      throw new OAuthError('invalid_request', `The '${name}' parameter must be given once, as text.`);
    }
    if (!value) throw new OAuthError('invalid_request', `The '${name}' parameter is required.`);
    return value;
  }

  /** Like {@link require} but absence is allowed. */
  optional(name: string): string | undefined {
    return this.values.has(name) && this.values.get(name) !== '' ? this.require(name) : undefined;
  }
}

/**
 * Whether a POSTed body is a set of parameters at all. The OAuth endpoints take forms (RFC 6749 §4.1.3, RFC 7009
 * §2.1): no body, another content type (the form parser leaves the body unset) or JSON that is not an object is not.
 */
export function isParameterBody(body: unknown): body is object {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

/** The parameters of a POSTed body, or an `invalid_request` when it is not a form. */
export function formParams(body: unknown): OAuthParams {
  if (!isParameterBody(body)) {
    throw new OAuthError('invalid_request', 'The request body must be application/x-www-form-urlencoded parameters.');
  }
  return new OAuthParams(body);
}
