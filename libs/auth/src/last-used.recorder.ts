import { BeforeApplicationShutdown, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';

const FLUSH_EVERY_MS = 30_000;

/**
 * `last_used_at` of API keys without a write per request: ids seen are collected in memory and written in one
 * UPDATE every 30 s (and once more at shutdown, before the database closes). Minute precision is what admins need.
 */
@Injectable()
export class LastUsedRecorder implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(LastUsedRecorder.name);
  private seen = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly dataSource: DataSource) {}

  touch(keyId: string): void {
    this.seen.add(keyId);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  async flush(): Promise<void> {
    if (this.seen.size === 0) return;
    const ids = [...this.seen];
    this.seen = new Set();
    try {
      await this.dataSource.query('UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1::uuid[])', [ids]);
    } catch (error) {
      for (const id of ids) this.seen.add(id);
      this.logger.warn(`Could not record last use of ${ids.length} keys; will retry: ${(error as Error).message}`);
    }
  }
}
