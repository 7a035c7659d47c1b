// Processes of the benchmark: pinning, a private PostgreSQL + Redis, the emulators, the gateways, and their cleanup.
// Every child is registered so that a normal end, an error or Ctrl-C stops all of them (and PostgreSQL).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set();
const cleanups = [];
let cleaned = false;

export function registerCleanup(fn) {
  cleanups.push(fn);
}

/** Stops every registered child (SIGKILL after `graceMs`) and runs the registered cleanups; safe to call twice. */
export async function cleanupAll(graceMs = 3_000) {
  if (cleaned) return;
  cleaned = true;
  await Promise.all([...children].map((child) => stopChild(child, 'SIGTERM', graceMs)));
  for (const fn of cleanups.reverse()) {
    try {
      fn();
    } catch {
      // best effort: the next cleanup still runs
    }
  }
}

/** Last resort on a synchronous exit: kill what is still alive, stop PostgreSQL. */
function cleanupSync() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  if (!cleaned) {
    cleaned = true;
    for (const fn of cleanups.reverse()) {
      try {
        fn();
      } catch {
        // best effort
      }
    }
  }
}

export function installSignalHandlers() {
  process.once('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping every process the bench started…\n`);
      cleanupAll(1_500).finally(() => process.exit(130));
    });
  }
}

export function stopChild(child, signal = 'SIGTERM', graceMs = 5_000) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(child);
      return done(child.exitCode);
    }
    child.stopping = true;
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      done(code);
    });
    child.kill(signal);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The shared development PostgreSQL and Redis of this machine: never hand their ports to a bench server.
const RESERVED_PORTS = new Set([55432, 56379]);

export async function freePort() {
  for (;;) {
    const port = await anyFreePort();
    if (!RESERVED_PORTS.has(port)) return port;
  }
}

function anyFreePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

export function cores() {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return 1;
  }
}

/** `taskset -c <core>` prefix when the machine has two cores or more and taskset exists; otherwise none. */
export function pinned(core, command, args) {
  if (core === null || cores() < 2 || !existsSync('/usr/bin/taskset')) return [command, args];
  return ['taskset', ['-c', String(core), command, ...args]];
}

/** Spawns a registered child; `log` is a file for stdout+stderr, or 'ignore'. */
export function startChild(command, args, { env, cwd, log = 'ignore', stdout } = {}) {
  const logFd = log === 'ignore' ? 'ignore' : openSync(log, 'a');
  const out = stdout ?? logFd;
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', out, logFd] });
  if (typeof logFd === 'number') closeSync(logFd);
  if (typeof out === 'number' && out !== logFd) closeSync(out);
  children.add(child);
  child.once('exit', (code, signal) => {
    // A child that dies on its own (not stopped by the bench) is said at once, so a later failure has its cause.
    if (!child.stopping && !cleaned) {
      process.stderr.write(`[bench] ${args.at(-1)?.slice(0, 120)} (pid ${child.pid}) exited: ${signal ?? code}\n`);
    }
    children.delete(child);
  });
  return child;
}

export async function waitForPort(port, timeoutMs, child, what) {
  const started = Date.now();
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before listening`);
    }
    const ok = await new Promise((done) => {
      const socket = createConnection(port, '127.0.0.1', () => {
        socket.end();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() - started > timeoutMs) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Polls an HTTP URL until it answers (any status). */
export async function waitForHttp(url, timeoutMs, child, what, logFile) {
  const started = Date.now();
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      const tail = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before answering:\n${tail}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return;
    } catch {
      if (Date.now() - started > timeoutMs) throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
      await sleep(150);
    }
  }
}

function postgresBin() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(a) - Number(b)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: run bash scripts/system-packages.sh');
  return join(root, versions[versions.length - 1], 'bin');
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user the Debian package creates. */
function asPostgres(command, args) {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

/**
 * A private PostgreSQL and Redis on loopback, pinned to `core` (the load generator's core, so the gateway's core is
 * its own). PostgreSQL settings are the defaults but fsync=off (a throwaway cluster; documented in the README).
 */
export async function startServices(core) {
  const dir = mkdtempSync(join(tmpdir(), 'xrouter-bench-'));
  chmodSync(dir, 0o777);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bin = postgresBin();
  const data = join(dir, 'pg');
  const [pgPort, redisPort] = [await freePort(), await freePort()];
  execFileSync(...asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']), {
    stdio: 'ignore',
  });
  const [pgCmd, pgArgs] = asPostgres(join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    join(dir, 'pg.log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-c listen_addresses=127.0.0.1 -c port=${pgPort} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`,
    'start',
  ]);
  execFileSync(...pinned(core, pgCmd, pgArgs), { stdio: 'ignore' });
  cleanups.push(() =>
    execFileSync(...asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']), { stdio: 'ignore' }),
  );
  const redis = startChild(
    ...pinned(core, 'redis-server', [
      '--bind',
      '127.0.0.1',
      '--port',
      String(redisPort),
      '--save',
      '',
      '--appendonly',
      'no',
    ]),
  );
  await waitForPort(redisPort, 10_000, redis, 'redis-server');
  return {
    dir,
    databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    psql(sql) {
      const [cmd, args] = asPostgres(join(bin, 'psql'), [
        '-h',
        '127.0.0.1',
        '-p',
        String(pgPort),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-At',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        sql,
      ]);
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    },
  };
}

/** Starts a provider emulator on a free port, pinned to `core`. */
export async function startEmulator(entry, core, env, log) {
  const port = await freePort();
  const child = startChild(...pinned(core, process.execPath, [entry]), {
    env: { ...process.env, ...env, EMULATOR_PORT: String(port), EMULATOR_HOST: '127.0.0.1' },
    log,
  });
  await waitForPort(port, 15_000, child, 'provider emulator');
  return { child, port, url: `http://127.0.0.1:${port}` };
}

/** utime+stime of a process in clock ticks, from /proc/<pid>/stat (children excluded). */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}

let tickHz;
export function ticksPerSecond() {
  if (tickHz === undefined) {
    try {
      tickHz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      tickHz = 100;
    }
  }
  return tickHz;
}

/** Resident set size in MB from /proc/<pid>/status (VmRSS). */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Busy clock ticks per core from /proc/stat (user+nice+system+irq+softirq+steal), e.g. { cpu0: n, cpu1: n }. */
export function coreBusyTicks() {
  const busy = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, , , irq, softirq, steal] = m[2].split(/\s+/).map(Number);
    busy[m[1]] = user + nice + system + irq + softirq + (steal || 0);
  }
  return busy;
}
