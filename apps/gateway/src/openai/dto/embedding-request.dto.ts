import { AcceptsUnknownFields } from '@xrouter/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMinSize,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Min,
  registerDecorator,
  ValidateIf,
} from 'class-validator';
import type { EmbeddingRequest } from '@xrouter/common';

function IsEmbeddingInput(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isEmbeddingInput',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'string' && value.length > 0) ||
          (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0)),
        defaultMessage: () => 'input must be a non-empty string or a non-empty array of non-empty strings',
      },
    });
}

/** `POST /v1/embeddings`. */
@AcceptsUnknownFields()
export class EmbeddingRequestDto implements EmbeddingRequest {
  @ApiProperty({ example: 'bge-m3' }) @IsString() @IsNotEmpty() model!: string;

  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], example: 'Привет, мир' })
  @IsEmbeddingInput()
  @ValidateIf((o: EmbeddingRequestDto) => Array.isArray(o.input))
  @ArrayMinSize(1)
  input!: string | string[];

  @ApiPropertyOptional({ enum: ['float', 'base64'], default: 'float' })
  @IsOptional()
  @IsIn(['float', 'base64'])
  encoding_format?: 'float' | 'base64';
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) dimensions?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() user?: string;
}
