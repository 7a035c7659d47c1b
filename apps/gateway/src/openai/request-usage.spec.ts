import { endUserOf } from './request-usage';

describe('endUserOf', () => {
  it.each([
    [{ user: 'alice' }, 'alice'],
    [{ safety_identifier: 'bob' }, 'bob'],
    [{ user: 'alice', safety_identifier: 'bob' }, 'alice'],
    [{ user: '', safety_identifier: 'bob' }, 'bob'],
    [{ user: 42 }, null],
    [{}, null],
  ])('should read %j as %p', (body, expected) => {
    expect(endUserOf(body)).toBe(expected);
  });
});
