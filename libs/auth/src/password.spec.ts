import { hashPassword, verifyPassword } from './password';

describe('password hashing', () => {
  it('should hash with argon2id and verify only the right password', async () => {
    const digest = await hashPassword('correct horse battery staple');
    expect(digest).toMatch(/^\$argon2id\$/);
    await expect(verifyPassword(digest, 'correct horse battery staple')).resolves.toBe(true);
    await expect(verifyPassword(digest, 'Correct horse battery staple')).resolves.toBe(false);
  });

  it('should refuse a user without a password (after a dummy verification) and a malformed hash', async () => {
    await expect(verifyPassword(null, 'anything')).resolves.toBe(false);
    await expect(verifyPassword('not-a-phc-string', 'anything')).resolves.toBe(false);
  });
});
