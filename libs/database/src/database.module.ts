import { DynamicModule, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseConfig, type DatabaseSettings } from './database.config';
import { runMigrations } from './run-migrations';
import { buildDataSourceOptions } from './typeorm-options';

/** The DataSource reporting queries run on: the read replica (`DATABASE_READ_URL`) when set, else the primary. */
export const REPORTING_DATA_SOURCE = Symbol('REPORTING_DATA_SOURCE');

/**
 * Opens the read replica when one is configured; without one, reports share the primary. The replica is only
 * read: no migrations (it follows the primary's schema), a pool of its own.
 */
export async function openReportingDataSource(settings: DatabaseSettings, primary: DataSource): Promise<DataSource> {
  if (!settings.readUrl) return primary;
  const replica = await new DataSource({
    type: 'postgres',
    url: settings.readUrl,
    extra: { max: settings.poolSize, connectionTimeoutMillis: 5_000 },
  }).initialize();
  new Logger('Database').log('Reports read from the replica at DATABASE_READ_URL');
  return replica;
}

/** Closes the replica's pool at shutdown (the primary is TypeORM's to close). */
@Injectable()
class ReportingDataSourceCloser implements OnApplicationShutdown {
  constructor(
    @Inject(REPORTING_DATA_SOURCE) private readonly reporting: DataSource,
    private readonly primary: DataSource,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.reporting !== this.primary && this.reporting.isInitialized) await this.reporting.destroy();
  }
}

/**
 * TypeORM on PostgreSQL (DATABASE_URL) or embedded PGlite, with pending migrations applied at start.
 * Feature libs register their entities with `TypeOrmModule.forFeature` (autoLoadEntities).
 */
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [
        {
          provide: REPORTING_DATA_SOURCE,
          inject: [databaseConfig.KEY, DataSource],
          useFactory: openReportingDataSource,
        },
        ReportingDataSourceCloser,
      ],
      exports: [REPORTING_DATA_SOURCE],
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [databaseConfig.KEY],
          useFactory: (settings: ConfigType<typeof databaseConfig>) => ({
            ...buildDataSourceOptions(settings),
            autoLoadEntities: true,
          }),
          dataSourceFactory: async (options) => {
            const logger = new Logger('Database');
            if (!options) throw new Error('TypeORM options are missing');
            const dataSource = await new DataSource(options).initialize();
            const applied = await runMigrations(dataSource);
            const where = 'driver' in options && options.driver ? 'embedded PGlite' : 'PostgreSQL';
            logger.log(
              `Connected to ${where}; ${applied.length ? `applied migrations: ${applied.join(', ')}` : 'schema up to date'}`,
            );
            return dataSource;
          },
        }),
      ],
    };
  }
}
