// Usage-write benchmark: the product's own UsageRecorder + SqlRequestLogWriter (from the built dist/) against the
// bench's PostgreSQL, offered rows at stepped rates. Run as its own process pinned to the gateway's core:
//   node usage-writer.mjs '{"databaseUrl":"postgres://…","root":"/work/main","seconds":10,"rates":[5000,…]}'
// Prints one JSON line. A step "sustains" its rate when the rows written during the step keep up with the rows
// offered (≥ 95 %), nothing is dropped, and the backlog drains within two flush intervals after the step.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const job = JSON.parse(process.argv[2]);
const require = createRequire(join(job.root, 'package.json'));
require('reflect-metadata');
const { DataSource } = require('typeorm');
const dist = (lib) => join(job.root, 'dist/libs', lib, 'src/index.js');
const database = require(dist('database'));
const usage = require(dist('usage'));

const hardStop = setTimeout(
  () => {
    process.stdout.write(`${JSON.stringify({ error: 'usage writer hit its hard time limit' })}\n`);
    process.exit(2);
  },
  (job.rates.length * (job.seconds + 8) + 60) * 1000,
);
hardStop.unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function entry(i) {
  return {
    createdAt: new Date(),
    requestId: `bench-${process.pid}-${i}`,
    keyId: '7f0c5a7e-1111-4222-8333-444455556666',
    userId: '0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f',
    model: 'mws-gpt-alpha',
    provider: 'mts',
    account: 'main',
    upstreamModel: 'mws-gpt-alpha',
    status: 200,
    errorCode: null,
    attempts: 1,
    latencyMs: 1 + (i % 50),
    ttftMs: i % 2 ? 3 : null,
    promptTokens: 12,
    completionTokens: 40,
    costRub: '0.013800000',
    stream: i % 2 === 0,
  };
}

async function main() {
  const settings = database.databaseSettingsFromEnv({ DATABASE_URL: job.databaseUrl });
  const dataSource = await new DataSource(database.buildDataSourceOptions(settings)).initialize();
  await database.runMigrations(dataSource);
  const defaults = { ...usage.USAGE_DEFAULTS };
  await new usage.PartitionMaintenanceService(dataSource, defaults).maintain();
  const recorder = new usage.UsageRecorder(new usage.SqlRequestLogWriter(dataSource), defaults);
  const countRows = async () => Number((await dataSource.query('SELECT count(*)::bigint AS n FROM request_logs'))[0].n);
  const rowsBefore = await countRows();

  const steps = [];
  let id = 0;
  for (const rate of job.rates) {
    const before = recorder.stats();
    const started = performance.now();
    let offered = 0;
    let maxBuffered = 0;
    const tickMs = 10;
    // Offer `rate` rows/s in 10 ms ticks, catching up on ticks the event loop could not run on time.
    while (performance.now() - started < job.seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (offered < due) {
        recorder.record(entry(id++));
        offered++;
      }
      maxBuffered = Math.max(maxBuffered, recorder.stats().buffered);
      await sleep(tickMs);
    }
    const windowS = (performance.now() - started) / 1000;
    const atEnd = recorder.stats();
    const drainStarted = performance.now();
    const drainLimitMs = 2 * defaults.flushIntervalMs + 3_000;
    while (recorder.stats().buffered > 0 && performance.now() - drainStarted < drainLimitMs) await sleep(20);
    const drainMs = performance.now() - drainStarted;
    const after = recorder.stats();
    const writtenInWindow = atEnd.written - before.written;
    const step = {
      offeredPerS: rate,
      offered,
      windowS: Math.round(windowS * 100) / 100,
      writtenPerS: Math.round(writtenInWindow / windowS),
      backlogAtEnd: atEnd.buffered,
      maxBuffered,
      drainMs: Math.round(drainMs),
      dropped: after.dropped - before.dropped,
      failures: after.failures - before.failures,
      lastFlushMs: after.lastFlushMs,
    };
    step.sustained =
      step.dropped === 0 &&
      after.buffered === 0 &&
      drainMs <= 2 * defaults.flushIntervalMs + 500 &&
      writtenInWindow >= 0.95 * offered - defaults.batchSize;
    steps.push(step);
    process.stderr.write(`usage writer: ${JSON.stringify(step)}\n`);
    if (!step.sustained) break;
  }
  await recorder.flush().catch(() => undefined);
  const stats = recorder.stats();
  const rowsAfter = await countRows();
  const best = steps.filter((s) => s.sustained).reduce((a, s) => Math.max(a, s.offeredPerS), 0);
  const peakWritten = steps.reduce((a, s) => Math.max(a, s.writtenPerS), 0);
  await dataSource.destroy();
  return {
    batchSize: defaults.batchSize,
    flushIntervalMs: defaults.flushIntervalMs,
    bufferMax: defaults.bufferMax,
    steps,
    sustainedRowsPerS: best,
    peakWrittenRowsPerS: peakWritten,
    recorderWritten: stats.written,
    recorderDropped: stats.dropped,
    rowsInserted: rowsAfter - rowsBefore,
  };
}

try {
  process.stdout.write(`${JSON.stringify(await main())}\n`);
  process.exit(0);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`);
  process.exit(1);
}
