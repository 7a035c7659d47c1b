import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, RunningProcess, startEmulator, startGateway, writeRoutingConfig } from './processes';

/**
 * The production topology on one machine: three gateway processes sharing one PostgreSQL and one Redis, behind
 * nginx (round-robin, passive health checks, retry on connection failure), all on loopback, with one provider
 * emulator (two of its providers: MTS and T-Bank) as their upstream. Used by the multi-replica tests; `startCluster()` also works from a REPL.
 */
export interface Cluster {
  /** nginx, the address clients use. */
  url: string;
  replicas: RunningProcess[];
  emulator: RunningProcess;
  stop(): Promise<void>;
}

/** A short random tag: the replicas of one cluster share it as their store key prefix. */
function randomTag(): string {
  return Math.random().toString(36).slice(2, 10);
}

export const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';

function nginxConfig(dir: string, port: number, upstreams: number[]): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream xrouter {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 20m;
    location / {
      proxy_pass http://xrouter;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Request-Id $http_x_request_id;
      proxy_buffering off;
      proxy_read_timeout 300s;
      # A replica that refuses, resets or is going away: try the next one, POSTs included (nothing reached a model).
      # Not on 503: that is a provider's outage, the same on every replica, and must not mark replicas as failed.
      proxy_next_upstream error timeout http_502 non_idempotent;
      proxy_next_upstream_tries 3;
    }
  }
}
`;
}

export async function startCluster(env: Record<string, string | undefined>, replicas = 3): Promise<Cluster> {
  if (!env.DATABASE_URL || !env.REDIS_URL) throw new Error('A cluster needs DATABASE_URL and REDIS_URL');
  const emulator = await startEmulator();
  const config = writeRoutingConfig(`
providers:
  - id: mts
    type: openai
    profile: mts
    base_url: ${emulator.url}/mts/v1
    accounts: [{ id: main, api_key: emulator-mts-key }]
  - id: tbank
    type: openai
    profile: tbank
    base_url: ${emulator.url}/tbank/v1
    accounts: [{ id: main, api_key: emulator-tbank-key }]
models:
  - name: mws-gpt-alpha
    deployments: [{ provider: mts, model: mws-gpt-alpha }]
    pricing: { prompt_per_1k: 0.15, completion_per_1k: 0.3 }
  - name: t-pro
    deployments: [{ provider: tbank, model: t-tech/T-pro-it-2.0 }]
    pricing: { prompt_per_1k: 0.2, completion_per_1k: 0.4 }
`);
  const gateways: RunningProcess[] = [];
  const shared = {
    ...env,
    XROUTER_CONFIG: config,
    SHUTDOWN_GRACE_MS: '10000',
    STORE_KEY_PREFIX: `xr-cluster-${randomTag()}:`,
  };
  for (let i = 0; i < replicas; i++) {
    // One after the other: the first applies migrations; the others find them applied (advisory lock either way).
    gateways.push(await startGateway(shared));
  }
  const dir = mkdtempSync(join(tmpdir(), 'xrouter-nginx-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    nginxConfig(
      dir,
      port,
      gateways.map((g) => Number(new URL(g.url).port)),
    ),
  );
  const nginx: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; user root;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let nginxErrors = '';
  nginx.stderr?.on('data', (chunk: Buffer) => (nginxErrors += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}/health/live`);
      break;
    } catch {
      if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${nginxErrors}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    replicas: gateways,
    emulator,
    stop: async () => {
      nginx.kill('SIGQUIT');
      await Promise.all([...gateways.map((g) => g.stop()), emulator.stop()]);
    },
  };
}
