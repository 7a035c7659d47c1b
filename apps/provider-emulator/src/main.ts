/**
 * Entry point of the provider emulator process. Reads the environment (see emulator-defaults.ts), listens, prints
 * `{"msg":"provider emulator listening","port":N}` on stdout and, when started with an IPC channel, sends
 * `{ type: 'listening', port }` to the parent. SIGTERM, SIGINT and the parent's disconnect close it.
 * EMULATOR_TLS_CERT_FILE and EMULATOR_TLS_KEY_FILE (PEM, both or neither) make it serve HTTPS instead of HTTP.
 */
import { readFileSync } from 'node:fs';
import { readEmulatorEnv } from './emulator-defaults';
import { createEmulatorServer } from './emulator-server';

async function main(): Promise<void> {
  const env = readEmulatorEnv(process.env);
  const certFile = process.env.EMULATOR_TLS_CERT_FILE;
  const keyFile = process.env.EMULATOR_TLS_KEY_FILE;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new Error('EMULATOR_TLS_CERT_FILE and EMULATOR_TLS_KEY_FILE go together: set both or neither');
  }
  const tls =
    certFile && keyFile ? { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } : undefined;
  const emulator = createEmulatorServer(env.options, { tls });
  const port = await emulator.listen(env.port, env.host);
  process.stdout.write(`${JSON.stringify({ msg: 'provider emulator listening', port })}\n`);
  process.send?.({ type: 'listening', port });

  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${JSON.stringify({ msg: 'provider emulator close failed', error: String(error) })}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  if (process.send) process.once('disconnect', shutdown);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${JSON.stringify({ msg: 'provider emulator failed to start', error: message })}\n`);
  process.exit(1);
});
