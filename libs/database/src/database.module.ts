import { DynamicModule, Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseConfig } from './database.config';
import { runMigrations } from './run-migrations';
import { buildDataSourceOptions } from './typeorm-options';

/**
 * TypeORM on PostgreSQL (DATABASE_URL) or embedded PGlite, with pending migrations applied at start.
 * Feature libs register their entities with `TypeOrmModule.forFeature` (autoLoadEntities).
 */
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
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
