import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
  registerDecorator,
} from 'class-validator';
import { HasNoNul, AcceptsUnknownFields } from '@xrouter/common';
import type { ResponseCreateRequest } from './responses.types';

/** `input`: a string, or a non-empty array of items (each checked by the mapping, which names the one at fault). */
function IsResponseInput(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isResponseInput',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' || (Array.isArray(value) && value.length > 0),
        defaultMessage: () => 'input must be a string or a non-empty array of input items',
      },
    });
}

/**
 * `POST /v1/responses`, as OpenAI defines it. The DTO checks the top-level scalars; the items, tools and formats are
 * checked by the mapping (`responses-mapping.ts`), which also refuses, by name, any field the gateway cannot honour.
 */
@AcceptsUnknownFields()
export class ResponseCreateRequestDto implements ResponseCreateRequest {
  [extra: string]: unknown;

  @ApiProperty({ example: 'GigaChat-2', description: 'A model name or alias from GET /v1/models, or provider/model' })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }],
    example: 'Привет!',
    description: 'Text, or items: messages (input_text / input_image parts), function_call, function_call_output',
  })
  @IsResponseInput()
  input!: string | unknown[];

  @ApiPropertyOptional({ description: 'A system message for this request only (not carried by previous_response_id)' })
  @IsOptional()
  @IsString()
  instructions?: string | null;

  @ApiPropertyOptional({ description: 'Continue the conversation of a stored response of the same user' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @HasNoNul()
  previous_response_id?: string | null;

  @ApiPropertyOptional({ default: false }) @IsOptional() @IsBoolean() stream?: boolean | null;
  @ApiPropertyOptional({ default: true, description: 'Keep the response (and its input) for GET and continuation' })
  @IsOptional()
  @IsBoolean()
  store?: boolean | null;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object' }, description: 'Function tools only' })
  @IsOptional()
  @IsArray()
  tools?: unknown[] | null;

  @ApiPropertyOptional({ oneOf: [{ type: 'string', enum: ['none', 'auto', 'required'] }, { type: 'object' }] })
  @IsOptional()
  tool_choice?: unknown;

  @ApiPropertyOptional() @IsOptional() @IsBoolean() parallel_tool_calls?: boolean | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: '{"format": {...}}' })
  @IsOptional()
  @IsObject()
  text?: Record<string, unknown> | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: '{"effort": ...}' })
  @IsOptional()
  @IsObject()
  reasoning?: Record<string, unknown> | null;

  @ApiPropertyOptional({ minimum: 1 }) @IsOptional() @IsInt() @Min(1) max_output_tokens?: number | null;
  @ApiPropertyOptional({ minimum: 0, maximum: 2 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number | null;
  @ApiPropertyOptional({ minimum: 0, maximum: 1 }) @IsOptional() @IsNumber() @Min(0) @Max(1) top_p?: number | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown> | null;

  @ApiPropertyOptional() @IsOptional() @IsString() user?: string | null;

  @ApiPropertyOptional({ description: "The end user of the client's app (OpenAI's successor of `user`)" })
  @IsOptional()
  @IsString()
  safety_identifier?: string | null;
}
