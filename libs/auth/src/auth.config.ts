import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { defineConfig } from '@xrouter/config';

class AuthEnv {
  @IsOptional()
  @Matches(/^\S{20,}$/, { message: 'ADMIN_API_KEY must be at least 20 characters without spaces' })
  ADMIN_API_KEY?: string;

  @IsOptional() @IsInt() @Min(100) @Max(3_600_000) AUTH_CACHE_TTL_MS?: number;
}

export const authConfig = defineConfig('auth', AuthEnv, (env) => ({
  adminApiKey: env.ADMIN_API_KEY ?? null,
  /** How long a resolved credential is trusted without asking the database; revocations cut it short. */
  cacheTtlMs: env.AUTH_CACHE_TTL_MS ?? 60_000,
}));
