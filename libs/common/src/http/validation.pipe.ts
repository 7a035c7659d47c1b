import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ErrorCode } from '../errors/error-code';
import { GatewayError } from '../errors/gateway.error';
import { memoizeValidationMetadata } from './validation-metadata.cache';

/** `messages[0].role` from the nested ValidationError tree, the way OpenAI names `param`. */
function firstViolation(errors: ValidationError[], prefix = ''): { param: string; message: string } | null {
  for (const error of errors) {
    const param = /^\d+$/.test(error.property)
      ? `${prefix}[${error.property}]`
      : prefix
        ? `${prefix}.${error.property}`
        : error.property;
    if (error.constraints) {
      const message = Object.values(error.constraints)[0] ?? 'is invalid';
      return { param, message };
    }
    const nested = firstViolation(error.children ?? [], param);
    if (nested) return nested;
  }
  return null;
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
      // class-validator messages start with the property name ("model must be a string"): name the full path.
      const detail = violation.message.replace(/^\S+\s/, '');
      return new GatewayError(ErrorCode.BAD_REQUEST, `Invalid '${violation.param}': ${detail}.`, {
        param: violation.param,
      });
    },
  });
}
