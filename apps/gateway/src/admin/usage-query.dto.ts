import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { HasNoNul } from '@xrouter/common';
import type { UsageGroupBy, UsageReportFilter } from '@xrouter/usage';

const GROUPS: UsageGroupBy[] = ['none', 'key', 'user', 'end_user', 'model', 'provider', 'day'];

export class UsageQueryDto {
  @ApiPropertyOptional({ example: '2026-11-01T00:00:00Z', description: 'Inclusive' })
  @IsOptional()
  @IsISO8601()
  from?: string;
  @ApiPropertyOptional({ example: '2026-12-01T00:00:00Z', description: 'Exclusive' })
  @IsOptional()
  @IsISO8601()
  to?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() key_id?: string;
  @ApiPropertyOptional({ description: 'Admins only' }) @IsOptional() @IsUUID() user_id?: string;
  @ApiPropertyOptional({ example: 'GigaChat-2' }) @IsOptional() @IsString() @HasNoNul() @MaxLength(256) model?: string;
  @ApiPropertyOptional({ example: 'gigachat' }) @IsOptional() @IsString() @HasNoNul() @MaxLength(64) provider?: string;
  @ApiPropertyOptional({
    example: 'user-4711',
    description: "The end user a request named (OpenAI's `user`, else `safety_identifier`)",
  })
  @IsOptional()
  @IsString()
  @HasNoNul()
  @MaxLength(256)
  end_user?: string;
  @ApiPropertyOptional({ enum: ['success', 'error'] }) @IsOptional() @IsIn(['success', 'error']) status?:
    'success' | 'error';
  @ApiPropertyOptional({ enum: GROUPS, default: 'none' }) @IsOptional() @IsIn(GROUPS) group_by?: UsageGroupBy;
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' }) @IsOptional() @IsIn(['json', 'csv']) format?:
    'json' | 'csv';
}

export function toUsageFilter(query: UsageQueryDto): UsageReportFilter {
  return {
    from: query.from ? new Date(query.from) : undefined,
    to: query.to ? new Date(query.to) : undefined,
    keyId: query.key_id,
    userId: query.user_id,
    model: query.model,
    provider: query.provider,
    endUser: query.end_user,
    status: query.status,
  };
}
