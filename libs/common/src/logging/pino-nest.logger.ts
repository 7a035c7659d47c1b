import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/**
 * Nest's LoggerService on the gateway's pino logger, so `new Logger('Context')` anywhere writes the same JSON lines.
 * Nest appends the context as the last argument; an object first argument is merged into the line (an Error becomes
 * `err`); `error(message, stack, context)` — Nest's own contract — keeps the stack.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    const rest = [...params];
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields.context = rest.pop();
    if (message instanceof Error) {
      fields.err = message;
      this.logger[level](fields, typeof rest[0] === 'string' ? rest[0] : message.message);
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(fields, message);
      this.logger[level](fields, typeof rest[0] === 'string' ? rest[0] : undefined);
    } else if (level === 'error' && typeof rest[0] === 'string' && rest[0].includes('\n')) {
      fields.stack = rest[0];
      this.logger[level](fields, String(message));
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
