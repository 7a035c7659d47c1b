import { ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
export const GATEWAY_ENTRY = join(ROOT, 'dist/apps/gateway/src/main.js');
export const EMULATOR_ENTRY = join(ROOT, 'dist/apps/provider-emulator/src/main.js');

/** Child env without undefined entries (an undefined value must mean "unset", not the string "undefined"). */
function childEnv(...parts: Array<Record<string, string | undefined>>): Record<string, string> {
  const merged = Object.assign({}, ...parts) as Record<string, string | undefined>;
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function capture(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

function stopper(child: ChildProcess) {
  return (signal: NodeJS.Signals = 'SIGTERM') =>
    new Promise<number | null>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
      child.once('exit', (code) => done(code));
      child.kill(signal);
    });
}

/** Starts the built provider emulator on a free port; resolves when it reports listening over IPC. */
export async function startEmulator(env: Record<string, string> = {}): Promise<RunningProcess> {
  const child = fork(EMULATOR_ENTRY, [], {
    execArgv: [],
    env: childEnv(process.env, { EMULATOR_PORT: '0', EMULATOR_HOST: '127.0.0.1' }, env),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = capture(child);
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`emulator did not start:\n${output()}`)), 10_000);
    child.once('exit', (code) => fail(new Error(`emulator exited (${code}):\n${output()}`)));
    child.on('message', (message: { type?: string; port?: number }) => {
      if (message?.type === 'listening' && message.port) {
        clearTimeout(timer);
        done(message.port);
      }
    });
  });
  child.removeAllListeners('exit');
  return { child, url: `http://127.0.0.1:${port}`, output, stop: stopper(child) };
}

/** Writes a routing config for a test into a temp file and returns its path. */
export function writeRoutingConfig(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'xrouter-config-')), 'xrouter.yaml');
  writeFileSync(file, yaml);
  return file;
}

/**
 * Starts the built gateway as a real process. Resolves once it answers HTTP, or rejects with its output if it exits.
 * Provider credentials from the outer environment are removed unless the test passes them.
 */
export async function startGateway(
  env: Record<string, string | undefined>,
  timeoutMs = 30_000,
): Promise<RunningProcess> {
  // A test may choose the port (to name the gateway's own URL in its environment, as OAUTH_ISSUER does).
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const clean: Record<string, string | undefined> = { ...process.env };
  for (const name of [
    'GIGACHAT_AUTH_KEY',
    'YANDEX_API_KEY',
    'YANDEX_FOLDER_ID',
    'MTS_API_KEY',
    'TBANK_API_KEY',
    'ADMIN_API_KEY',
  ]) {
    delete clean[name];
  }
  const child = fork(GATEWAY_ENTRY, [], {
    execArgv: [],
    cwd: ROOT,
    // Its own Redis key prefix: test files run in parallel against one Redis, and must not share breakers or limits.
    env: childEnv(
      clean,
      {
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        STORE_KEY_PREFIX: `xr-test-${randomUUID().slice(0, 8)}:`,
        // Suites call admin endpoints back to back with one key, so the per-key per-second burst (10/s, 20) would
        // refuse some of them depending on how fast the machine is. Suites about limits set their own values.
        RATE_LIMIT_RPS: '0',
        // The OAuth issuer is configuration, never the request's Host: the address the tests reach it on.
        OAUTH_ISSUER: `http://127.0.0.1:${port}`,
      },
      env,
    ),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = capture(child);
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output()}`);
    try {
      await fetch(`${url}/v1/models`);
      break;
    } catch {
      if (Date.now() - started > timeoutMs) {
        child.kill('SIGKILL');
        throw new Error(`gateway did not answer within ${timeoutMs} ms:\n${output()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { child, url, output, stop: stopper(child) };
}

/** Runs the gateway expecting it to refuse to start; resolves with its exit code and output. */
export async function runGatewayToExit(
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; output: string }> {
  const child = fork(GATEWAY_ENTRY, [], {
    execArgv: [],
    cwd: ROOT,
    env: childEnv(process.env, { LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(await freePort()) }, env),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = capture(child);
  const code = await new Promise<number | null>((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      done(c);
    });
  });
  return { code, output: output() };
}
