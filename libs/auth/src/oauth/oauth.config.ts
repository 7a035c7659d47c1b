import { IsInt, IsOptional, IsUrl, Max, Min } from 'class-validator';
import { defineConfig } from '@xrouter/config';

class OAuthEnv {
  @IsOptional() @IsInt() @Min(1) @Max(3650) OAUTH_ACCESS_TOKEN_TTL_DAYS?: number;
  @IsOptional() @IsInt() @Min(1) @Max(3650) OAUTH_REFRESH_TOKEN_TTL_DAYS?: number;
  @IsOptional() @IsInt() @Min(1) @Max(600) OAUTH_CODE_TTL_SECONDS?: number;
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  OAUTH_ISSUER?: string;
}

const DAY_MS = 86_400_000;

export const oauthConfig = defineConfig('oauth', OAuthEnv, (env) => ({
  accessTokenTtlMs: (env.OAUTH_ACCESS_TOKEN_TTL_DAYS ?? 365) * DAY_MS,
  refreshTokenTtlMs: (env.OAUTH_REFRESH_TOKEN_TTL_DAYS ?? 365) * DAY_MS,
  codeTtlMs: (env.OAUTH_CODE_TTL_SECONDS ?? 60) * 1000,
  /** The public base URL (`https://xrouter.example.com`); null = the origin each request arrived on. */
  issuer: env.OAUTH_ISSUER ? env.OAUTH_ISSUER.replace(/\/+$/, '') : null,
}));

export type OAuthSettings = ReturnType<typeof oauthConfig>;
