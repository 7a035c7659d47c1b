import { ErrorCode, GatewayError } from '@xrouter/common';
import type { Principal } from '../principal';
import { KeyGrant, narrowGrant } from './key-policy';

const creator: Principal = {
  kind: 'api_key',
  credentialId: 'k',
  userId: 'u',
  role: 'user',
  scopes: ['chat', 'keys'],
  allowedModels: ['a', 'b'],
  rpmLimit: 60,
  tpmLimit: null,
  expiresAt: Date.parse('2030-01-01T00:00:00Z'),
  keyBudget: null,
  userBudget: null,
};
const open: KeyGrant = { scopes: [], allowedModels: null, rpmLimit: null, tpmLimit: null, expiresAt: null };

function refusal(grant: Partial<KeyGrant>): string | null {
  try {
    narrowGrant(creator, { ...open, ...grant });
    return null;
  } catch (error) {
    expect((error as GatewayError).code).toBe(ErrorCode.FORBIDDEN);
    return (error as GatewayError).param;
  }
}

describe('narrowGrant', () => {
  it('should let unset fields inherit the creator restrictions', () => {
    expect(narrowGrant(creator, open)).toEqual({
      scopes: ['chat', 'keys'],
      allowedModels: ['a', 'b'],
      rpmLimit: 60,
      tpmLimit: null,
      expiresAt: new Date('2030-01-01T00:00:00Z'),
    });
  });

  it.each([
    [{ scopes: ['embeddings'] }, 'scopes'],
    [{ allowedModels: ['a', 'c'] }, 'allowed_models'],
    [{ rpmLimit: 61 }, 'rpm_limit'],
    [{ expiresAt: new Date('2031-01-01T00:00:00Z') }, 'expires_at'],
  ])('should refuse %p (param %s)', (grant, param) => {
    expect(refusal(grant)).toBe(param);
  });

  it.each([[{ scopes: ['chat'] }], [{ allowedModels: ['b'] }], [{ rpmLimit: 10, tpmLimit: 5000 }]])(
    'should allow narrowing %p',
    (grant) => {
      expect(refusal(grant)).toBeNull();
    },
  );

  it('should let admins grant anything', () => {
    const wide = { ...open, scopes: ['embeddings'], rpmLimit: 100000 };
    expect(narrowGrant({ ...creator, role: 'admin' }, wide)).toEqual(wide);
  });
});
