import { IsInt, IsOptional, IsUrl, Max, Min } from 'class-validator';
import { DEFAULT_PORT, defineConfig } from '@xrouter/config';

class OAuthEnv {
  @IsOptional() @IsInt() @Min(1) @Max(3650) OAUTH_ACCESS_TOKEN_TTL_DAYS?: number;
  @IsOptional() @IsInt() @Min(1) @Max(3650) OAUTH_REFRESH_TOKEN_TTL_DAYS?: number;
  @IsOptional() @IsInt() @Min(1) @Max(600) OAUTH_CODE_TTL_SECONDS?: number;
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  OAUTH_ISSUER?: string;
  /** The gateway's own PORT (the app validates it too): only for the stand-in issuer when OAUTH_ISSUER is unset. */
  @IsOptional() @IsInt() @Min(0) @Max(65535) PORT?: number;
}

const DAY_MS = 86_400_000;

export const oauthConfig = defineConfig('oauth', OAuthEnv, (env) => ({
  accessTokenTtlMs: (env.OAUTH_ACCESS_TOKEN_TTL_DAYS ?? 365) * DAY_MS,
  refreshTokenTtlMs: (env.OAUTH_REFRESH_TOKEN_TTL_DAYS ?? 365) * DAY_MS,
  codeTtlMs: (env.OAUTH_CODE_TTL_SECONDS ?? 60) * 1000,
  /**
   * The issuer identifier and base of every OAuth URL: the public base URL (`https://xrouter.example.com`) from
   * OAUTH_ISSUER, else `http://localhost:<PORT>` (a warning at start-up). Never the request's Host header, which
   * the client chooses.
   */
  issuer: env.OAUTH_ISSUER ? env.OAUTH_ISSUER.replace(/\/+$/, '') : `http://localhost:${env.PORT ?? DEFAULT_PORT}`,
  issuerConfigured: Boolean(env.OAUTH_ISSUER),
}));
