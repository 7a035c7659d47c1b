import { createHash } from 'node:crypto';
import { API_KEY_PREFIX, displayPrefix, generateApiKeySecret, hashSecret } from './api-key-secret';

describe('api key secrets', () => {
  it('should hash a secret to its SHA-256 hex digest, the lookup key stored in the database', () => {
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const secret = generateApiKeySecret();
    expect(hashSecret(secret)).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(hashSecret('ключ-ünïcode')).toBe(createHash('sha256').update('ключ-ünïcode', 'utf8').digest('hex'));
  });

  it('should make prefixed high-entropy secrets and show only their prefix', () => {
    const secret = generateApiKeySecret();
    expect(secret.startsWith(API_KEY_PREFIX)).toBe(true);
    expect(secret).toHaveLength(API_KEY_PREFIX.length + 43);
    expect(displayPrefix(secret)).toBe(secret.slice(0, API_KEY_PREFIX.length + 8));
  });
});
