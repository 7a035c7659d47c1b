import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Matches, Max, Min, ValidateIf } from 'class-validator';

/** A monthly budget (UTC calendar month): tokens and/or RUB. null removes that limit. */
export class BudgetDto {
  @ApiPropertyOptional({
    example: 1000000,
    nullable: true,
    type: Number,
    description: 'Tokens per month; null = no limit',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  monthly_token_budget?: number | null;

  @ApiPropertyOptional({
    example: '1500.00',
    nullable: true,
    type: String,
    description: 'RUB per month; null = no limit',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @Matches(/^\d{1,11}(\.\d{1,9})?$/, { message: 'monthly_budget_rub must be a decimal amount like 1500.00' })
  monthly_budget_rub?: string | null;
}
