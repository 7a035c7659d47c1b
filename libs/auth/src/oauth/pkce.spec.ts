import { isValidS256Challenge, s256Challenge, verifyPkceS256 } from './pkce';

/** RFC 7636 Appendix B. */
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('PKCE S256', () => {
  it('should compute the RFC 7636 appendix B challenge', () => {
    expect(s256Challenge(RFC_VERIFIER)).toBe(RFC_CHALLENGE);
  });

  it.each([
    ['the RFC 7636 appendix B pair', RFC_VERIFIER, RFC_CHALLENGE, true],
    ['a verifier of 128 characters', 'a'.repeat(128), s256Challenge('a'.repeat(128)), true],
    ['another verifier', RFC_VERIFIER.replace('d', 'e'), RFC_CHALLENGE, false],
    ['the challenge itself as verifier (plain)', RFC_CHALLENGE, RFC_CHALLENGE, false],
    ['a verifier of 42 characters', 'a'.repeat(42), s256Challenge('a'.repeat(42)), false],
    ['a verifier of 129 characters', 'a'.repeat(129), s256Challenge('a'.repeat(129)), false],
    ['a verifier with a forbidden character', `${'a'.repeat(42)}+`, s256Challenge(`${'a'.repeat(42)}+`), false],
    ['an empty verifier', '', RFC_CHALLENGE, false],
    ['a padded challenge', RFC_VERIFIER, `${RFC_CHALLENGE}=`, false],
    ['a truncated challenge', RFC_VERIFIER, RFC_CHALLENGE.slice(0, 42), false],
  ])('%s → %p', (_name, verifier, challenge, expected) => {
    expect(verifyPkceS256(verifier, challenge)).toBe(expected);
  });

  it('should accept only 43-character base64url challenges', () => {
    expect(isValidS256Challenge(RFC_CHALLENGE)).toBe(true);
    expect(isValidS256Challenge(RFC_VERIFIER.slice(0, 42))).toBe(false);
    expect(isValidS256Challenge(`${RFC_CHALLENGE.slice(0, 42)}/`)).toBe(false);
  });
});
