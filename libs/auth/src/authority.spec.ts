import { ErrorCode, GatewayError } from '@xrouter/common';
import {
  authorityOf,
  covers,
  grantFrom,
  narrow,
  OAUTH_SCOPES,
  permits,
  permitsModel,
  roleAuthority,
  SCOPES,
  type Authority,
  type Restriction,
  type Role,
} from './authority';

const open: Authority = { scopes: SCOPES, allowedModels: null, rpmLimit: null, tpmLimit: null, expiresAt: null };
const creator: Authority = {
  scopes: ['chat', 'keys'],
  allowedModels: ['a', 'b'],
  rpmLimit: 60,
  tpmLimit: null,
  expiresAt: Date.parse('2030-01-01T00:00:00Z'),
};

function refusal(requested: Restriction): string | null {
  try {
    grantFrom(creator, requested);
    return null;
  } catch (error) {
    expect((error as GatewayError).code).toBe(ErrorCode.FORBIDDEN);
    return (error as GatewayError).param;
  }
}

describe('roleAuthority', () => {
  it('should give admin only to admins', () => {
    expect(roleAuthority('admin').scopes).toContain('admin');
    expect(roleAuthority('user').scopes).toEqual(['chat', 'embeddings', 'keys']);
    expect(OAUTH_SCOPES).not.toContain('admin');
  });
});

describe('authorityOf', () => {
  it('should be the role narrowed by every link, issuer first', () => {
    expect(authorityOf('admin', [{ scopes: ['chat', 'keys'] }, { scopes: ['chat', 'admin'], rpmLimit: 10 }])).toEqual({
      scopes: ['chat'],
      allowedModels: null,
      rpmLimit: 10,
      tpmLimit: null,
      expiresAt: null,
    });
  });

  it('should strip admin from a user whatever their key lists (a demoted admin)', () => {
    expect(authorityOf('user', [{ scopes: ['chat', 'admin'] }]).scopes).toEqual(['chat']);
  });

  it('should read an empty scope list as no scope, and an absent one as the issuer’s', () => {
    expect(authorityOf('user', [{ scopes: [] }]).scopes).toEqual([]);
    expect(authorityOf('user', [{ rpmLimit: 5 }]).scopes).toEqual(['chat', 'embeddings', 'keys']);
  });

  it.each([
    [['a', 'b'], ['b', 'c'], ['b']],
    [null, ['c'], ['c']],
    [['a'], null, ['a']],
    [['a'], [], []],
  ])('models %p narrowed by %p allow %p', (issuer, own, expected) => {
    expect(narrow({ ...open, allowedModels: issuer }, { allowedModels: own }).allowedModels).toEqual(expected);
  });

  it('should keep the lowest limit and the earliest expiry', () => {
    expect(narrow({ ...open, rpmLimit: 10, expiresAt: 500 }, { rpmLimit: 20, tpmLimit: 7, expiresAt: 900 })).toEqual({
      ...open,
      rpmLimit: 10,
      tpmLimit: 7,
      expiresAt: 500,
    });
  });
});

describe('grantFrom', () => {
  it('should inherit every restriction of the creator where the request leaves it unset', () => {
    expect(grantFrom(creator, {})).toEqual(creator);
  });

  it('should keep narrower requests as asked', () => {
    expect(grantFrom(creator, { scopes: ['chat'], allowedModels: ['a'], rpmLimit: 10, tpmLimit: 100 })).toEqual({
      ...creator,
      scopes: ['chat'],
      allowedModels: ['a'],
      rpmLimit: 10,
      tpmLimit: 100,
    });
  });

  it.each<[Restriction, string]>([
    [{ scopes: ['embeddings'] }, 'scopes'],
    [{ scopes: ['admin'] }, 'scopes'],
    [{ allowedModels: ['c'] }, 'allowed_models'],
    [{ rpmLimit: 61 }, 'rpm_limit'],
    [{ expiresAt: Date.parse('2031-01-01T00:00:00Z') }, 'expires_at'],
  ])('should refuse %p, naming %p', (requested, param) => {
    expect(refusal(requested)).toBe(param);
  });

  it('should give an admin key any grant within its own', () => {
    expect(grantFrom(open, { scopes: ['admin'] }).scopes).toEqual(['admin']);
  });
});

describe('permitsModel', () => {
  it.each<[readonly string[] | null, string, boolean]>([
    [null, 'any', true],
    [['a', 'b'], 'b', true],
    [['a'], 'b', false],
    [[], 'a', false],
  ])('models %p allow %p: %p', (allowedModels, model, expected) => {
    expect(permitsModel({ allowedModels }, model)).toBe(expected);
  });
});

describe('covers', () => {
  it.each<[string, Partial<Authority>, boolean]>([
    ['itself', {}, true],
    ['a narrower key', { scopes: ['chat'], allowedModels: ['a'], rpmLimit: 1, expiresAt: 1 }, true],
    ['a key with another scope', { scopes: ['chat', 'embeddings'] }, false],
    ['a key without a model list', { allowedModels: null }, false],
    ['a key without an RPM limit', { rpmLimit: null }, false],
    ['a key that never expires', { expiresAt: null }, false],
  ])('should say whether the creator covers %s', (_name, target, expected) => {
    expect(covers(creator, { ...creator, ...target })).toBe(expected);
  });
});

/** A small seeded generator, so the property runs the same cases every time and a failure can be replayed. */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const subset = <T>(items: readonly T[]): T[] => items.filter(() => next() < 0.5);
  return {
    next,
    pick,
    restriction(): Restriction {
      return {
        scopes: next() < 0.3 ? undefined : subset(SCOPES),
        allowedModels: next() < 0.4 ? null : subset(['m1', 'm2', 'm3', 'm4']),
        rpmLimit: next() < 0.4 ? null : 1 + Math.floor(next() * 100),
        tpmLimit: next() < 0.4 ? null : 1 + Math.floor(next() * 10_000),
        expiresAt: next() < 0.4 ? null : 1 + Math.floor(next() * 1_000),
      };
    },
  };
}

describe('property: authority only narrows along any chain', () => {
  it('should never let a derived credential hold what an ancestor lacks, over 2,000 random chains', () => {
    const random = generator(20261201);
    for (let run = 0; run < 2_000; run++) {
      const role: Role = random.pick(['admin', 'user']);
      const chain: Restriction[] = [];
      let issuer = roleAuthority(role);
      const ancestors: Authority[] = [issuer];
      for (let depth = 0; depth < 1 + Math.floor(random.next() * 5); depth++) {
        const requested = random.restriction();
        let derived: Authority;
        try {
          derived = grantFrom(issuer, requested);
        } catch {
          derived = narrow(issuer, requested); // a refused request: the stored grant could only be the narrowed one
        }
        chain.push(derived);
        issuer = authorityOf(role, chain);
        for (const ancestor of ancestors) expect(covers(ancestor, issuer)).toBe(true);
        if (role === 'user') expect(permits(issuer, ['admin'])).toBe(false);
        ancestors.push(issuer);
      }
    }
  });
});
