import { OAuthError } from './oauth.error';
import { formParams, OAuthParams } from './oauth-params';

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

describe('formParams', () => {
  it.each([
    ['no body', undefined],
    ['JSON null', null],
    ['a JSON array', [1, 2]],
    ['a JSON string', 'grant_type=authorization_code'],
    ['a JSON number', 42],
  ])('should refuse %s with invalid_request', (_name, body) => {
    let refusal: unknown;
    try {
      formParams(body);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(OAuthError);
    expect(refusal).toMatchObject({ code: 'invalid_request', status: 400 });
  });

  it('should read the parameters of a parsed form', () => {
    expect(formParams({ grant_type: 'refresh_token' }).require('grant_type')).toBe('refresh_token');
  });
});
