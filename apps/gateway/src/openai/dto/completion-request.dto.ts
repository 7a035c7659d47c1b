import { AcceptsUnknownFields } from '@xrouter/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  Min,
  registerDecorator,
  ValidateNested,
} from 'class-validator';
import { isTokenIds } from '../token-ids';

/** A prompt as OpenAI takes it: text, several texts, token ids, or several lists of token ids. */
export type CompletionPrompt = string | string[] | number[] | number[][];

const isTokens = isTokenIds;

export function isCompletionPrompt(value: unknown): value is CompletionPrompt {
  if (typeof value === 'string') return true;
  if (!Array.isArray(value) || value.length === 0) return false;
  return value.every((p) => typeof p === 'string') || isTokens(value) || value.every(isTokens);
}

function IsCompletionPrompt(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isCompletionPrompt',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: isCompletionPrompt,
        defaultMessage: () =>
          'prompt must be a string, a non-empty array of strings, an array of token ids or an array of such arrays',
      },
    });
}

function IsStopSequences(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStopSequences',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) =>
          value === null ||
          typeof value === 'string' ||
          (Array.isArray(value) && value.every((v) => typeof v === 'string')),
        defaultMessage: () => 'stop must be a string or an array of strings',
      },
    });
}

class CompletionStreamOptionsDto {
  @ApiPropertyOptional() @IsOptional() @IsBoolean() include_usage?: boolean;
}

/**
 * `POST /v1/completions` (legacy), as OpenAI defines it. `suffix`, `logprobs`, `best_of` > 1 and `logit_bias` have no
 * equivalent on the chat APIs behind the gateway; they are accepted here only to be refused by name
 * (`legacy-completions.ts`), never dropped. Fields not listed are passed to the upstream untouched, as on chat.
 */
@AcceptsUnknownFields()
export class CompletionRequestDto {
  [extra: string]: unknown;

  @ApiProperty({ example: 'GigaChat-2', description: 'A model name or alias from GET /v1/models, or provider/model' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' } },
      { type: 'array', items: { type: 'integer' } },
      { type: 'array', items: { type: 'array', items: { type: 'integer' } } },
    ],
    example: 'Say this is a test',
    description: 'Token ids are cl100k_base (the encoding of the OpenAI models that served this API)',
  })
  @IsCompletionPrompt()
  prompt!: CompletionPrompt;

  @ApiPropertyOptional({ default: false }) @IsOptional() @IsBoolean() stream?: boolean;
  @ApiPropertyOptional({ type: CompletionStreamOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => CompletionStreamOptionsDto)
  stream_options?: CompletionStreamOptionsDto | null;

  @ApiPropertyOptional({ minimum: 1 }) @IsOptional() @IsInt() @Min(1) max_tokens?: number | null;
  @ApiPropertyOptional({ minimum: 0, maximum: 2 }) @IsOptional() @IsNumber() @Min(0) @Max(2) temperature?:
    number | null;
  @ApiPropertyOptional({ minimum: 0, maximum: 1 }) @IsOptional() @IsNumber() @Min(0) @Max(1) top_p?: number | null;
  @ApiPropertyOptional({ minimum: 1, description: 'Choices per prompt' })
  @IsOptional()
  @IsInt()
  @Min(1)
  n?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsStopSequences() stop?: string | string[] | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(-2) @Max(2) presence_penalty?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(-2) @Max(2) frequency_penalty?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsInt() seed?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsString() user?: string;
  @ApiPropertyOptional({ description: 'The prompt is put before each completion' })
  @IsOptional()
  @IsBoolean()
  echo?: boolean | null;

  @ApiPropertyOptional({ description: 'Refused unless empty: no provider behind the gateway fills in a suffix' })
  @IsOptional()
  @IsString()
  suffix?: string | null;
  @ApiPropertyOptional({ description: 'Refused unless null: no provider behind the gateway returns log probabilities' })
  @IsOptional()
  @IsInt()
  @Min(0)
  logprobs?: number | null;
  @ApiPropertyOptional({ minimum: 1, maximum: 1, description: 'Only 1: the providers do not rank candidates' })
  @IsOptional()
  @IsInt()
  @Min(1)
  best_of?: number | null;
  @ApiPropertyOptional({ description: 'Refused unless empty: token ids mean nothing to these providers' })
  @IsOptional()
  logit_bias?: Record<string, number> | null;
}
