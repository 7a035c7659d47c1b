import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInstance,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';

/**
 * The routing config file (`config/xrouter.yaml`), field for field. Keys are snake_case as written in the file;
 * the routing and provider libs build their runtime structures from these validated objects.
 */

export const PROVIDER_TYPES = ['openai', 'gigachat', 'yandex'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export const OPENAI_PROFILES = ['generic', 'mts', 'tbank', 'yandex'] as const;
export type OpenAiProfile = (typeof OPENAI_PROFILES)[number];

export const STRATEGIES = ['fallback', 'weighted', 'round-robin', 'least-latency'] as const;
export type Strategy = (typeof STRATEGIES)[number];

const ID = /^[a-z0-9][a-z0-9_.-]*$/;

/**
 * What a deployment can do with an OpenAI request, beyond plain text chat (or embeddings): the names of the
 * capability table (`libs/providers/src/capabilities.ts`), of `/v1/models`' `capabilities` and of the
 * `capabilities:` overrides below.
 */
export const CAPABILITY_NAMES = [
  'tools',
  'parallel_tool_calls',
  'json_schema',
  'json_object',
  'images',
  'logprobs',
  'n',
  'seed',
  'stop',
  'penalties',
  'top_p',
  'logit_bias',
  'reasoning',
  'dimensions',
] as const;
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/** Overrides of a provider's (or a deployment's) capabilities: `{images: true}` for one vision model, say. */
export class CapabilitiesConfig implements Partial<Record<CapabilityName, boolean>> {
  @IsOptional() @IsBoolean() tools?: boolean;
  @IsOptional() @IsBoolean() parallel_tool_calls?: boolean;
  @IsOptional() @IsBoolean() json_schema?: boolean;
  @IsOptional() @IsBoolean() json_object?: boolean;
  @IsOptional() @IsBoolean() images?: boolean;
  @IsOptional() @IsBoolean() logprobs?: boolean;
  @IsOptional() @IsBoolean() n?: boolean;
  @IsOptional() @IsBoolean() seed?: boolean;
  @IsOptional() @IsBoolean() stop?: boolean;
  @IsOptional() @IsBoolean() penalties?: boolean;
  @IsOptional() @IsBoolean() top_p?: boolean;
  @IsOptional() @IsBoolean() logit_bias?: boolean;
  @IsOptional() @IsBoolean() reasoning?: boolean;
  @IsOptional() @IsBoolean() dimensions?: boolean;
}

export class TimeoutsConfig {
  @IsInt() @Min(1) connect_ms = 5_000;
  /** Each attempt's answer must start (response headers, or a stream's first chunk) within this. */
  @IsInt() @Min(1) first_token_ms = 30_000;
  /** Each attempt must finish within this (unset: the request's remaining time); a fallback gets its own. */
  @IsOptional() @IsInt() @Min(1) attempt_ms?: number;
  /** The whole request, every attempt and wait included. */
  @IsInt() @Min(1) total_ms = 300_000;
}

export class RetryConfig {
  @IsInt() @Min(1) @Max(10) max_attempts = 3;
  @IsInt() @Min(0) base_delay_ms = 200;
  @IsInt() @Min(0) max_delay_ms = 5_000;
  @IsInt() @Min(0) max_retry_after_ms = 10_000;
}

export class CircuitBreakerConfig {
  @IsInt() @Min(1) failure_threshold = 5;
  @IsInt() @Min(1) window_ms = 30_000;
  @IsInt() @Min(1) cooldown_ms = 15_000;
  @IsInt() @Min(1) half_open_probes = 1;
}

export class RoutingDefaults {
  @ValidateNested() @Type(() => TimeoutsConfig) timeouts = new TimeoutsConfig();
  @ValidateNested() @Type(() => RetryConfig) retry = new RetryConfig();
  @ValidateNested() @Type(() => CircuitBreakerConfig) circuit_breaker = new CircuitBreakerConfig();
}

export class AccountConfig {
  @IsString() @Matches(ID, { message: 'id must be lowercase letters, digits, ".", "_" or "-"' }) id!: string;
  /** Bearer key (OpenAI-compatible hosts) or Yandex `Api-Key`. */
  @IsOptional() @IsString() api_key?: string;
  /** Yandex IAM token, used instead of api_key. */
  @IsOptional() @IsString() iam_token?: string;
  /** Yandex: when the static iam_token stops working (ISO 8601); past it, calls fail at once with a clear message. */
  @IsOptional() @IsISO8601() iam_token_expires_at?: string;
  /** Yandex: the service account's authorized key JSON (`yc iam key create`), usually `${VAR}`; IAM tokens follow. */
  @IsOptional() @IsString() service_account_key?: string;
  /** Yandex: the path of that authorized key JSON file, read at start-up. */
  @IsOptional() @IsString() service_account_key_file?: string;
  /** Yandex: generations this account's folder runs at once from one replica (default 10, the folder quota). */
  @IsOptional() @IsInt() @Min(1) max_in_flight?: number;
  @IsOptional() @IsString() folder_id?: string;
  /**
   * Yandex (native and `profile: yandex`): `x-data-logging-enabled` is sent as `false` unless this is true — by
   * default Yandex keeps prompts and answers.
   */
  @IsOptional() @IsBoolean() data_logging?: boolean;
  /** Cloud.ru (`profile: tbank`): a service-account access key, exchanged for an IAM token instead of api_key. */
  @IsOptional() @IsString() key_id?: string;
  @IsOptional() @IsString() key_secret?: string;
  /** Cloud.ru: the project, sent as `x-project-id` when set. */
  @IsOptional() @IsString() project_id?: string;
  /** GigaChat authorization key (base64 of client_id:client_secret). */
  @IsOptional() @IsString() auth_key?: string;
  @IsOptional() @IsString() scope?: string;
  /** Requests per minute this account may send, enforced across replicas. */
  @IsOptional() @IsInt() @Min(1) rpm?: number;
  /** Set by the loader (never in the file): the `${VARS}` its credentials come from, for messages. */
  declare credential_vars?: string[];
}

export class PricingConfig {
  /** RUB per 1,000 prompt tokens. */
  @IsNumber({ maxDecimalPlaces: 6 }) @Min(0) prompt_per_1k!: number;
  /** RUB per 1,000 completion tokens. */
  @IsNumber({ maxDecimalPlaces: 6 }) @Min(0) completion_per_1k!: number;
  /** RUB per 1,000 prompt tokens the provider served from its context cache (GigaChat); unset: the prompt price. */
  @IsOptional() @IsNumber({ maxDecimalPlaces: 6 }) @Min(0) cached_prompt_per_1k?: number;
}

export class ProviderConfig {
  @IsString() @Matches(ID, { message: 'id must be lowercase letters, digits, ".", "_" or "-"' }) id!: string;
  @IsIn(PROVIDER_TYPES) type!: ProviderType;
  @IsOptional() @IsIn(OPENAI_PROFILES) profile?: OpenAiProfile;
  @IsString() @Matches(/^https?:\/\/\S+$/, { message: 'base_url must be an http(s) URL' }) base_url!: string;
  /** Token endpoint: GigaChat OAuth, or Cloud.ru IAM for accounts with key_id/key_secret. */
  @IsOptional()
  @IsString()
  @Matches(/^https?:\/\/\S+$/, { message: 'auth_url must be an http(s) URL' })
  auth_url?: string;
  /** Yandex IAM host for service-account keys (default `https://iam.api.cloud.yandex.net`). */
  @IsOptional()
  @IsString()
  @Matches(/^https?:\/\/\S+$/, { message: 'iam_url must be an http(s) URL' })
  iam_url?: string;
  /**
   * Extra CA certificates (a PEM bundle, or one DER certificate) trusted for this provider only, on top of Node's
   * roots, e.g. the Russian Trusted Root CA for GigaChat. Empty = none.
   */
  @IsOptional() @IsString() ca_file?: string;
  /** Set by the loader (never in the file): the certificates of `ca_file` as PEM, read once when the file loads. */
  declare ca_certs?: string[];
  @IsOptional() @IsInt() @Min(1) max_connections?: number;
  /**
   * Request fields (or capability names, e.g. `penalties`) removed before sending: parameters the host rejects or
   * lacks. A request that uses one is served without it, and the answer names it in `x-xrouter-dropped-params`.
   */
  @IsOptional() @IsArray() @IsString({ each: true }) drop_params?: string[];
  /** What this provider's deployments can do, over its type's (and profile's) table. */
  @IsOptional() @ValidateNested() @Type(() => CapabilitiesConfig) capabilities?: CapabilitiesConfig;
  /**
   * OpenAI-compatible hosts: a leading `<think>…</think>` block goes to `reasoning_content` (split), is removed
   * (strip) or stays in `content` (keep). Default: split for the tbank profile, keep otherwise.
   */
  @IsOptional() @IsIn(['split', 'strip', 'keep']) think_tags?: 'split' | 'strip' | 'keep';
  @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => AccountConfig) accounts!: AccountConfig[];
  /**
   * The provider's price list, by upstream model id: the price of its deployments that name none of their own (and
   * of direct `provider/model` calls).
   */
  @IsOptional()
  @IsInstance(Map, { message: 'pricing must map upstream model ids to prices' })
  @ValidateNested({ each: true })
  @Type(() => PricingConfig)
  pricing?: Map<string, PricingConfig>;
  /** Everything it serves is billed at 0 (a self-hosted model): said in the file, never assumed from a missing price. */
  @IsOptional() @IsBoolean() free?: boolean;
  /** Set by the gateway (never in the file) when this provider is served by the bundled emulator. */
  declare emulated?: boolean;
}

export class DeploymentConfig {
  @IsString() @MinLength(1) provider!: string;
  /** One account of the provider; omitted = all its accounts, taken round-robin. */
  @IsOptional() @IsString() account?: string;
  /** The model id at the upstream. */
  @IsString() @MinLength(1) model!: string;
  @IsOptional() @IsNumber() @Min(0) weight?: number;
  /** This deployment's own price, ahead of the model's and the provider's. */
  @IsOptional() @ValidateNested() @Type(() => PricingConfig) pricing?: PricingConfig;
  /** Billed at 0, whatever the model's or the provider's price. */
  @IsOptional() @IsBoolean() free?: boolean;
  /** This deployment's breaker, ahead of the model's and `defaults` (a flaky deployment and a critical one differ). */
  @IsOptional() @ValidateNested() @Type(() => CircuitBreakerConfig) circuit_breaker?: CircuitBreakerConfig;
  /** What this upstream model can do, over its provider's (e.g. `{images: true}` for the one vision model). */
  @IsOptional() @ValidateNested() @Type(() => CapabilitiesConfig) capabilities?: CapabilitiesConfig;
}

export class ModelConfig {
  @IsString()
  @Matches(/^[A-Za-z0-9][\w.:/-]*$/, { message: 'name may hold letters, digits and . _ : / -' })
  name!: string;
  @IsOptional() @IsIn(['chat', 'embeddings']) kind: 'chat' | 'embeddings' = 'chat';
  @IsOptional() @IsArray() @IsString({ each: true }) aliases: string[] = [];
  @IsOptional() @IsIn(STRATEGIES) strategy: Strategy = 'fallback';
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => DeploymentConfig)
  deployments!: DeploymentConfig[];
  @IsOptional() @ValidateNested() @Type(() => PricingConfig) pricing?: PricingConfig;
  @IsOptional() @ValidateNested() @Type(() => TimeoutsConfig) timeouts?: TimeoutsConfig;
  @IsOptional() @ValidateNested() @Type(() => RetryConfig) retry?: RetryConfig;
  /** The breaker of this model's deployments, ahead of `defaults`. */
  @IsOptional() @ValidateNested() @Type(() => CircuitBreakerConfig) circuit_breaker?: CircuitBreakerConfig;
  /**
   * Request fields (or capability names) this model serves without, where a deployment lacks them, instead of a 400;
   * named in the answer's `x-xrouter-dropped-params`. Added to each provider's own `drop_params`.
   */
  @IsOptional() @IsArray() @IsString({ each: true }) drop_params?: string[];
}

export class RoutingConfig {
  @IsOptional() @ValidateNested() @Type(() => RoutingDefaults) defaults = new RoutingDefaults();
  @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => ProviderConfig) providers!: ProviderConfig[];
  @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => ModelConfig) models!: ModelConfig[];
}
