import type { Principal } from '../principal';
import { bearerToken, meetsRequirements } from './auth.guard';

const user: Principal = {
  kind: 'api_key',
  credentialId: 'k',
  userId: 'u',
  role: 'user',
  scopes: ['chat'],
  allowedModels: null,
  rpmLimit: null,
  tpmLimit: null,
  expiresAt: null,
  keyBudget: null,
  userBudget: null,
};

describe('bearerToken', () => {
  it.each([
    ['Bearer xr-abc', 'xr-abc'],
    ['bearer   xr-abc  ', 'xr-abc'],
    ['Basic xr-abc', null],
    ['Bearer', null],
    ['Bearer a b', null],
    [undefined, null],
  ])('%p gives %p', (header, expected) => expect(bearerToken(header)).toBe(expected));
});

describe('meetsRequirements', () => {
  it('should refuse a user on an admin route', () => {
    expect(meetsRequirements(user, { roles: ['admin'] })).toBe(false);
  });
  it('should let admins through everything', () => {
    expect(meetsRequirements({ ...user, role: 'admin', scopes: [] }, { roles: ['admin'], scopes: ['x'] })).toBe(true);
  });
  it('should require each scope a scoped key lacks', () => {
    expect(meetsRequirements(user, { scopes: ['chat'] })).toBe(true);
    expect(meetsRequirements(user, { scopes: ['embeddings'] })).toBe(false);
  });
  it('should treat a key without scopes as unrestricted', () => {
    expect(meetsRequirements({ ...user, scopes: [] }, { scopes: ['embeddings'] })).toBe(true);
  });
});
