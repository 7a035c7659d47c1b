import { AcceptsUnknownFields } from '@xrouter/common';
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

const TOOL_CHOICE_MODES = ['none', 'auto', 'required'];

/** `tool_choice`: a mode, or `{type: "function", function: {name}}` naming one of the tools. */
function isToolChoice(value: unknown): boolean {
  if (typeof value === 'string') return TOOL_CHOICE_MODES.includes(value);
  if (typeof value !== 'object' || value === null) return false;
  const choice = value as { type?: unknown; function?: { name?: unknown } | null };
  return choice.type === 'function' && typeof choice.function?.name === 'string' && choice.function.name !== '';
}

function IsToolChoice(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isToolChoice',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: isToolChoice,
        defaultMessage: () =>
          `tool_choice must be 'none', 'auto', 'required' or {"type": "function", "function": {"name": …}}`,
      },
    });
}

class ToolCallFunctionDto {
  @ApiProperty({ example: 'get_weather' }) @IsString() @IsNotEmpty() name!: string;
  @ApiProperty({ example: '{"city":"Москва"}', description: 'The arguments as a JSON string' })
  @IsString()
  arguments!: string;
}

/** A tool call of an earlier assistant message, as the client echoes it back. */
class ToolCallDto implements ToolCall {
  @ApiProperty({ example: 'call_abc123' }) @IsString() id!: string;
  @ApiProperty({ enum: ['function'] }) @IsIn(['function']) type!: 'function';
  @ApiProperty({ type: ToolCallFunctionDto })
  @IsObject()
  @ValidateNested()
  @Type(() => ToolCallFunctionDto)
  function!: ToolCallFunctionDto;
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
  @ApiPropertyOptional({ type: [ToolCallDto] })
  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => ToolCallDto)
  tool_calls?: ToolCallDto[];
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
  @ApiProperty({ type: ToolFunctionDto })
  @IsObject()
  @ValidateNested()
  @Type(() => ToolFunctionDto)
  function!: ToolFunctionDto;
}

/** `POST /v1/chat/completions`, as OpenAI defines it. Fields not listed are passed to the upstream untouched. */
@AcceptsUnknownFields()
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

  @ApiPropertyOptional({ oneOf: [{ type: 'string', enum: TOOL_CHOICE_MODES }, { type: 'object' }] })
  @IsOptional()
  @IsToolChoice()
  tool_choice?: ToolChoice | null;

  @ApiPropertyOptional() @IsOptional() @IsBoolean() parallel_tool_calls?: boolean;
}
