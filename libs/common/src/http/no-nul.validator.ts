import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * Text PostgreSQL can store: no NUL character (`\u0000`), which a `text` column refuses with an error. For string
 * fields that reach the database; non-strings pass (their own type rule answers them).
 */
export function HasNoNul(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'hasNoNul',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !value.includes('\0'),
        defaultMessage: buildMessage((each) => `${each}$property must not contain NUL characters`, options),
      },
    },
    options,
  );
}
