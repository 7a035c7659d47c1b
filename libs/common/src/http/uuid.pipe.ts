import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { ErrorCode } from '../errors/error-code';
import { GatewayError } from '../errors/gateway.error';

/**
 * A path or query parameter that is a uuid column's key: anything else is a 400 naming the parameter (the way the
 * ValidationPipe names body fields), before it reaches PostgreSQL, which would refuse it with an error. Absent is
 * allowed only when `optional` (a filter).
 */
export class UuidPipe implements PipeTransform<unknown, string | undefined> {
  constructor(private readonly options: { optional?: boolean } = {}) {}

  transform(value: unknown, metadata: ArgumentMetadata): string | undefined {
    if (value === undefined && this.options.optional) return undefined;
    if (typeof value === 'string' && isUUID(value)) return value;
    const param = metadata.data ?? 'id';
    throw new GatewayError(ErrorCode.BAD_REQUEST, `Invalid '${param}': must be a UUID.`, { param });
  }
}
