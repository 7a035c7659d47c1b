import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { SCOPES, type Scope } from '../authority';
import { HasNoNul } from '@xrouter/common';

/** The limits are integer columns. */
const INT32_MAX = 2_147_483_647;

export class CreateApiKeyDto {
  @ApiProperty({ example: 'backend prod' }) @IsString() @HasNoNul() @MinLength(1) @MaxLength(200) name!: string;

  @ApiPropertyOptional({
    description: 'Owner of the key (admins only; by default the caller)',
    example: '5f0c6f0e-8f7a-4c55-9d1e-2b1f0d7c9a11',
  })
  @IsOptional()
  @IsUUID()
  user_id?: string;

  @ApiPropertyOptional({
    enum: SCOPES,
    isArray: true,
    example: ['chat', 'embeddings'],
    description:
      'What the key may call: chat, embeddings, keys (manage your own keys), admin (/admin/*; only an admin key ' +
      'can grant it). Omitted = every scope of the credential creating it; [] = none. Never more than the creator holds.',
  })
  @IsOptional()
  @IsArray()
  @IsIn(SCOPES, { each: true })
  scopes?: Scope[];

  @ApiPropertyOptional({
    example: ['GigaChat-2', 'yandexgpt-lite'],
    description: 'Models the key may use; omitted = all',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @IsString({ each: true })
  @HasNoNul({ each: true })
  allowed_models?: string[];

  @ApiPropertyOptional({ example: '2027-01-01T00:00:00Z' }) @IsOptional() @IsISO8601() expires_at?: string;
  @ApiPropertyOptional({ example: 60, description: 'Requests per minute' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT32_MAX)
  rpm_limit?: number;
  @ApiPropertyOptional({ example: 100000, description: 'Tokens per minute' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT32_MAX)
  tpm_limit?: number;

  @ApiPropertyOptional({
    default: false,
    description:
      'Answer an identical non-streamed chat or legacy completion of this key from the answer cache (no upstream ' +
      'call, no cost) within ANSWER_CACHE_TTL_MS; a request may say otherwise with x-xrouter-cache: use | skip',
  })
  @IsOptional()
  @IsBoolean()
  cache?: boolean;
}

export class ApiKeyDto {
  @ApiProperty({ example: '0b9d2c2e-3a52-4d0e-8a8e-6f1b2d3c4e5f' }) id!: string;
  @ApiProperty({ example: 'backend prod' }) name!: string;
  @ApiProperty({ example: 'xr-AbCd1234', description: 'The first characters of the key, to recognise it' })
  prefix!: string;
  @ApiProperty() user_id!: string;
  @ApiProperty({ enum: SCOPES, isArray: true }) scopes!: string[];
  @ApiProperty({ type: String, nullable: true, description: 'The key that made this one (it dies with it)' })
  parent_key_id!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The OAuth access token that made this one' })
  parent_token_id!: string | null;
  @ApiProperty({ type: [String], nullable: true }) allowed_models!: string[] | null;
  @ApiProperty({ type: Number, nullable: true }) rpm_limit!: number | null;
  @ApiProperty({ type: Number, nullable: true }) tpm_limit!: number | null;
  @ApiProperty({ description: 'Whether identical non-streamed requests are answered from the answer cache' })
  cache!: boolean;
  @ApiProperty({ type: String, nullable: true }) expires_at!: string | null;
  @ApiProperty({ type: Number, nullable: true }) monthly_token_budget!: number | null;
  @ApiProperty({ type: String, nullable: true }) monthly_budget_rub!: string | null;
  @ApiProperty({ type: String, nullable: true }) revoked_at!: string | null;
  @ApiProperty({ type: String, nullable: true }) last_used_at!: string | null;
  @ApiProperty() created_at!: string;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ example: 'xr-AbCd1234…', description: 'The secret. Shown this once; only its hash is stored.' })
  key!: string;
}
