import { AcceptsUnknownFields } from '@xrouter/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Min, registerDecorator } from 'class-validator';
import type { EmbeddingRequest } from '@xrouter/common';
import { decodeTokens, isTokenIds } from '../token-ids';

/** An input as OpenAI takes it: text, several texts, token ids, or several lists of token ids. */
export type EmbeddingInput = string | string[] | number[] | number[][];

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

export function isEmbeddingInput(value: unknown): value is EmbeddingInput {
  if (isText(value)) return true;
  if (!Array.isArray(value) || value.length === 0) return false;
  return value.every(isText) || isTokenIds(value) || value.every(isTokenIds);
}

/** The texts of an input, in order: token ids decoded (cl100k_base, what OpenAI's embedding models use). */
export function embeddingTexts(input: EmbeddingInput): string | string[] {
  if (typeof input === 'string') return input;
  if (isTokenIds(input)) return decodeTokens(input, 'input');
  return (input as Array<string | number[]>).map((item, i) =>
    typeof item === 'string' ? item : decodeTokens(item, `input[${i}]`),
  );
}

function IsEmbeddingInput(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isEmbeddingInput',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: isEmbeddingInput,
        defaultMessage: () =>
          'input must be a non-empty string, a non-empty array of non-empty strings, an array of token ids ' +
          'or an array of such arrays',
      },
    });
}

/** `POST /v1/embeddings`. Token ids are decoded to text before the request is routed (`embeddingTexts`). */
@AcceptsUnknownFields()
export class EmbeddingRequestDto implements Omit<EmbeddingRequest, 'input'> {
  @ApiProperty({ example: 'bge-m3' }) @IsString() @IsNotEmpty() model!: string;

  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' } },
      { type: 'array', items: { type: 'integer' } },
      { type: 'array', items: { type: 'array', items: { type: 'integer' } } },
    ],
    example: 'Привет, мир',
    description: 'Token ids are cl100k_base (what OpenAI clients such as LangChain send); they are sent on as text',
  })
  // One rule for every shape (a ValidateIf here would switch it off for anything but an array, null included).
  @IsEmbeddingInput()
  input!: EmbeddingInput;

  @ApiPropertyOptional({ enum: ['float', 'base64'], default: 'float' })
  @IsOptional()
  @IsIn(['float', 'base64'])
  encoding_format?: 'float' | 'base64';
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) dimensions?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() user?: string;
}
