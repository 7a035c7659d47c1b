import { createConnection } from 'node:net';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes';

/**
 * A private PostgreSQL and Redis on loopback for a test that needs servers of its own (several replicas cannot
 * share an embedded database). Uses the system packages `scripts/system-packages.sh` installs.
 */
export interface LocalServices {
  databaseUrl: string;
  redisUrl: string;
  /** Stops PostgreSQL only (fast shutdown: connections are cut), to simulate an outage. */
  stopPostgres(): void;
  startPostgres(): void;
  stop(): Promise<void>;
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(a) - Number(b)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: run bash scripts/system-packages.sh');
  return join(root, versions[versions.length - 1], 'bin');
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user the Debian package creates. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

/** A private redis-server on 127.0.0.1 (no persistence), once it accepts connections. */
export async function startRedis(port?: number): Promise<{ url: string; stop(): void }> {
  const redisPort = port ?? (await freePort());
  const redis = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    try {
      await new Promise<void>((ok, fail) => {
        const socket = createConnection(redisPort, '127.0.0.1', () => {
          socket.end();
          ok();
        });
        socket.once('error', fail);
      });
      break;
    } catch (error) {
      if (i > 100) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url: `redis://127.0.0.1:${redisPort}`, stop: () => redis.kill('SIGTERM') };
}

export async function startLocalServices(): Promise<LocalServices> {
  const dir = mkdtempSync(join(tmpdir(), 'xrouter-services-'));
  chmodSync(dir, 0o777);
  const bin = postgresBin();
  const data = join(dir, 'pg');
  const [pgPort, redisPort] = [await freePort(), await freePort()];
  execFileSync(...asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']), {
    stdio: 'ignore',
  });
  const startPostgres = () =>
    execFileSync(
      ...asPostgres(join(bin, 'pg_ctl'), [
        '-D',
        data,
        '-l',
        join(dir, 'pg.log'),
        '-w',
        '-o',
        `-c listen_addresses=127.0.0.1 -c port=${pgPort} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`,
        'start',
      ]),
      { stdio: 'ignore' },
    );
  const stopPostgres = () =>
    execFileSync(...asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']), { stdio: 'ignore' });
  startPostgres();
  const redis = await startRedis(redisPort);
  return {
    databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
    redisUrl: redis.url,
    stopPostgres,
    startPostgres,
    stop: async () => {
      redis.stop();
      try {
        stopPostgres();
      } catch {
        // already stopped
      }
      await new Promise((r) => setTimeout(r, 50));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
