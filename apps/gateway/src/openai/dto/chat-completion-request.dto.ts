import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
  registerDecorator,
  ValidateNested,
  ValidationArguments,
} from 'class-validator';
import type { ChatCompletionRequest, ChatContentPart, ChatRole, ToolCall, ToolChoice } from '@xrouter/common';

const ROLES: ChatRole[] = ['system', 'developer', 'user', 'assistant', 'tool'];

function isContent(value: unknown, args: ValidationArguments): boolean {
  if (typeof value === 'string') return true;
  if (value === null || value === undefined) {
    const message = args.object as ChatMessageDto;
    return message.role === 'assistant';
  }
  return (
    Array.isArray(value) &&
    value.every(
      (part: unknown) =>
        typeof part === 'object' && part !== null && typeof (part as ChatContentPart).type === 'string',
    )
  );
}

/** `content`: a string, an array of typed parts, or null/absent on an assistant message (tool calls). */
function IsMessageContent(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isMessageContent',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: isContent,
        defaultMessage: () => 'content must be a string or an array of content parts',
      },
    });
}

function IsStringOrStringArray(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStringOrStringArray',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string')),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property ?? 'value'} must be a string or an array of strings`,
      },
    });
}

export class ChatMessageDto {
  @ApiProperty({ enum: ROLES, example: 'user' })
  @IsIn(ROLES)
  role!: ChatRole;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }],
    nullable: true,
    example: 'Привет!',
  })
  @IsMessageContent()
  content!: string | ChatContentPart[] | null;

  @ApiPropertyOptional() @IsOptional() @IsString() name?: string;
  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } }) @IsOptional() @IsArray() tool_calls?: ToolCall[];
  @ApiPropertyOptional() @IsOptional() @IsString() tool_call_id?: string;
}

class StreamOptionsDto {
  @ApiPropertyOptional() @IsOptional() @IsBoolean() include_usage?: boolean;
}

class ToolFunctionDto {
  @ApiProperty() @IsString() @IsNotEmpty() name!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() description?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) @IsOptional() @IsObject() parameters?: Record<
    string,
    unknown
  >;
}

class ToolDto {
  @ApiProperty({ enum: ['function'] }) @IsIn(['function']) type!: 'function';
  @ApiProperty({ type: ToolFunctionDto }) @ValidateNested() @Type(() => ToolFunctionDto) function!: ToolFunctionDto;
}

/** `POST /v1/chat/completions`, as OpenAI defines it. Fields not listed are passed to the upstream untouched. */
export class ChatCompletionRequestDto implements ChatCompletionRequest {
  [extra: string]: unknown;

  @ApiProperty({
    example: 'mws-gpt-alpha',
    description: 'A model name or alias from GET /v1/models, or provider/model',
  })
  @IsString()
  @IsNotEmpty()
  model!: string;

  @ApiProperty({ type: [ChatMessageDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  @ApiPropertyOptional({ default: false }) @IsOptional() @IsBoolean() stream?: boolean;

  @ApiPropertyOptional({ type: StreamOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  @ApiPropertyOptional({ minimum: 0, maximum: 2 }) @IsOptional() @IsNumber() @Min(0) @Max(2) temperature?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 1 }) @IsOptional() @IsNumber() @Min(0) @Max(1) top_p?: number;
  @ApiPropertyOptional({ minimum: 1 }) @IsOptional() @IsInt() @Min(1) max_tokens?: number;
  @ApiPropertyOptional({ minimum: 1 }) @IsOptional() @IsInt() @Min(1) max_completion_tokens?: number;
  @ApiPropertyOptional({ minimum: 1, maximum: 1, description: 'Only 1 is supported' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1)
  n?: number;
  @ApiPropertyOptional() @IsOptional() @IsStringOrStringArray() stop?: string | string[];
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(-2) @Max(2) presence_penalty?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(-2) @Max(2) frequency_penalty?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() seed?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() user?: string;

  @ApiPropertyOptional({ type: [ToolDto] })
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ToolDto)
  tools?: ToolDto[];

  @ApiPropertyOptional({ oneOf: [{ type: 'string', enum: ['none', 'auto', 'required'] }, { type: 'object' }] })
  @IsOptional()
  tool_choice?: ToolChoice;

  @ApiPropertyOptional() @IsOptional() @IsBoolean() parallel_tool_calls?: boolean;
}
