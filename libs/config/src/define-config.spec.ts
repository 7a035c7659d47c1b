import { IsInt, IsOptional, Matches, Max } from 'class-validator';
import { ConfigValidationError, defineConfig, validateEnvironment } from './define-config';

class FirstEnv {
  @IsOptional() @IsInt() @Max(65535) PORT?: number;
}
class SecondEnv {
  @IsOptional() @Matches(/^redis:\/\//, { message: 'REDIS_URL must be a redis:// URL' }) REDIS_URL?: string;
}

const first = defineConfig('first', FirstEnv, (env) => ({ port: env.PORT ?? 8080 }));
const second = defineConfig('second', SecondEnv, (env) => ({ url: env.REDIS_URL ?? null }));

describe('validateEnvironment', () => {
  it('should name every bad variable in one error', () => {
    let caught: unknown;
    try {
      validateEnvironment([first, second], { PORT: '99999', REDIS_URL: 'http://nope' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigValidationError);
    const message = (caught as Error).message;
    expect(message).toContain('PORT');
    expect(message).toContain('REDIS_URL: must be a redis:// URL');
  });

  it('should treat empty strings as unset', () => {
    expect(() => validateEnvironment([first, second], { PORT: '', REDIS_URL: '' })).not.toThrow();
  });

  it('should convert numbers for the typed namespace', () => {
    const saved = process.env.PORT;
    process.env.PORT = '9090';
    try {
      expect(first()).toEqual({ port: 9090 });
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});
