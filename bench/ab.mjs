#!/usr/bin/env node
// A/B of two builds of the gateway: `node bench/ab.mjs <dirA> <dirB> [rounds] [seconds]`, where each dir holds a
// `dist/` (e.g. copies of dist/ before and after a change). Both gateways run at once on the same PostgreSQL, Redis
// and emulator, pinned to core 0 like in run.mjs, and take turns under 64 connections (A B B A A B …) so drift on
// a shared machine falls on both alike. Prints CPU µs per request and req/s per round, and the medians.
// `AB_ENV_B="FAST_ROUTES=false"` gives B settings of its own: one build against itself with a switch flipped.
import { join, resolve } from 'node:path';
import { existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  cleanupAll,
  cpuTicks,
  freePort,
  installSignalHandlers,
  pinned,
  registerCleanup,
  rssMb,
  startChild,
  startEmulator,
  startServices,
  ticksPerSecond,
  waitForHttp,
} from './lib/procs.mjs';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(BENCH, '..');
const [dirA, dirB] = process.argv.slice(2, 4).map((d) => resolve(d));
const ROUNDS = Number(process.argv[4] ?? 6);
const SECONDS = Number(process.argv[5] ?? 8);
const CONNECTIONS = Number(process.env.AB_CONNECTIONS ?? 64);
const ADMIN_KEY = 'xr-bench-admin-key-0123456789abcdef';
const BODY = JSON.stringify({
  model: 'mws-gpt-alpha',
  messages: [{ role: 'user', content: 'Hello! How are you today?' }],
});
if (!dirA || !dirB) {
  console.error('node bench/ab.mjs <dirA with dist/> <dirB with dist/> [rounds] [seconds]');
  process.exit(64);
}

/** `AB_ENV_B="FAST_ROUTES=false OTHER=1"`: settings for B only, to A/B one build against itself with a switch. */
function envOf(spec = '') {
  return Object.fromEntries(spec.split(/\s+/).filter(Boolean).map((pair) => pair.split(/=(.*)/s).slice(0, 2)));
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * A build's directory made runnable: the repository's node_modules and package.json linked beside its dist/ (Node
 * resolves a module's real path, so they must sit next to it), and an entry under the bench's own name.
 */
function rootOf(dir) {
  for (const name of ['node_modules', 'package.json']) {
    if (!existsSync(join(dir, name))) symlinkSync(join(REPO, name), join(dir, name));
  }
  const entry = join(dir, 'xrouter-ab-gateway.js');
  if (!existsSync(entry)) symlinkSync(join(dir, 'dist/apps/gateway/src/main.js'), entry);
  return dir;
}

async function startGateway(name, root, services, config, extraEnv = {}) {
  const port = await freePort();
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  Object.assign(env, {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    ADMIN_API_KEY: ADMIN_KEY,
    XROUTER_CONFIG: config,
    LOG_LEVEL: 'info',
    RATE_LIMIT_RPS: '100000',
    RATE_LIMIT_BURST: '1000000',
    ...extraEnv,
  });
  const log = join(os.tmpdir(), `xrouter-ab-${name}.log`);
  const child = startChild(...pinned(0, process.execPath, [join(root, 'xrouter-ab-gateway.js')]), {
    env,
    cwd: root,
    log,
    stdout: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/live`, 60_000, child, name, log);
  const created = await fetch(`${url}/admin/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ name: 'ab', rpm_limit: 1_000_000_000, tpm_limit: 2_000_000_000 }),
  }).then((r) => r.json());
  return { name, pid: child.pid, url: `${url}/v1/chat/completions`, key: created.key };
}

function load(target, seconds) {
  return new Promise((done, fail) => {
    const job = {
      kind: 'closed',
      url: target.url,
      headers: { authorization: `Bearer ${target.key}` },
      body: BODY,
      connections: CONNECTIONS,
      seconds,
    };
    const child = spawn(...pinned(1, process.execPath, [join(BENCH, 'lib/load-worker.mjs'), JSON.stringify(job)]), {
      cwd: BENCH,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', () => {
      try {
        done(JSON.parse(out.trim().split('\n').pop()));
      } catch (error) {
        fail(error);
      }
    });
  });
}

async function measure(target) {
  const before = cpuTicks(target.pid);
  const result = await load(target, SECONDS);
  const cpu = ((cpuTicks(target.pid) - before) / ticksPerSecond()) * 1e6;
  return { us: cpu / Math.max(1, result.ok), rps: result.rps, failures: result.non2xx + result.errors };
}

async function main() {
  installSignalHandlers();
  const services = await startServices(1);
  const emulatorEntry = join(dirA, 'dist/apps/provider-emulator/src/main.js');
  if (!existsSync(emulatorEntry)) throw new Error(`${emulatorEntry} is missing`);
  const emulator = await startEmulator(emulatorEntry, 1, { EMULATOR_LATENCY_MS: '0' }, 'ignore');
  const config = join(os.tmpdir(), `xrouter-ab-${process.pid}.yaml`);
  registerCleanup(() => rmSync(config, { force: true }));
  writeFileSync(
    config,
    `providers:
  - id: mts
    type: openai
    profile: mts
    base_url: ${emulator.url}/mts/v1
    accounts: [{ id: main, api_key: emulator-mts-key }]
models:
  - name: mws-gpt-alpha
    deployments: [{ provider: mts, model: mws-gpt-alpha }]
    pricing: { prompt_per_1k: 0.15, completion_per_1k: 0.3 }
`,
  );
  const a = await startGateway('A', rootOf(dirA), services, config);
  const b = await startGateway('B', rootOf(dirB), services, config, envOf(process.env.AB_ENV_B));
  for (const t of [a, b]) await load(t, 4); // warm-up (JIT)
  const figures = { A: [], B: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 ? [b, a] : [a, b]) {
      const m = await measure(t);
      figures[t.name].push(m);
      console.log(
        `round ${r + 1} ${t.name}: ${m.us.toFixed(0)} µs/req, ${m.rps.toFixed(0)} req/s` +
          (m.failures ? `, failures ${m.failures}` : ''),
      );
    }
  }
  for (const t of [a, b]) {
    const f = figures[t.name];
    console.log(
      `${t.name} (${t.name === 'A' ? dirA : dirB}): median ${median(f.map((x) => x.us)).toFixed(0)} µs/req, ` +
        `${median(f.map((x) => x.rps)).toFixed(0)} req/s, RSS ${rssMb(t.pid)} MB`,
    );
  }
  const ratio = median(figures.B.map((x) => x.us)) / median(figures.A.map((x) => x.us));
  console.log(`B/A CPU per request: ${ratio.toFixed(3)}`);
}

main()
  .then(() => cleanupAll())
  .then(() => process.exit(0))
  .catch(async (error) => {
    console.error(error);
    await cleanupAll(2_000);
    process.exit(1);
  });
