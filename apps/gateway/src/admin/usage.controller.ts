import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated, CurrentPrincipal, type Principal } from '@xrouter/auth';
import { BudgetService, UsageReportService, type BudgetStatus, type UsageReportRow } from '@xrouter/usage';
import { toUsageFilter, UsageQueryDto } from './usage-query.dto';

async function answer(
  reports: UsageReportService,
  query: UsageQueryDto,
  res: Response,
  scope: { userId?: string },
): Promise<UsageReportRow[] | string> {
  const rows = await reports.report({ ...toUsageFilter(query), ...scope }, query.group_by ?? 'none');
  if (query.format !== 'csv') return rows;
  res.setHeader('content-type', 'text/csv; charset=utf-8');
  res.setHeader('content-disposition', 'attachment; filename="xrouter-usage.csv"');
  return reports.toCsv(rows);
}

@ApiTags('Admin: usage')
@Authenticated({ scopes: ['admin'] })
@Controller('admin/usage')
export class AdminUsageController {
  constructor(private readonly reports: UsageReportService) {}

  @Get()
  @ApiOperation({ summary: 'Requests, errors, tokens, cost (RUB) and latency percentiles, filtered and grouped' })
  @ApiProduces('application/json', 'text/csv')
  report(@Query() query: UsageQueryDto, @Res({ passthrough: true }) res: Response): Promise<UsageReportRow[] | string> {
    return answer(this.reports, query, res, {});
  }
}

@ApiTags('Account')
@Authenticated()
@Controller('account/usage')
export class AccountUsageController {
  constructor(private readonly reports: UsageReportService) {}

  @Get()
  @ApiOperation({ summary: 'Your own usage (every key of yours), filtered and grouped' })
  @ApiProduces('application/json', 'text/csv')
  report(
    @CurrentPrincipal() principal: Principal,
    @Query() query: UsageQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UsageReportRow[] | string> {
    return answer(this.reports, query, res, { userId: principal.userId });
  }
}

@ApiTags('Account')
@Authenticated()
@Controller('account/budget')
export class AccountBudgetController {
  constructor(private readonly budgets: BudgetService) {}

  @Get()
  @ApiOperation({ summary: "This month's spend against the budgets of your key and of you (empty when none is set)" })
  status(@CurrentPrincipal() principal: Principal): Promise<BudgetStatus[]> {
    return Promise.all(principal.budgets.map((subject) => this.budgets.status(subject)));
  }
}
