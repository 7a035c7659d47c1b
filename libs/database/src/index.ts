export * from './database.config';
export * from './database.module';
export * from './run-migrations';
export * from './typeorm-options';
export { MIGRATIONS } from './migrations';
