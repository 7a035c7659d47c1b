import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BudgetService } from './budget.service';
import { PartitionMaintenanceService } from './partition-maintenance.service';
import { SqlRequestLogWriter } from './request-log.writer';
import { UsageReportService } from './usage-report.service';
import { USAGE_REPORT_DATA_SOURCE, USAGE_WRITER } from './usage.constants';
import { UsageRecorder } from './usage.recorder';

/**
 * Usage rows: the batched recorder, day-partition maintenance and reports. Needs `usageConfig` loaded in the
 * ConfigModule and the DatabaseModule's DataSource; raw SQL only, so no entity to register.
 */
@Module({
  providers: [
    UsageRecorder,
    PartitionMaintenanceService,
    UsageReportService,
    BudgetService,
    { provide: USAGE_WRITER, useClass: SqlRequestLogWriter },
    { provide: USAGE_REPORT_DATA_SOURCE, useExisting: DataSource },
  ],
  exports: [UsageRecorder, UsageReportService, PartitionMaintenanceService, BudgetService],
})
export class UsageModule {}
