import { formParams } from './oauth-params';
import { OAuthError } from './oauth.error';

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
