import type { Principal } from '../principal';
import { bearerToken, meetsRequirements } from './auth.guard';

const user: Principal = {
  kind: 'api_key',
  credentialId: 'k',
  userId: 'u',
  scopes: ['chat'],
  allowedModels: null,
  rpmLimit: null,
  tpmLimit: null,
  expiresAt: null,
  budgets: [],
  issuers: [],
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
  it('should refuse a credential without the admin scope on an admin route', () => {
    expect(meetsRequirements({ ...user, scopes: ['chat', 'embeddings', 'keys'] }, { scopes: ['admin'] })).toBe(false);
  });
  it('should let a credential holding admin onto admin routes, and nowhere else without the scope', () => {
    const admin = { ...user, scopes: ['admin'] };
    expect(meetsRequirements(admin, { scopes: ['admin'] })).toBe(true);
    expect(meetsRequirements(admin, { scopes: ['chat'] })).toBe(false);
  });
  it('should require each scope a scoped key lacks', () => {
    expect(meetsRequirements(user, { scopes: ['chat'] })).toBe(true);
    expect(meetsRequirements(user, { scopes: ['embeddings'] })).toBe(false);
  });
  it('should treat a key without scopes as allowed nothing that needs one', () => {
    expect(meetsRequirements({ ...user, scopes: [] }, { scopes: ['embeddings'] })).toBe(false);
    expect(meetsRequirements({ ...user, scopes: [] }, {})).toBe(true);
  });
});
