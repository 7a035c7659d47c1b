import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import type { ValidatorOptions } from 'class-validator';
import { ErrorCode } from '../errors/error-code';
import { GatewayError } from '../errors/gateway.error';
import { memoizeValidationMetadata } from './validation-metadata.cache';

/** `messages[0].role` from the nested ValidationError tree, the way OpenAI names `param`. */
function firstViolation(
  errors: ValidationError[],
  prefix = '',
): { param: string; message: string; unknown: boolean } | null {
  for (const error of errors) {
    const param = /^\d+$/.test(error.property)
      ? `${prefix}[${error.property}]`
      : prefix
        ? `${prefix}.${error.property}`
        : error.property;
    if (error.constraints) {
      const message = Object.values(error.constraints)[0] ?? 'is invalid';
      return { param, message, unknown: 'whitelistValidation' in error.constraints };
    }
    const nested = firstViolation(error.children ?? [], param);
    if (nested) return nested;
  }
  return null;
}

const ACCEPTS_UNKNOWN_FIELDS = Symbol.for('xrouter.acceptsUnknownFields');

/**
 * Marks a DTO whose unknown fields are accepted (and passed on) rather than refused: the OpenAI wire's request
 * bodies, where clients send provider extensions (`top_k`, `repetition_penalty`, …) that OpenAI-compatible upstreams
 * take, and which the capability rules judge per model. Every other DTO (the admin API, budgets, users) refuses a
 * field it does not declare, by name: `rpm` for `rpm_limit` is a 400, not a key created without its limit.
 */
export function AcceptsUnknownFields(): ClassDecorator {
  return (target) => {
    Object.defineProperty(target, ACCEPTS_UNKNOWN_FIELDS, { value: true });
  };
}

function acceptsUnknownFields(target: unknown): boolean {
  return (target as { [ACCEPTS_UNKNOWN_FIELDS]?: boolean } | undefined)?.[ACCEPTS_UNKNOWN_FIELDS] === true;
}

/**
 * The app's one validation pipe: a body validated against a DTO class must be a JSON object when there is one (an
 * array or a string is a 400 saying so, not a list of missing fields), and failures become one 400 naming the first bad
 * field, in OpenAI's style. The rules of each DTO are looked up once, not on every call
 * ({@link memoizeValidationMetadata}).
 */
class GatewayValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && value !== undefined && this.toValidate(metadata) && !isJsonObject(value)) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'The request body must be a JSON object.');
    }
    return super.transform(value, metadata);
  }

  protected override validate(object: object, options?: ValidatorOptions) {
    if (acceptsUnknownFields(object.constructor)) return super.validate(object, options);
    return super.validate(object, { ...options, whitelist: true, forbidNonWhitelisted: true });
  }
}

function isJsonObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function createValidationPipe(): ValidationPipe {
  memoizeValidationMetadata();
  return new GatewayValidationPipe({
    transform: true,
    whitelist: false,
    forbidUnknownValues: false,
    exceptionFactory: (errors) => {
      const violation = firstViolation(errors);
      if (!violation) return new GatewayError(ErrorCode.BAD_REQUEST, 'The request is invalid.');
      if (violation.unknown) {
        return new GatewayError(ErrorCode.BAD_REQUEST, `Unrecognized field '${violation.param}'.`, {
          param: violation.param,
        });
      }
      // class-validator messages start with the property name ("model must be a string"): name the full path.
      const detail = violation.message.replace(/^\S+\s/, '');
      return new GatewayError(ErrorCode.BAD_REQUEST, `Invalid '${violation.param}': ${detail}.`, {
        param: violation.param,
      });
    },
  });
}
