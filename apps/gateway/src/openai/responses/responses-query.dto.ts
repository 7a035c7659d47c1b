import { AcceptsUnknownFields } from '@xrouter/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import type { InputItemsQuery } from './responses.service';

/** `GET /v1/responses/{id}`: a stored response is answered whole; replaying it as a stream is not supported. */
@AcceptsUnknownFields()
export class RetrieveQueryDto {
  @ApiPropertyOptional({ description: 'Not supported: only absent or false' })
  @IsOptional()
  @IsIn(['false'], { message: 'stream=true (replaying a stored response) is not supported by this gateway' })
  stream?: string;

  @ApiPropertyOptional({ description: 'Not supported: refused when given' })
  @IsOptional()
  @IsIn([], { message: 'include is not supported by this gateway' })
  include?: unknown;
}

/** `GET /v1/responses/{id}/input_items`: OpenAI's cursor paging (`include` is not supported: refused). */
@AcceptsUnknownFields()
export class InputItemsQueryDto implements InputItemsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' }) @IsOptional() @IsIn(['asc', 'desc']) order?:
    'asc' | 'desc';

  @ApiPropertyOptional({ description: 'An item id: list the items after it' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  after?: string;

  @ApiPropertyOptional({ description: 'Not supported: refused when given' })
  @IsOptional()
  @IsIn([], { message: 'include is not supported by this gateway' })
  include?: unknown;
}
