/** The writer the recorder hands its batches to (the SQL writer in production, a fake in unit specs). */
export const USAGE_WRITER = Symbol('USAGE_WRITER');

/**
 * The DataSource reports read through. Bound to the application's DataSource by UsageModule; point it at a read
 * replica's DataSource to keep report scans off the primary.
 */
export const USAGE_REPORT_DATA_SOURCE = Symbol('USAGE_REPORT_DATA_SOURCE');

/** The partitioned table of usage rows (its catch-all partition is `request_logs_default`). */
export const REQUEST_LOGS_TABLE = 'request_logs';

/**
 * Advisory lock taken by the replica that maintains request_logs' partitions (any fixed number, distinct from the
 * migrations' and from other partitioned tables').
 */
export const PARTITION_MAINTENANCE_LOCK_ID = 4_627_003;
