#!/usr/bin/env node
// XRouter benchmark suite — the one command: `node bench/run.mjs [--quick] [--soak]` (after `npm run build`).
// See bench/README.md for the method. Everything it starts listens on 127.0.0.1 and is stopped on exit or Ctrl-C;
// every load loop is bounded in time.
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  cleanupAll,
  coreBusyTicks,
  cores,
  cpuTicks,
  freePort,
  installSignalHandlers,
  pinned,
  registerCleanup,
  rssMb,
  sleep,
  startChild,
  startEmulator,
  startServices,
  stopChild,
  ticksPerSecond,
  waitForHttp,
  waitForPort,
} from './lib/procs.mjs';
import { summariseProfile } from './lib/profile.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const REPO = dirname(BENCH);
// The run uses a snapshot of dist/ taken at its start (node_modules linked), so a rebuild during the run cannot
// change or remove the code under test half-way. Set by snapshotBuild().
let ROOT = REPO;
let GATEWAY_ENTRY = join(ROOT, 'dist/apps/gateway/src/main.js');
let EMULATOR_ENTRY = join(ROOT, 'dist/apps/provider-emulator/src/main.js');

const argv = new Set(process.argv.slice(2));
for (const arg of argv) {
  if (!['--quick', '--soak', '--help', '-h'].includes(arg)) {
    console.error(`unknown argument ${arg}`);
    process.exit(64);
  }
}
if (argv.has('--help') || argv.has('-h')) {
  console.log('node bench/run.mjs [--quick] [--soak]   (run `npm run build` first; see bench/README.md)');
  process.exit(0);
}
const QUICK = argv.has('--quick');
const SOAK = argv.has('--soak');
const P = {
  pointS: QUICK ? 3 : 10,
  warmupS: QUICK ? 2 : 5,
  repeats: QUICK ? 1 : 3,
  concurrency: [1, 16, 64],
  streamsPerRun: QUICK ? 10 : 40,
  streamRepeats: QUICK ? 1 : 3,
  // Unpaced streams per target before the paced runs, so the stream-only code (SSE parsing and writing) is
  // JIT-compiled as in a serving gateway rather than measured cold; the closed loop warms only the plain path.
  streamWarmup: QUICK ? 50 : 300,
  profileS: QUICK ? 4 : 15,
  usageStepS: QUICK ? 3 : 10,
  usageRates: [5_000, 10_000, 20_000, 40_000, 80_000, 160_000],
  soakS: Number(process.env.BENCH_SOAK_S) || 600, // override only to try the soak path quickly
  soakSampleS: 10,
};
const MULTI_CORE = cores() >= 2;
const GATEWAY_CORE = MULTI_CORE ? 0 : null;
const LOAD_CORE = MULTI_CORE ? 1 : null;
const ADMIN_KEY = 'xr-bench-admin-key-0123456789abcdef';
const MTS_KEY = 'emulator-mts-key';
const MODEL = 'mws-gpt-alpha';
const PACED_MODEL = 'mws-gpt-alpha-paced';
const BODY = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hello! How are you today?' }] });

// Every stream asks for the usage chunk: XRouter always asks its upstream for it, so the emulator sends the same
// frames (and paces the same number of chunk delays) to all three clients.
const STREAM_BODY = JSON.stringify({ ...JSON.parse(BODY), stream: true, stream_options: { include_usage: true } });

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const RESULTS = join(BENCH, 'results');
const RUN_DIR = join(RESULTS, stamp);
mkdirSync(RUN_DIR, { recursive: true });

const log = (...parts) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
const round = (x, d = 2) =>
  x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d;
function median(values) {
  const v = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}
const spread = (values) => {
  const v = values.filter((x) => x !== null && x !== undefined);
  return v.length ? { median: median(v), min: Math.min(...v), max: Math.max(...v) } : null;
};

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const mhz = /cpu MHz\s*:\s*(.*)/.exec(cpuinfo)?.[1];
  return {
    nproc: cores(),
    cpu: model,
    cpuMHz: mhz ? Number(mhz) : null,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: os.release(),
    pinning: MULTI_CORE
      ? 'gateway under test: core 0; load generator, emulators, PostgreSQL, Redis: core 1'
      : 'single core: no pinning',
  };
}

// ---------------------------------------------------------------- setup

/** Copies dist/ (waiting up to 2 min if a build is under way) into a private directory with node_modules linked. */
async function snapshotBuild() {
  const entries = [
    'dist/apps/gateway/src/main.js',
    'dist/apps/provider-emulator/src/main.js',
    'dist/libs/usage/src/index.js',
  ];
  const ready = () => entries.every((e) => existsSync(join(REPO, e)));
  if (!existsSync(join(REPO, 'dist'))) throw new Error('dist/ does not exist: run `npm run build` first');
  for (let waited = 0; !ready(); waited += 2) {
    if (waited >= 120)
      throw new Error(
        `dist/ is incomplete (${entries.filter((e) => !existsSync(join(REPO, e))).join(', ')}): run \`npm run build\``,
      );
    if (waited === 0) log('dist/ is incomplete (a build under way?): waiting up to 2 min');
    await sleep(2_000);
  }
  await sleep(1_000); // a build that just wrote main.js may still be writing its neighbours
  const snap = mkdtempSync(join(os.tmpdir(), 'xrouter-bench-build-'));
  registerCleanup(() => rmSync(snap, { recursive: true, force: true }));
  cpSync(join(REPO, 'dist'), join(snap, 'dist'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(snap, 'node_modules'), 'dir');
  cpSync(join(REPO, 'package.json'), join(snap, 'package.json'));
  ROOT = snap;
  // Started through symlinks whose names are the bench's own: the machine is shared, and a neighbour's cleanup by
  // command line (`pkill -f dist/apps/gateway/src/main.js`) must not stop the gateway under test half-way. Node
  // resolves the entry's real path, so its relative imports are unchanged.
  GATEWAY_ENTRY = join(ROOT, 'xrouter-bench-gateway.js');
  EMULATOR_ENTRY = join(ROOT, 'xrouter-bench-emulator.js');
  symlinkSync(join(ROOT, 'dist/apps/gateway/src/main.js'), GATEWAY_ENTRY);
  symlinkSync(join(ROOT, 'dist/apps/provider-emulator/src/main.js'), EMULATOR_ENTRY);
  const built = statSync(join(REPO, 'dist/apps/gateway/src/main.js')).mtime.toISOString();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'apps', 'libs'], {
      encoding: 'utf8',
    });
    if (dirty.trim()) commit += ' + uncommitted changes in apps/ libs/';
  } catch {
    // not a git checkout
  }
  return { builtAt: built, commit };
}

function ensureTools() {
  const installed = (name) => {
    try {
      return JSON.parse(readFileSync(join(BENCH, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  const wanted = JSON.parse(readFileSync(join(BENCH, 'package.json'), 'utf8'));
  const need = [...Object.entries(wanted.dependencies), ...Object.entries(wanted.overrides ?? {})]
    .filter(([name, version]) => installed(name) !== version)
    .map(([name]) => name);
  if (need.length > 0) {
    log(`installing the bench's own dependencies (${need.join(', ')}) with npm install --prefix bench`);
    execFileSync('npm', ['install', '--prefix', BENCH, '--no-audit', '--no-fund', '--loglevel=error'], {
      stdio: 'inherit',
    });
  }
}

const LITELLM_SPEC = 'litellm[proxy]==1.80.0';
const VENV = join(BENCH, '.venv');
const LITELLM_BIN = join(VENV, 'bin', 'litellm');

/**
 * LiteLLM's proxy in a venv of the bench's own (bench/.venv, git-ignored), installed once with pip. Returns its
 * version, or throws with pip's own words when it cannot be installed.
 */
function ensureLiteLLM() {
  const version = () => {
    try {
      return execFileSync(
        join(VENV, 'bin', 'python'),
        ['-c', 'import importlib.metadata as m; print(m.version("litellm"))'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      ).trim();
    } catch {
      return null;
    }
  };
  const wanted = LITELLM_SPEC.split('==')[1];
  if (version() === wanted && existsSync(LITELLM_BIN)) return wanted;
  log(`installing ${LITELLM_SPEC} into bench/.venv (python3 -m venv + pip; about a minute)`);
  try {
    if (!existsSync(join(VENV, 'bin', 'python'))) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'pipe' });
    execFileSync(join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', LITELLM_SPEC], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15 * 60_000,
      maxBuffer: 64 * 2 ** 20,
    });
  } catch (error) {
    const said = `${error.stderr ?? ''}${error.stdout ?? ''}`.trim().slice(-2000) || String(error.message ?? error);
    throw new Error(
      `could not install ${LITELLM_SPEC} into ${VENV} (needs python3 with venv and pip, and PyPI): ${said}`,
    );
  }
  const got = version();
  if (got !== wanted) throw new Error(`${LITELLM_SPEC} installed but python reports litellm ${got}`);
  return got;
}

/** LiteLLM's config: the two models on the same emulators XRouter uses, as OpenAI-compatible upstreams. */
function liteLLMConfig(emulatorUrl, pacedUrl) {
  return `# Written by bench/run.mjs: LiteLLM proxy, no database, the emulators as OpenAI-compatible upstreams.
model_list:
  - model_name: ${MODEL}
    litellm_params:
      model: openai/${MODEL}
      api_base: ${emulatorUrl}/mts/v1
      api_key: ${MTS_KEY}
  - model_name: ${PACED_MODEL}
    litellm_params:
      model: openai/${MODEL}
      api_base: ${pacedUrl}/mts/v1
      api_key: ${MTS_KEY}
litellm_settings:
  telemetry: false
  set_verbose: false
  drop_params: true
general_settings:
  disable_spend_logs: true
`;
}

async function startLiteLLM(configPath) {
  const port = await freePort();
  const logFile = join(RUN_DIR, 'litellm.log');
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'REDIS_HOST', 'NODE_OPTIONS']) delete env[name];
  Object.assign(env, {
    // No network at start-up (the model price map is read from the package, not fetched) and no telemetry.
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    LITELLM_TELEMETRY: 'False',
    LITELLM_LOG: 'ERROR',
    PYTHONUNBUFFERED: '1',
  });
  const child = startChild(
    ...pinned(GATEWAY_CORE, LITELLM_BIN, [
      '--config',
      configPath,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--num_workers',
      '1',
      '--telemetry',
      'False',
    ]),
    // Its access log (one line per request, like XRouter's info line) goes to /dev/null like XRouter's stdout.
    { env, cwd: RUN_DIR, log: logFile, stdout: openSync('/dev/null', 'w') },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/liveliness`, 120_000, child, 'LiteLLM proxy', logFile);
  return { child, pid: child.pid, url, logFile };
}

/** The floor: bench/lib/floor-proxy.mjs (node:http + undici, JSON parsed both ways), pinned like the gateways. */
async function startFloor(emulatorUrl, pacedUrl) {
  const port = await freePort();
  const logFile = join(RUN_DIR, 'floor.log');
  const job = {
    port,
    upstream: `${emulatorUrl}/mts/v1`,
    // /paced/v1/… goes to the paced emulator (the stream suite), as XRouter's paced model does.
    pacedUpstream: `${pacedUrl}/mts/v1`,
    apiKey: MTS_KEY,
    undici: createRequire(join(ROOT, 'package.json')).resolve('undici'),
  };
  const child = startChild(
    ...pinned(GATEWAY_CORE, process.execPath, [join(BENCH, 'lib', 'floor-proxy.mjs'), JSON.stringify(job)]),
    { env: { ...process.env, NODE_ENV: 'production' }, cwd: BENCH, log: logFile },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForPort(port, 15_000, child, 'floor proxy');
  return { child, pid: child.pid, url, logFile };
}

function routingConfig(emulatorUrl, pacedUrl) {
  return `# Written by bench/run.mjs: one OpenAI-compatible (mts profile) provider on the zero-latency emulator, one on the
# paced emulator for the stream measurements.
defaults:
  timeouts: { connect_ms: 5000, first_token_ms: 30000, total_ms: 300000 }
  retry: { max_attempts: 3, base_delay_ms: 200, max_delay_ms: 5000, max_retry_after_ms: 10000 }
  circuit_breaker: { failure_threshold: 5, window_ms: 30000, cooldown_ms: 15000, half_open_probes: 1 }
providers:
  - id: mts
    type: openai
    profile: mts
    base_url: ${emulatorUrl}/mts/v1
    accounts:
      - id: main
        api_key: ${MTS_KEY}
  - id: mts-paced
    type: openai
    profile: mts
    base_url: ${pacedUrl}/mts/v1
    accounts:
      - id: main
        api_key: ${MTS_KEY}
models:
  - name: ${MODEL}
    deployments:
      - { provider: mts, model: ${MODEL} }
    pricing: { prompt_per_1k: 0.15, completion_per_1k: 0.3 }
  - name: ${PACED_MODEL}
    deployments:
      - { provider: mts-paced, model: ${MODEL} }
    pricing: { prompt_per_1k: 0.15, completion_per_1k: 0.3 }
`;
}

async function startXRouter(services, configPath, { cpuProfDir } = {}) {
  const port = await freePort();
  const env = { ...process.env };
  for (const name of [
    'GIGACHAT_AUTH_KEY',
    'YANDEX_API_KEY',
    'YANDEX_FOLDER_ID',
    'MTS_API_KEY',
    'TBANK_API_KEY',
    'NODE_OPTIONS',
    'LOG_PRETTY',
  ]) {
    delete env[name];
  }
  Object.assign(env, {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    ADMIN_API_KEY: ADMIN_KEY,
    XROUTER_CONFIG: configPath,
    LOG_LEVEL: 'info',
    // The per-credential token bucket (default 10/s, burst 20) stays on — one Redis call per request — but wide
    // enough never to refuse the bench's load; the load key's rpm/tpm limits are set high the same way.
    RATE_LIMIT_RPS: '100000',
    RATE_LIMIT_BURST: '1000000',
  });
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const logFile = join(RUN_DIR, cpuProfDir ? 'xrouter-profiled.stderr.log' : 'xrouter.stderr.log');
  // Production logging stays on (LOG_LEVEL=info, JSON lines); stdout goes to /dev/null so the pipe costs nothing.
  const child = startChild(...pinned(GATEWAY_CORE, process.execPath, [...nodeArgs, GATEWAY_ENTRY]), {
    env,
    cwd: ROOT,
    log: logFile,
    stdout: openSync(process.env.BENCH_GATEWAY_LOG ? `${logFile}.stdout` : '/dev/null', 'w'),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/live`, 60_000, child, 'XRouter', logFile);
  return { child, pid: child.pid, url, logFile };
}

async function startPortkey() {
  const port = await freePort();
  const entry = join(BENCH, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  const logFile = join(RUN_DIR, 'portkey.log');
  const child = startChild(...pinned(GATEWAY_CORE, process.execPath, [entry, `--port=${port}`, '--headless']), {
    env: { ...process.env, NODE_ENV: 'production' },
    cwd: BENCH,
    log: logFile,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, 30_000, child, 'Portkey gateway', logFile);
  return { child, pid: child.pid, url, logFile };
}

async function http(method, url, { headers = {}, body } = {}) {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A real API key for the load, created the way an admin would; rpm high enough never to refuse the bench. */
async function createLoadKey(xrouter) {
  const created = await http('POST', `${xrouter.url}/admin/api-keys`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    body: { name: 'bench load', rpm_limit: 1_000_000_000, tpm_limit: 2_000_000_000 },
  });
  if (created.status !== 201 || !created.json?.key) {
    throw new Error(`POST /admin/api-keys answered ${created.status}: ${created.text.slice(0, 500)}`);
  }
  return created.json.key;
}

// ---------------------------------------------------------------- load

function runWorker(script, job, limitS) {
  return new Promise((resolve, reject) => {
    const child = spawn(...pinned(LOAD_CORE, process.execPath, [join(BENCH, 'lib', script), JSON.stringify(job)]), {
      cwd: BENCH,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      if (process.env.BENCH_VERBOSE) process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      let result = null;
      try {
        result = line ? JSON.parse(line) : null;
      } catch {
        // reported below
      }
      if (!result || result.error) {
        reject(new Error(`${script} failed (exit ${code}): ${result?.error ?? ''}\n${err.slice(-2000)}`));
      } else resolve(result);
    });
  });
}

/** One closed-loop point; CPU of the measured process read from /proc around it. */
async function point(target, connections, seconds) {
  const hz = ticksPerSecond();
  const before = cpuTicks(target.pid);
  const coreBefore = coreBusyTicks();
  const result = await runWorker(
    'load-worker.mjs',
    { kind: 'closed', url: target.url, headers: target.headers, body: BODY, connections, seconds },
    seconds + 60,
  );
  const ticks = cpuTicks(target.pid) - before;
  const coreAfter = coreBusyTicks();
  // CPU on the gateway's core that was not the measured process: other programs on the machine (should be ~0).
  const gatewayCore = `cpu${GATEWAY_CORE ?? 0}`;
  const foreign =
    (coreAfter[gatewayCore] - coreBefore[gatewayCore] - (target.name === 'direct' ? 0 : ticks)) / hz / result.seconds;
  answered[target.name] = (answered[target.name] ?? 0) + result.requests;
  const cpuUsPerReq = result.ok > 0 ? ((ticks / hz) * 1e6) / result.ok : null;
  return {
    target: target.name,
    connections,
    rps: round(result.rps, 0),
    p50: round(result.latencyMs.p50, 3),
    p90: round(result.latencyMs.p90, 3),
    p99: round(result.latencyMs.p99, 3),
    max: round(result.latencyMs.max, 3),
    ok: result.ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpuUsPerReq: round(cpuUsPerReq, 0),
    cpuCores: round(ticks / hz / result.seconds, 2),
    foreignCore0: target.name === 'direct' ? null : round(Math.max(0, foreign), 2),
    rssMb: rssMb(target.pid),
  };
}

/** Requests each target answered (any status), warm-ups included: reconciles XRouter's usage rows. */
const answered = {};

const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

async function closedLoopSuite(targets) {
  log(`warm-up: ${P.warmupS} s at 64 connections per target`);
  for (const target of targets) {
    const warm = await point(target, 64, P.warmupS);
    log(`  ${target.name}: ${warm.rps} req/s, non-2xx ${warm.non2xx}, errors ${warm.errors}`);
    if (warm.ok === 0) throw new Error(`${target.name} answered no request with 2xx during the warm-up`);
  }
  const points = [];
  for (let r = 0; r < P.repeats; r++) {
    for (let ci = 0; ci < P.concurrency.length; ci++) {
      const c = P.concurrency[ci];
      // Alternate the order: each target takes each slot in turn, so drift (heat, GC, table growth) is shared out.
      for (const target of rotate(targets, r + ci)) {
        const p = await point(target, c, P.pointS);
        p.repeat = r + 1;
        points.push(p);
        log(
          `  r${r + 1} c=${String(c).padStart(2)} ${target.name.padEnd(8)} ${String(p.rps).padStart(6)} req/s ` +
            `p50 ${p.p50} ms p99 ${p.p99} ms cpu ${p.cpuUsPerReq} µs/req rss ${p.rssMb} MB` +
            (p.non2xx || p.errors ? `  non-2xx ${p.non2xx} errors ${p.errors}` : ''),
        );
        await sleep(500);
      }
    }
  }
  return points;
}

function aggregate(points, targets) {
  const rows = [];
  for (const c of P.concurrency) {
    const direct = points.filter((p) => p.target === 'direct' && p.connections === c);
    for (const target of targets) {
      const mine = points.filter((p) => p.target === target.name && p.connections === c);
      // Added latency per repeat (same repeat = same minute of the run), then the median over repeats.
      const addedP50 = mine.map((p) => {
        const d = direct.find((x) => x.repeat === p.repeat);
        return d ? p.p50 - d.p50 : null;
      });
      const addedP99 = mine.map((p) => {
        const d = direct.find((x) => x.repeat === p.repeat);
        return d ? p.p99 - d.p99 : null;
      });
      rows.push({
        target: target.name,
        connections: c,
        rps: spread(mine.map((p) => p.rps)),
        p50: spread(mine.map((p) => p.p50)),
        p99: spread(mine.map((p) => p.p99)),
        addedP50: target.name === 'direct' ? null : spread(addedP50),
        addedP99: target.name === 'direct' ? null : spread(addedP99),
        cpuUsPerReq: spread(mine.map((p) => p.cpuUsPerReq)),
        failures: mine.reduce((a, p) => a + p.non2xx + p.errors + p.timeouts, 0),
        foreignCore0: target.name === 'direct' ? null : median(mine.map((p) => p.foreignCore0)),
      });
    }
  }
  return rows;
}

async function streamSuite(targets) {
  const pooled = Object.fromEntries(targets.map((t) => [t.name, { ttfb: [], ttft: [], total: [], runs: [] }]));
  for (const target of targets) {
    const warmed = await runWorker(
      'load-worker.mjs',
      { kind: 'streams', ...target.warmup, count: P.streamWarmup, warmup: 0, seconds: 60 },
      120,
    );
    log(`  warm-up ${target.name.padEnd(8)} ${warmed.streams} unpaced streams, failures ${warmed.failures}`);
  }
  for (let r = 0; r < P.streamRepeats; r++) {
    for (const target of rotate(targets, r)) {
      const result = await runWorker(
        'load-worker.mjs',
        {
          kind: 'streams',
          url: target.url,
          headers: target.headers,
          body: target.body,
          count: P.streamsPerRun,
          warmup: 3,
          seconds: 60,
        },
        120,
      );
      if (result.streams === 0) throw new Error(`${target.name}: no stream completed (${result.lastError})`);
      pooled[target.name].runs.push(result);
      log(
        `  r${r + 1} ${target.name.padEnd(8)} ${result.streams} streams: TTFB p50 ${round(result.ttfbMs.p50, 3)} ms, ` +
          `first token p50 ${round(result.ttftMs.p50, 3)} ms, total p50 ${round(result.totalMs.p50, 1)} ms` +
          (result.failures || result.incomplete
            ? `  failures ${result.failures} incomplete ${result.incomplete} ${result.lastError ?? ''}`
            : ''),
      );
    }
  }
  const rows = [];
  const metric = (name, key, field) => median(pooled[name].runs.map((run) => run[key][field]));
  for (const target of targets) {
    const runs = pooled[target.name].runs;
    const row = {
      target: target.name,
      streams: runs.reduce((a, run) => a + run.streams, 0),
      failures: runs.reduce((a, run) => a + run.failures + run.incomplete, 0),
      ttfbP50: round(metric(target.name, 'ttfbMs', 'p50'), 3),
      ttfbP99: round(metric(target.name, 'ttfbMs', 'p99'), 3),
      ttftP50: round(metric(target.name, 'ttftMs', 'p50'), 3),
      ttftP99: round(metric(target.name, 'ttftMs', 'p99'), 3),
      totalP50: round(metric(target.name, 'totalMs', 'p50'), 2),
      totalP99: round(metric(target.name, 'totalMs', 'p99'), 2),
    };
    rows.push(row);
  }
  const direct = rows.find((r) => r.target === 'direct');
  for (const row of rows) {
    if (row === direct) continue;
    row.addedTtfbP50 = round(row.ttfbP50 - direct.ttfbP50, 3);
    row.addedTtftP50 = round(row.ttftP50 - direct.ttftP50, 3);
    row.addedTotalP50 = round(row.totalP50 - direct.totalP50, 2);
  }
  return rows;
}

/** V8 heap and external memory from XRouter's own /metrics (prom-client default metrics), in MB. */
async function nodeMemory(url) {
  try {
    const metrics = await http('GET', `${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const value = (name) => {
      const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(metrics.text);
      return match ? round(Number(match[1]) / 2 ** 20, 1) : null;
    };
    return {
      heapUsedMb: value('nodejs_heap_size_used_bytes'),
      heapTotalMb: value('nodejs_heap_size_total_bytes'),
      externalMb: value('nodejs_external_memory_bytes'),
      residentMb: value('process_resident_memory_bytes'),
    };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- usage rows

function tableExists(services, name) {
  return services.psql(`SELECT to_regclass('public.${name}') IS NOT NULL`) === 't';
}

function countRequestLogs(services) {
  return tableExists(services, 'request_logs') ? Number(services.psql('SELECT count(*) FROM request_logs')) : null;
}

// ---------------------------------------------------------------- profile

async function profileRun(services, configPath, loadKey) {
  const dir = join(RUN_DIR, 'profile');
  mkdirSync(dir, { recursive: true });
  const gateway = await startXRouter(services, configPath, { cpuProfDir: dir });
  const target = {
    name: 'xrouter',
    url: `${gateway.url}/v1/chat/completions`,
    headers: { authorization: `Bearer ${loadKey}` },
    pid: gateway.pid,
  };
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  await point(target, 64, Math.min(5, P.warmupS));
  const windows = {};
  for (const c of [64, 1]) {
    const from = nowUs();
    const measured = await point(target, c, P.profileS);
    windows[c] = { from, to: nowUs(), measured };
    log(`  profiled run: ${measured.rps} req/s at ${c} connection(s) (profiler on), p50 ${measured.p50} ms`);
  }
  await stopChild(gateway.child, 'SIGTERM', 20_000);
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${dir}`);
  const file = join(dir, files[0]);
  const result = { file: relative(REPO, file) };
  for (const c of [64, 1]) {
    const summary = summariseProfile(file, ROOT, 15, [windows[c].from, windows[c].to]);
    summary.file = relative(REPO, summary.file);
    // The window (monotonic µs) stays in the JSON, so the .cpuprofile can be read again for the same samples.
    result[`c${c}`] = { measured: windows[c].measured, window: [windows[c].from, windows[c].to], summary };
  }
  // Kept for the report's headline (concurrency 64).
  result.measured = result.c64.measured;
  result.summary = result.c64.summary;
  return result;
}

// ---------------------------------------------------------------- soak

async function soak(target) {
  const samples = [];
  const started = Date.now();
  const sampler = setInterval(() => {
    try {
      samples.push({ s: Math.round((Date.now() - started) / 1000), rssMb: rssMb(target.pid) });
    } catch {
      // process gone: the point fails below
    }
  }, P.soakSampleS * 1000);
  try {
    const result = await point(target, 64, P.soakS);
    samples.push({ s: Math.round((Date.now() - started) / 1000), rssMb: result.rssMb });
    const firstMinute = samples.filter((x) => x.s <= 60);
    const lastMinute = samples.filter((x) => x.s >= P.soakS - 60);
    return {
      seconds: P.soakS,
      rps: result.rps,
      p50: result.p50,
      p99: result.p99,
      failures: result.non2xx + result.errors + result.timeouts,
      rssFirstMinuteMaxMb: Math.max(...firstMinute.map((x) => x.rssMb)),
      rssLastMinuteMaxMb: Math.max(...lastMinute.map((x) => x.rssMb)),
      rssMaxMb: Math.max(...samples.map((x) => x.rssMb)),
      samples,
    };
  } finally {
    clearInterval(sampler);
  }
}

// ---------------------------------------------------------------- report

const fmt = (s, d = 0) => (s ? `${round(s.median, d)} (${round(s.min, d)}–${round(s.max, d)})` : '—');

function markdown(report) {
  const out = [];
  const m = report.machine;
  out.push(`### Run ${report.startedAt} (${report.mode})`, '');
  out.push(
    `Machine: ${m.nproc} cores, ${m.cpu}${m.cpuMHz ? ` @ ${Math.round(m.cpuMHz)} MHz` : ''}, ${m.memoryGiB} GiB, ` +
      `Node ${m.node}, Linux ${m.kernel}. Pinning: ${m.pinning}.`,
  );
  out.push(
    `Build under test: dist/ built ${report.build.builtAt} (${report.build.commit}). ` +
      `Portkey ${report.versions.portkey}, LiteLLM ${report.versions.litellm} (one worker, no database).`,
  );
  out.push(
    `Other programs before the run: ${m.loadBefore.busyCores} cores busy${m.loadBefore.busy ? ' (**not quiet: figures are disturbed**)' : ''}; ` +
      "'other load on core 0' below = CPU on the gateway's core not used by the measured gateway (cores).",
  );
  out.push(
    `XRouter features on: ${Object.entries(report.features)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.`,
    '',
  );
  out.push(
    `Closed loop, ${report.protocol.pointS} s per point after a ${report.protocol.warmupS} s warm-up, ` +
      `${report.protocol.repeats} repeat(s) in rotating order; median (min–max) over repeats. ` +
      'Latency in ms; added = target − direct in the same repeat.',
    '',
  );
  out.push(
    '| target | conc. | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | gateway CPU µs/req | failures | other load on core 0 |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of report.closedLoop) {
    out.push(
      `| ${row.target} | ${row.connections} | ${fmt(row.rps)} | ${fmt(row.p50, 3)} | ${fmt(row.p99, 3)} | ` +
        `${fmt(row.addedP50, 3)} | ${fmt(row.addedP99, 3)} | ${row.target === 'direct' ? `(emulator) ${fmt(row.cpuUsPerReq)}` : fmt(row.cpuUsPerReq)} | ${row.failures} | ${row.foreignCore0 ?? '—'} |`,
    );
  }
  out.push(
    '',
    `RSS idle before the load: ${Object.entries(report.rssIdleMb)
      .map(([k, v]) => `${k} ${v} MB`)
      .join(', ')}; ` +
      `after the load: ${Object.entries(report.rssAfterLoadMb)
        .map(([k, v]) => `${k} ${v} MB`)
        .join(', ')}.` +
      (report.xrouterMemory
        ? ` XRouter's V8 heap after the load: ${report.xrouterMemory.heapUsedMb} MB used of ${report.xrouterMemory.heapTotalMb} MB, external ${report.xrouterMemory.externalMb} MB.`
        : ''),
  );
  if (report.streams) {
    out.push(
      '',
      `Streams (emulator: ${report.protocol.streamChunks} chunks ${report.protocol.streamChunkDelayMs} ms apart), ` +
        `${report.protocol.streamsPerRun} sequential streams × ${report.protocol.streamRepeats} run(s) per target; ` +
        'median over runs of each run’s p50/p99, ms:',
      '',
      '| target | streams | TTFB p50 | TTFB p99 | first token p50 | first token p99 | total p50 | total p99 | added TTFB p50 | added first token p50 | added total p50 | failures |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const s of report.streams) {
      out.push(
        `| ${s.target} | ${s.streams} | ${s.ttfbP50} | ${s.ttfbP99} | ${s.ttftP50} | ${s.ttftP99} | ${s.totalP50} | ` +
          `${s.totalP99} | ${s.addedTtfbP50 ?? '—'} | ${s.addedTtftP50 ?? '—'} | ${s.addedTotalP50 ?? '—'} | ${s.failures} |`,
      );
    }
  }
  if (report.usageWrite) {
    const u = report.usageWrite;
    out.push('', `Usage rows: ${u.endToEnd}`);
    if (u.recorder?.steps) {
      out.push(
        '',
        `Recorder → PostgreSQL (UsageRecorder + SqlRequestLogWriter from dist/, batch ${u.recorder.batchSize}, ` +
          `interval ${u.recorder.flushIntervalMs} ms, buffer ${u.recorder.bufferMax}), ${report.protocol.usageStepS} s per step:`,
        '',
        '| offered rows/s | written rows/s | max buffered | backlog at end | drain ms | dropped | sustained |',
        '|---:|---:|---:|---:|---:|---:|---|',
      );
      for (const s of u.recorder.steps) {
        out.push(
          `| ${s.offeredPerS} | ${s.writtenPerS} | ${s.maxBuffered} | ${s.backlogAtEnd} | ${s.drainMs} | ${s.dropped} | ${s.sustained ? 'yes' : 'no'} |`,
        );
      }
      out.push(
        '',
        `Sustained without drops: **${u.recorder.sustainedRowsPerS} rows/s** (peak written ${u.recorder.peakWrittenRowsPerS} rows/s; ` +
          `${u.recorder.rowsInserted} rows inserted, ${u.recorder.recorderDropped} dropped).`,
      );
    } else if (u.recorder?.error) out.push('', `Recorder benchmark failed: ${u.recorder.error}`);
  }
  if (report.profile) {
    for (const c of [64, 1]) {
      const p = report.profile[`c${c}`];
      if (!p) continue;
      out.push(
        '',
        `CPU profile (\`node --cpu-prof\`), ${c} connection(s), ${report.protocol.profileS} s` +
          `${p.summary.windowed ? ' (only the samples of this load window)' : ' (whole process life: window filter found no sample)'}; ` +
          `${p.measured.rps} req/s with the profiler on, idle ${p.summary.idlePct} % — top functions by self time:`,
        '',
        '| # | self % | function | location |',
        '|---:|---:|---|---|',
      );
      p.summary.topFunctions.forEach((f, i) =>
        out.push(`| ${i + 1} | ${f.selfPct} | \`${f.function}\` | ${f.location || '—'} |`),
      );
      out.push(
        '',
        `Share of busy time by package / area, ${c} connection(s) (self = in its own code; inclusive = anywhere on the stack):`,
        '',
        '| area | self % | | area | inclusive % of busy |',
        '|---|---:|---|---|---:|',
      );
      const rows = Math.max(p.summary.topAreas.length, p.summary.inclusiveAreas.length);
      for (let i = 0; i < Math.min(rows, 12); i++) {
        const a = p.summary.topAreas[i];
        const b = p.summary.inclusiveAreas[i];
        out.push(`| ${a?.area ?? ''} | ${a?.selfPct ?? ''} | | ${b?.area ?? ''} | ${b?.pctOfBusy ?? ''} |`);
      }
    }
  }
  if (report.soak) {
    const s = report.soak;
    out.push(
      '',
      `Soak: XRouter at 64 connections for ${s.seconds} s: ${s.rps} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms, ` +
        `failures ${s.failures}; RSS max in the first minute ${s.rssFirstMinuteMaxMb} MB, in the last minute ` +
        `${s.rssLastMinuteMaxMb} MB, overall max ${s.rssMaxMb} MB.`,
    );
  }
  if (report.ratios?.length) {
    out.push(
      '',
      '#### Against the floor (same run)',
      '',
      'floor = bench/lib/floor-proxy.mjs (node:http + undici, JSON parsed and re-serialised, SSE piped), pinned to ' +
        'core 0 like the gateways. Added latency and TTFB are over the direct call; "over floor" subtracts the floor’s.',
      '',
      '| gateway | req/s at 64 | ÷ floor | CPU µs/req at 64 | ÷ floor | added p50 at 1 ms | over floor | stream added TTFB ms | over floor | RSS idle MB | RSS after load MB |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of report.ratios) {
      out.push(
        `| ${r.target} | ${r.rps64} | ${r.rpsVsFloor ?? '—'} | ${r.cpuUs64} | ${r.cpuVsFloor ?? '—'}× | ` +
          `${r.addedP50At1 === null ? '—' : round(r.addedP50At1, 3)} | ${r.addedP50At1OverFloor ?? '—'} | ` +
          `${r.addedTtfb ?? '—'} | ${r.addedTtfbOverFloor ?? '—'} | ${r.rssIdleMb ?? '—'} | ${r.rssAfterMb ?? '—'} |`,
      );
    }
  }
  out.push('', '#### Targets', '', '| target | goal | measured | met |', '|---|---|---|---|');
  for (const t of report.targets)
    out.push(
      `| ${t.name} | ${t.goal} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : `**no** (${t.gap})`} |`,
    );
  return out.join('\n');
}

/** Each gateway against the floor (and the direct call) in the same run: the figures the targets are read on. */
function ratios(report) {
  const row = (target, c) => report.closedLoop.find((r) => r.target === target && r.connections === c);
  const floor64 = row('floor', 64);
  const floor1 = row('floor', 1);
  const floorStream = report.streams?.find((s) => s.target === 'floor');
  return ['floor', 'xrouter', 'portkey', 'litellm']
    .filter((name) => row(name, 64))
    .map((name) => {
      const c64 = row(name, 64);
      const c1 = row(name, 1);
      const stream = report.streams?.find((s) => s.target === name);
      return {
        target: name,
        rps64: c64.rps?.median ?? null,
        cpuUs64: c64.cpuUsPerReq?.median ?? null,
        cpuVsFloor: floor64?.cpuUsPerReq?.median ? round(c64.cpuUsPerReq.median / floor64.cpuUsPerReq.median, 2) : null,
        rpsVsFloor: floor64?.rps?.median ? round(c64.rps.median / floor64.rps.median, 2) : null,
        addedP50At1: c1?.addedP50?.median ?? null,
        addedP50At1OverFloor:
          c1?.addedP50 && floor1?.addedP50 ? round(c1.addedP50.median - floor1.addedP50.median, 3) : null,
        addedTtfb: stream?.addedTtfbP50 ?? null,
        addedTtfbOverFloor: stream && floorStream ? round(stream.addedTtfbP50 - floorStream.addedTtfbP50, 3) : null,
        rssIdleMb: report.rssIdleMb?.[name] ?? null,
        rssAfterMb: report.rssAfterLoadMb?.[name] ?? null,
      };
    });
}

function evaluateTargets(report) {
  const row = (target, c) => report.closedLoop.find((r) => r.target === target && r.connections === c);
  const targets = [];
  const f64 = row('floor', 64);
  const xr64 = row('xrouter', 64);
  if (f64?.cpuUsPerReq && xr64?.cpuUsPerReq) {
    const ratio = xr64.cpuUsPerReq.median / f64.cpuUsPerReq.median;
    targets.push({
      name: 'CPU per request at 64 vs the floor',
      goal: '≤ 3×',
      measured: `${round(ratio, 2)}× (${xr64.cpuUsPerReq.median} vs ${f64.cpuUsPerReq.median} µs/req)`,
      met: ratio <= 3,
      gap: `${round(ratio / 3, 2)}× too much: ${round(xr64.cpuUsPerReq.median - 3 * f64.cpuUsPerReq.median, 0)} µs/req over`,
    });
  }
  const x64 = row('xrouter', 64);
  const p64 = row('portkey', 64);
  if (x64 && p64) {
    const ratio = x64.rps.median / p64.rps.median;
    targets.push({
      name: 'throughput at 64 vs Portkey',
      goal: '≥ 3×',
      measured: `${round(ratio, 2)}× (${x64.rps.median} vs ${p64.rps.median} req/s)`,
      met: ratio >= 3,
      gap: `${round(3 / ratio, 2)}× short`,
    });
  }
  const x1 = row('xrouter', 1);
  if (x1?.addedP50) {
    targets.push({
      name: 'added p50 latency at 1',
      goal: '< 0.3 ms',
      measured: `${round(x1.addedP50.median, 3)} ms`,
      met: x1.addedP50.median < 0.3,
      gap: `+${round(x1.addedP50.median - 0.3, 3)} ms over`,
    });
  }
  const xs = report.streams?.find((s) => s.target === 'xrouter');
  if (xs) {
    targets.push({
      name: 'streams: added TTFB',
      goal: '< 1 ms',
      measured: `${xs.addedTtfbP50} ms (first token ${xs.addedTtftP50} ms)`,
      met: xs.addedTtfbP50 < 1,
      gap: `+${round(xs.addedTtfbP50 - 1, 3)} ms over`,
    });
  }
  const rss = report.rssAfterLoadMb.xrouter;
  targets.push({
    name: 'RSS after load',
    goal: '< 150 MB',
    measured: `${rss} MB`,
    met: rss < 150,
    gap: `+${round(rss - 150, 1)} MB over`,
  });
  if (report.soak) {
    const growth = report.soak.rssLastMinuteMaxMb - report.soak.rssFirstMinuteMaxMb;
    targets.push({
      name: 'RSS flat over 10-min soak',
      goal: 'no growth trend, < 150 MB',
      measured: `${report.soak.rssFirstMinuteMaxMb} → ${report.soak.rssLastMinuteMaxMb} MB (max ${report.soak.rssMaxMb})`,
      met: growth < 10 && report.soak.rssMaxMb < 150,
      gap: `${growth < 10 ? 'flat' : `grew ${round(growth, 1)} MB`}, but max ${report.soak.rssMaxMb} MB is ${round(report.soak.rssMaxMb - 150, 1)} MB over 150`,
    });
  } else {
    targets.push({ name: 'RSS flat over 10-min soak', goal: 'flat', measured: 'not run (add --soak)', met: null });
  }
  const rec = report.usageWrite?.recorder;
  if (rec?.steps) {
    targets.push({
      name: 'recorder rows/s into PostgreSQL',
      goal: '≥ 10,000 rows/s, no drops',
      measured: `${rec.sustainedRowsPerS} rows/s sustained (peak ${rec.peakWrittenRowsPerS})`,
      met: rec.sustainedRowsPerS >= 10_000,
      gap: `${10_000 - rec.sustainedRowsPerS} rows/s short`,
    });
  }
  return targets;
}

/**
 * Other programs on the machine (a test suite, a build) would take CPU from the measured processes: wait up to
 * BENCH_WAIT_QUIET_S (default 300) for the machine to be nearly idle, then go on anyway and say so in the report.
 */
async function waitForQuiet() {
  const limitS = Number(process.env.BENCH_WAIT_QUIET_S ?? 300);
  const started = Date.now();
  for (;;) {
    const a = coreBusyTicks();
    await sleep(3_000);
    const b = coreBusyTicks();
    const busyCores = Object.keys(b).reduce((sum, k) => sum + (b[k] - a[k]), 0) / ticksPerSecond() / 3;
    if (busyCores < 0.25) return { busyCores: round(busyCores, 2), waitedS: Math.round((Date.now() - started) / 1000) };
    if ((Date.now() - started) / 1000 >= limitS) {
      log(`the machine is still busy (${round(busyCores, 2)} cores used by other programs): measuring anyway`);
      return { busyCores: round(busyCores, 2), waitedS: Math.round((Date.now() - started) / 1000), busy: true };
    }
    log(`other programs use ${round(busyCores, 2)} cores: waiting for a quiet machine (up to ${limitS} s)`);
    await sleep(7_000);
  }
}

// ---------------------------------------------------------------- main

async function main() {
  installSignalHandlers();
  const startedAt = new Date().toISOString();
  ensureTools();
  const liteLLMVersion = ensureLiteLLM();
  const build = await snapshotBuild();
  const report = {
    startedAt,
    mode: QUICK ? 'quick' : 'full',
    command: `node bench/run.mjs${QUICK ? ' --quick' : ''}${SOAK ? ' --soak' : ''}`,
    machine: machine(),
    build,
    versions: { litellm: liteLLMVersion, portkey: '1.15.2' },
    protocol: { ...P, streamChunks: 20, streamChunkDelayMs: 10 },
  };
  log(`XRouter bench (${report.mode}); results in ${relative(REPO, RUN_DIR)}`);
  log(`machine: ${JSON.stringify(report.machine)}`);
  log(`build: dist/ of ${build.builtAt} (${build.commit}), snapshot in ${ROOT}`);

  report.machine.loadBefore = await waitForQuiet();
  log('starting PostgreSQL and Redis');
  const services = await startServices(LOAD_CORE);
  log('starting the provider emulators (zero latency; paced 20 chunks × 10 ms)');
  const emulator = await startEmulator(
    EMULATOR_ENTRY,
    LOAD_CORE,
    { EMULATOR_LATENCY_MS: '0', EMULATOR_CHUNK_DELAY_MS: '0' },
    join(RUN_DIR, 'emulator.log'),
  );
  const paced = await startEmulator(
    EMULATOR_ENTRY,
    LOAD_CORE,
    { EMULATOR_LATENCY_MS: '0', EMULATOR_CHUNKS: '20', EMULATOR_CHUNK_DELAY_MS: '10' },
    join(RUN_DIR, 'emulator-paced.log'),
  );
  const configPath = join(RUN_DIR, 'xrouter.bench.yaml');
  writeFileSync(configPath, routingConfig(emulator.url, paced.url));
  const liteLLMConfigPath = join(RUN_DIR, 'litellm.bench.yaml');
  writeFileSync(liteLLMConfigPath, liteLLMConfig(emulator.url, paced.url));

  log(`starting the floor proxy, XRouter (PostgreSQL, Redis, LOG_LEVEL=info), Portkey and LiteLLM ${liteLLMVersion}`);
  const floor = await startFloor(emulator.url, paced.url);
  let xrouter = await startXRouter(services, configPath);
  const portkey = await startPortkey();
  const litellm = await startLiteLLM(liteLLMConfigPath);
  const loadKey = await createLoadKey(xrouter);

  const targets = [
    {
      name: 'direct',
      url: `${emulator.url}/mts/v1/chat/completions`,
      headers: { authorization: `Bearer ${MTS_KEY}` },
      pid: emulator.child.pid,
    },
    {
      name: 'floor',
      url: `${floor.url}/v1/chat/completions`,
      headers: {},
      pid: floor.pid,
    },
    {
      name: 'xrouter',
      url: `${xrouter.url}/v1/chat/completions`,
      headers: { authorization: `Bearer ${loadKey}` },
      pid: xrouter.pid,
    },
    {
      name: 'portkey',
      url: `${portkey.url}/v1/chat/completions`,
      headers: {
        authorization: `Bearer ${MTS_KEY}`,
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `${emulator.url}/mts/v1`,
      },
      pid: portkey.pid,
    },
    {
      name: 'litellm',
      url: `${litellm.url}/v1/chat/completions`,
      headers: {},
      pid: litellm.pid,
    },
  ];
  const byName = Object.fromEntries(targets.map((t) => [t.name, t]));

  // Each target answers the same completion before any load; XRouter's answer tells which features are on.
  const features = {};
  for (const target of targets) {
    const answer = await http('POST', target.url, { headers: target.headers, body: BODY });
    if (answer.status !== 200 || !answer.json?.choices?.[0]?.message) {
      throw new Error(`${target.name} did not answer a completion: ${answer.status} ${answer.text.slice(0, 500)}`);
    }
    if (target.name === 'xrouter') {
      features['API-key auth'] = 'on (key from POST /admin/api-keys)';
      const limited = [...answer.headers.keys()].some((h) => h.startsWith('x-ratelimit'));
      features['rate limit (Redis)'] = limited ? 'on (x-ratelimit-* headers seen)' : 'not wired in this build';
      features.metrics = 'on (/metrics)';
      features.logs = 'LOG_LEVEL=info JSON to /dev/null';
    }
  }
  const unauthorised = await http('POST', byName.xrouter.url, {
    headers: { authorization: 'Bearer xr-nope' },
    body: BODY,
  });
  if (unauthorised.status !== 401) throw new Error(`XRouter accepted a bad key (${unauthorised.status})`);
  await sleep(1_500);
  const rowsAtStart = countRequestLogs(services);
  features['usage logging (PostgreSQL)'] =
    rowsAtStart === null
      ? 'request_logs table missing'
      : rowsAtStart > 0
        ? 'on (rows seen)'
        : 'pending (checked after load)';
  report.features = features;

  log('closed-loop suite');
  const gateways = { floor, xrouter, portkey, litellm };
  const rssOfGateways = () => Object.fromEntries(Object.entries(gateways).map(([name, g]) => [name, rssMb(g.pid)]));
  report.rssIdleMb = rssOfGateways();
  const points = await closedLoopSuite(targets);
  report.points = points;
  report.closedLoop = aggregate(points, targets);
  report.rssAfterLoadMb = { ...rssOfGateways(), emulator: rssMb(emulator.child.pid) };
  report.xrouterMemory = await nodeMemory(xrouter.url);

  // End-to-end usage rows: every XRouter request should become one row (warm-ups included) once the recorder flushed.
  await sleep(2_500);
  const rowsAfterLoad = countRequestLogs(services);
  report.usageWrite = {
    rowsAtStart,
    rowsAfterLoad,
    endToEnd:
      rowsAfterLoad === null
        ? 'the request_logs table does not exist in this build: usage logging was not measured end to end.'
        : rowsAfterLoad === 0
          ? 'request_logs exists but XRouter wrote no row: the usage recorder is not wired into the request path ' +
            'in this build, so the closed-loop figures above are without usage logging.'
          : `${rowsAfterLoad} rows in request_logs after the load; the load sent XRouter ${answered.xrouter} ` +
            `requests (warm-ups included) plus 1 check: ${rowsAfterLoad - answered.xrouter - 1 >= 0 ? 'every one logged' : `${answered.xrouter + 1 - rowsAfterLoad} missing`}.`,
  };
  if (rowsAfterLoad > 0) features['usage logging (PostgreSQL)'] = 'on (rows written during the load)';
  else if (rowsAfterLoad === 0) features['usage logging (PostgreSQL)'] = 'not wired in this build (no rows written)';

  log('stream suite');
  report.streams = await streamSuite([
    {
      name: 'direct',
      url: `${paced.url}/mts/v1/chat/completions`,
      headers: { authorization: `Bearer ${MTS_KEY}` },
      body: STREAM_BODY,
      warmup: {
        url: `${emulator.url}/mts/v1/chat/completions`,
        headers: { authorization: `Bearer ${MTS_KEY}` },
        body: STREAM_BODY,
      },
    },
    {
      name: 'floor',
      url: `${floor.url}/paced/v1/chat/completions`,
      headers: {},
      body: STREAM_BODY,
      warmup: { url: `${floor.url}/v1/chat/completions`, headers: {}, body: STREAM_BODY },
    },
    {
      name: 'xrouter',
      url: `${xrouter.url}/v1/chat/completions`,
      headers: { authorization: `Bearer ${loadKey}` },
      body: JSON.stringify({ ...JSON.parse(STREAM_BODY), model: PACED_MODEL }),
      warmup: {
        url: `${xrouter.url}/v1/chat/completions`,
        headers: { authorization: `Bearer ${loadKey}` },
        body: STREAM_BODY,
      },
    },
    {
      name: 'portkey',
      url: `${portkey.url}/v1/chat/completions`,
      headers: { ...byName.portkey.headers, 'x-portkey-custom-host': `${paced.url}/mts/v1` },
      body: STREAM_BODY,
      warmup: { url: `${portkey.url}/v1/chat/completions`, headers: byName.portkey.headers, body: STREAM_BODY },
    },
    {
      name: 'litellm',
      url: `${litellm.url}/v1/chat/completions`,
      headers: {},
      body: JSON.stringify({ ...JSON.parse(STREAM_BODY), model: PACED_MODEL }),
      warmup: { url: `${litellm.url}/v1/chat/completions`, headers: {}, body: STREAM_BODY },
    },
  ]);

  if (SOAK) {
    log(`soak: XRouter at 64 connections for ${P.soakS} s, RSS every ${P.soakSampleS} s`);
    report.soak = await soak(byName.xrouter);
    log(
      `  soak: ${report.soak.rps} req/s, RSS ${report.soak.rssFirstMinuteMaxMb} → ${report.soak.rssLastMinuteMaxMb} MB`,
    );
  }

  log('stopping the gateways; usage-write benchmark (recorder alone, on the gateway core)');
  await stopChild(portkey.child, 'SIGTERM', 5_000);
  await stopChild(litellm.child, 'SIGTERM', 10_000);
  await stopChild(floor.child, 'SIGTERM', 5_000);
  await stopChild(xrouter.child, 'SIGTERM', 20_000);
  xrouter = null;
  if (existsSync(join(ROOT, 'dist/libs/usage/src/index.js'))) {
    try {
      const job = {
        databaseUrl: services.databaseUrl,
        root: ROOT,
        seconds: P.usageStepS,
        rates: P.usageRates,
      };
      const runOnGatewayCore = (script, j, limit) =>
        new Promise((resolve, reject) => {
          const child = spawn(
            ...pinned(GATEWAY_CORE, process.execPath, [join(BENCH, 'lib', script), JSON.stringify(j)]),
            {
              cwd: ROOT,
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          const timer = setTimeout(() => child.kill('SIGKILL'), limit * 1000);
          child.once('exit', (code) => {
            clearTimeout(timer);
            writeFileSync(join(RUN_DIR, 'usage-writer.log'), err);
            const line = out
              .trim()
              .split('\n')
              .reverse()
              .find((l) => l.startsWith('{'));
            try {
              const parsed = JSON.parse(line);
              if (parsed.error) reject(new Error(parsed.error));
              else resolve(parsed);
            } catch {
              reject(new Error(`usage writer exited ${code}: ${err.slice(-1500)}`));
            }
          });
        });
      report.usageWrite.recorder = await runOnGatewayCore(
        'usage-writer.mjs',
        job,
        P.usageRates.length * (P.usageStepS + 10) + 90,
      );
      log(`  recorder sustained ${report.usageWrite.recorder.sustainedRowsPerS} rows/s without drops`);
    } catch (error) {
      report.usageWrite.recorder = { error: String(error?.message ?? error).slice(0, 2000) };
      log(`  usage writer failed: ${report.usageWrite.recorder.error}`);
    }
  } else {
    report.usageWrite.recorder = { error: 'dist/libs/usage is not built' };
  }

  log(`CPU profile: XRouter under node --cpu-prof at 64 connections for ${P.profileS} s`);
  report.profile = await profileRun(services, configPath, loadKey);

  report.ratios = ratios(report);
  report.targets = evaluateTargets(report);
  report.finishedAt = new Date().toISOString();
  const jsonFile = join(RESULTS, `${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  writeFileSync(join(RUN_DIR, 'report.md'), `${md}\n`);
  console.log(`\n${md}\n`);
  log(`results: ${relative(REPO, jsonFile)}, ${relative(REPO, join(RUN_DIR, 'report.md'))}`);
}

const overall = setTimeout(
  () => {
    console.error('the bench exceeded its overall time limit (90 min): stopping');
    cleanupAll(2_000).finally(() => process.exit(3));
  },
  90 * 60 * 1000,
);
overall.unref();

main()
  .then(() => cleanupAll())
  .then(() => process.exit(0))
  .catch(async (error) => {
    console.error(`bench failed: ${error?.stack ?? error}`);
    await cleanupAll(2_000);
    process.exit(1);
  });
