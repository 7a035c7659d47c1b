import { registerAs, ConfigFactoryKeyHost } from '@nestjs/config';
import type { ConfigObject } from '@nestjs/config/dist/types';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

type EnvClass<E extends object> = new () => E;

export type ConfigNamespace<T extends ConfigObject> = (() => T) &
  ConfigFactoryKeyHost<T> & { readonly envClass: EnvClass<object> };

/** Raised when one or more variables are invalid; the message lists every one of them. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

function describeProblems(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map(
      (message) => `${error.property}: ${message.replace(`${error.property} `, '')}`,
    ),
  );
}

function parseEnv<E extends object>(
  envClass: EnvClass<E>,
  env: Record<string, unknown>,
): { value: E; problems: string[] } {
  // Empty strings mean "unset" (a `.env` line `FOO=` should behave like no FOO at all).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '' && v !== undefined));
  const value = plainToInstance(envClass, present, { enableImplicitConversion: true, excludeExtraneousValues: false });
  return { value, problems: describeProblems(validateSync(value, { skipMissingProperties: false })) };
}

/**
 * A typed, validated config namespace: `EnvClass` declares (with class-validator) the variables this lib reads,
 * `toConfig` turns them into the typed object the lib injects with `@Inject(ns.KEY)`.
 */
export function defineConfig<E extends object, T extends ConfigObject>(
  namespace: string,
  envClass: EnvClass<E>,
  toConfig: (env: E) => T,
): ConfigNamespace<T> {
  const factory = registerAs<T>(namespace, () => {
    const { value, problems } = parseEnv(envClass, process.env);
    if (problems.length > 0) throw new ConfigValidationError(problems);
    return toConfig(value);
  });
  return Object.assign(factory, { envClass }) as unknown as ConfigNamespace<T>;
}

/**
 * Validates every namespace's variables at once, so a bad start names all problems in one message.
 * Used as ConfigModule's `validate` hook.
 */
export function validateEnvironment(
  namespaces: ReadonlyArray<{ readonly envClass: EnvClass<object> }>,
  env: Record<string, unknown>,
): Record<string, unknown> {
  const problems = namespaces.flatMap((ns) => parseEnv(ns.envClass, env).problems);
  if (problems.length > 0) throw new ConfigValidationError([...new Set(problems)]);
  return env;
}
