import type { Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PartitionMaintenanceService, usageConfig, type DayPartitionedTable, type UsageSettings } from '@xrouter/usage';
import { ResponseStore } from './response.store';
import { responsesConfig, type ResponsesSettings } from './responses.config';
import { ResponsesService } from './responses.service';
import { ResponsesSockets } from './responses-sockets';

/** The stored responses' table, and the advisory lock of its partition maintenance (distinct from request_logs'). */
export const RESPONSES_PARTITIONS: DayPartitionedTable = { table: 'responses', lockId: 4_627_004 };

export const RESPONSES_PARTITION_MAINTENANCE = Symbol('RESPONSES_PARTITION_MAINTENANCE');

/**
 * The Responses API's providers: the service, its store, and the store's day partitions — made as far ahead as
 * request_logs' (`USAGE_PARTITIONS_AHEAD_DAYS`), kept `RESPONSES_RETENTION_DAYS`.
 */
export const RESPONSES_PROVIDERS: Provider[] = [
  ResponsesService,
  ResponsesSockets,
  ResponseStore,
  {
    provide: RESPONSES_PARTITION_MAINTENANCE,
    inject: [DataSource, usageConfig.KEY, responsesConfig.KEY],
    useFactory: (dataSource: DataSource, usage: UsageSettings, responses: ResponsesSettings) =>
      new PartitionMaintenanceService(
        dataSource,
        { partitionsAheadDays: usage.partitionsAheadDays, retentionDays: responses.retentionDays },
        RESPONSES_PARTITIONS,
      ),
  },
];
