import { appConfig, trustProxySetting } from './app.config';
import { validateEnvironment } from '@xrouter/config';

describe('trustProxySetting', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['true', true],
    ['false', false],
    ['2', 2],
    ['loopback', 'loopback'],
    ['10.0.0.0/8, 127.0.0.1', '10.0.0.0/8, 127.0.0.1'],
  ])('%p → %p', (value, expected) => expect(trustProxySetting(value)).toBe(expected));

  it('should refuse a value express could not read, naming the variable', () => {
    expect(() => validateEnvironment([appConfig], { TRUST_PROXY: 'yes please!' })).toThrow(/TRUST_PROXY/);
  });
});
