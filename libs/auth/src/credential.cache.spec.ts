import { CredentialCache } from './credential.cache';
import type { Principal } from './principal';

const principal = {
  kind: 'api_key',
  credentialId: 'k',
  userId: 'u',
  scopes: ['chat'],
  budgets: [],
  issuers: [],
} as unknown as Principal;

describe('CredentialCache', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000));

  it('should expire positive entries after the ttl and negative ones sooner', () => {
    const cache = new CredentialCache(60_000, 5_000, 10, clock);
    cache.set('known', principal);
    cache.set('unknown', null);
    now += 5_001;
    expect(cache.get('known')).toBe(principal);
    expect(cache.get('unknown')).toBeUndefined();
    now += 55_000;
    expect(cache.get('known')).toBeUndefined();
  });

  it('should forget the oldest entry past its bound', () => {
    const cache = new CredentialCache(60_000, 5_000, 2, clock);
    cache.set('a', principal);
    cache.set('b', principal);
    cache.set('c', principal);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBe(principal);
  });

  it('should keep an expired entry as stale until it is deleted', () => {
    const cache = new CredentialCache(60_000, 5_000, 10, clock);
    cache.set('a', principal);
    now += 120_000;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stale('a')).toBe(principal);
    cache.delete('a');
    expect(cache.stale('a')).toBeUndefined();
  });

  it('should drop an entry on delete', () => {
    const cache = new CredentialCache(60_000, 5_000, 10, clock);
    cache.set('a', principal);
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
  });
});
