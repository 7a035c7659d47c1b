/** For the TypeORM CLI (`typeorm migration:generate -d dist/libs/database/src/data-source.js`): same factory as the app. */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseConfig } from './database.config';
import { buildDataSourceOptions } from './typeorm-options';

export default new DataSource(buildDataSourceOptions(databaseConfig()));
