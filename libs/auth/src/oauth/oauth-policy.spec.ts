import {
  classifyRefreshToken,
  grantScopes,
  isClientIdShape,
  isRegisteredRedirectUri,
  isRegistrableRedirectUri,
  parseScope,
  withResponseParams,
  type RefreshTokenState,
} from './oauth-policy';

describe('redirect URIs', () => {
  it.each([
    ['https://app.example.com/callback', true],
    ['https://app.example.com/callback?tenant=1', true],
    ['http://127.0.0.1:8765/callback', true],
    ['http://localhost/callback', true],
    ['http://[::1]:9000/cb', true],
    ['com.example.app:/oauth2redirect', true],
    ['http://app.example.com/callback', false],
    ['https://app.example.com/callback#frag', false],
    ['https://user:pass@app.example.com/callback', false],
    ['javascript:alert(1)', false],
    ['data:text/html,hi', false],
    ['/relative/callback', false],
    ['not a url', false],
  ])('%s may be registered: %p', (uri, expected) => {
    expect(isRegistrableRedirectUri(uri)).toBe(expected);
  });

  const registered = ['https://app.example.com/callback', 'http://127.0.0.1:8765/cb'];
  it.each([
    ['https://app.example.com/callback', true],
    ['http://127.0.0.1:8765/cb', true],
    ['https://app.example.com/callback/', false],
    ['https://app.example.com/callback?x=1', false],
    ['https://APP.example.com/callback', false],
    ['https://app.example.com/callbackx', false],
    ['https://app.example.com/call', false],
    ['http://127.0.0.1:8766/cb', false],
    ['https://app.example.com:443/callback', false],
  ])('%s matches exactly: %p', (uri, expected) => {
    expect(isRegisteredRedirectUri(registered, uri)).toBe(expected);
  });

  it('should add response parameters and keep an existing query', () => {
    expect(withResponseParams('https://a.example/cb?tenant=1', { code: 'c d', state: 's', iss: undefined })).toBe(
      'https://a.example/cb?tenant=1&code=c+d&state=s',
    );
  });
});

describe('client ids', () => {
  it('should accept only uuids', () => {
    expect(isClientIdShape('5f0c6a2e-8f7d-4a53-9d38-2f1b1c0e9a11')).toBe(true);
    expect(isClientIdShape("x' OR 1=1 --")).toBe(false);
    expect(isClientIdShape('')).toBe(false);
  });
});

describe('scopes', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['chat', ['chat']],
    ['chat  embeddings chat', ['chat', 'embeddings']],
    ['chat "x"', null],
    ['chat \\x', null],
  ])('parseScope(%p) → %p', (scope, expected) => {
    expect(parseScope(scope)).toEqual(expected);
  });

  it.each([
    [['chat', 'embeddings'], [], ['chat', 'embeddings']],
    [['chat', 'embeddings'], ['chat'], ['chat']],
    [['chat'], ['chat', 'embeddings'], null],
    [['chat'], ['admin'], null],
    [['chat', 'admin'], ['admin'], null],
    [['chat', 'admin'], [], ['chat']],
    [['admin'], [], null],
  ])('client %p asking %p is granted %p', (client, requested, expected) => {
    expect(grantScopes(client, requested)).toEqual(expected);
  });
});

describe('refresh token rotation', () => {
  const now = Date.UTC(2025, 0, 1);
  const live: RefreshTokenState = {
    clientId: 'client',
    usedAt: null,
    revokedAt: null,
    expiresAt: new Date(now + 60_000),
    grantWithdrawn: false,
  };

  it.each<[string, RefreshTokenState | null, string, string]>([
    ['a live token of this client', live, 'client', 'rotate'],
    ['an unknown token', null, 'client', 'invalid'],
    ["another client's token", live, 'other', 'invalid'],
    ['an already rotated token', { ...live, usedAt: new Date(now - 1) }, 'client', 'reuse'],
    [
      'a rotated token of a revoked family',
      { ...live, usedAt: new Date(now - 2), revokedAt: new Date(now - 1) },
      'client',
      'reuse',
    ],
    ['a rotated token presented by another client', { ...live, usedAt: new Date(now - 1) }, 'other', 'invalid'],
    ['a revoked token', { ...live, revokedAt: new Date(now - 1) }, 'client', 'invalid'],
    ['an expired token', { ...live, expiresAt: new Date(now) }, 'client', 'invalid'],
    ['a token whose grant was withdrawn', { ...live, grantWithdrawn: true }, 'client', 'invalid'],
  ])('%s → %s', (_name, token, clientId, expected) => {
    expect(classifyRefreshToken(token, clientId, now)).toBe(expected);
  });
});
