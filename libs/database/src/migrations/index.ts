import { InitialSchema1732406400000 } from './1732406400000-initial-schema';

/** Every migration, oldest first. Listed explicitly so the build, the CLI and tests agree without globbing. */
export const MIGRATIONS = [InitialSchema1732406400000];
