import { OAuthError } from './oauth.error';
import { OAuthParams } from './oauth-params';

describe('OAuthParams', () => {
  const params = new OAuthParams({
    email: 'dev@example.com',
    nul: 'dev\u0000@example.com',
    repeated: ['a', 'b'],
    long: 'x'.repeat(2049),
    empty: '',
  });

  it.each([
    ['email', 'dev@example.com', null],
    ['nul', undefined, 'nul'],
    ['repeated', undefined, 'repeated'],
    ['long', undefined, 'long'],
    ['empty', undefined, null],
    ['absent', undefined, null],
  ])('should read %s as %j (malformed: %s)', (name, value, malformed) => {
    expect(params.get(name)).toBe(value);
    expect(params.malformed([name])).toBe(malformed);
  });

  it.each(['nul', 'repeated', 'long', 'empty', 'absent'])('should answer require(%s) with invalid_request', (name) => {
    expect(() => params.require(name)).toThrow(OAuthError);
    expect(() => params.require(name)).toThrow(expect.objectContaining({ code: 'invalid_request' }) as Error);
  });

  it.each([undefined, null, ['client_id'], 'client_id=x'])('should read %p as no parameters', (source) => {
    const none = new OAuthParams(source);
    expect(none.get('client_id')).toBeUndefined();
    expect(none.malformed(['client_id'])).toBeNull();
    expect(() => none.require('client_id')).toThrow(OAuthError);
  });
});
