import { Redis } from 'ioredis';

/** Deletes every key under `prefix` (a test run's own namespace) from the Redis at `url`. */
export async function deleteRedisKeys(url: string | undefined, prefix: string): Promise<void> {
  if (!url) return;
  const redis = new Redis(url);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys);
    }
  } finally {
    await redis.quit();
  }
}
