// The load generator, run as its own process pinned to the load core: `node load-worker.mjs '<json job>'`.
// Prints one JSON line with the result. Two kinds of job:
//   { kind: 'closed', url, headers, body, connections, seconds }  autocannon closed loop; latencies with µs resolution
//   { kind: 'streams', url, headers, body, count, seconds }        sequential SSE streams: TTFB, first token, total
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const job = JSON.parse(process.argv[2]);

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

function summary(values) {
  const sorted = Float64Array.from(values).sort();
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null;
  return {
    n: sorted.length,
    mean,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

async function closedLoop() {
  const autocannon = require('autocannon');
  // autocannon's own histogram has 1 ms resolution; the response event carries the exact duration (ms, fractional).
  let times = new Float64Array(1 << 16);
  let n = 0;
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...job.headers },
        body: job.body,
        connections: job.connections,
        pipelining: 1,
        duration: job.seconds,
        timeout: 10,
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) return;
      if (n === times.length) {
        const bigger = new Float64Array(times.length * 2);
        bigger.set(times);
        times = bigger;
      }
      times[n++] = responseTime;
    });
  });
  const latency = summary(times.subarray(0, n));
  return {
    kind: 'closed',
    connections: job.connections,
    seconds: result.duration,
    requests: result.requests.total,
    ok: n,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    rps: n / result.duration,
    latencyMs: latency,
  };
}

/** One streamed completion: time to the first body byte, to the first content token, and to the end (ms). */
function oneStream(agent, url, headers, body) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
    let ttfb = null;
    let ttft = null;
    let pending = '';
    let chunks = 0;
    let sawDone = false;
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (response) => {
        if (response.statusCode !== 200) {
          let text = '';
          response.on('data', (d) => (text += d));
          response.on('end', () => reject(new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`)));
          return;
        }
        response.setEncoding('utf8');
        response.on('data', (data) => {
          if (ttfb === null) ttfb = ms();
          if (ttft !== null) {
            if (!sawDone && data.includes('[DONE]')) sawDone = true;
            return;
          }
          pending += data;
          let cut;
          while (ttft === null && (cut = pending.indexOf('\n\n')) >= 0) {
            const event = pending.slice(0, cut);
            pending = pending.slice(cut + 2);
            for (const line of event.split('\n')) {
              if (!line.startsWith('data:')) continue;
              const payload = line.slice(5).trim();
              if (payload === '[DONE]') {
                sawDone = true;
                continue;
              }
              chunks++;
              try {
                const content = JSON.parse(payload)?.choices?.[0]?.delta?.content;
                if (typeof content === 'string' && content.length > 0 && ttft === null) ttft = ms();
              } catch {
                // a partial line cannot happen after the '\n\n' cut; ignore anything unparsable
              }
            }
          }
          if (pending.includes('[DONE]')) sawDone = true;
        });
        response.on('end', () => resolve({ ttfb, ttft, total: ms(), sawDone, chunks }));
        response.on('error', reject);
      },
    );
    request.setTimeout(30_000, () => request.destroy(new Error('stream timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

async function streams() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const deadline = Date.now() + job.seconds * 1000;
  const ttfb = [];
  const ttft = [];
  const total = [];
  let failures = 0;
  let lastError = null;
  let incomplete = 0;
  for (let i = 0; i < job.count + (job.warmup ?? 0) && Date.now() < deadline; i++) {
    try {
      const r = await oneStream(agent, job.url, job.headers, job.body);
      if (i < (job.warmup ?? 0)) continue;
      if (!r.sawDone) incomplete++;
      ttfb.push(r.ttfb);
      if (r.ttft !== null) ttft.push(r.ttft);
      total.push(r.total);
    } catch (error) {
      failures++;
      lastError = String(error?.message ?? error);
    }
  }
  agent.destroy();
  return {
    kind: 'streams',
    streams: total.length,
    failures,
    incomplete,
    lastError,
    ttfbMs: summary(ttfb),
    ttftMs: summary(ttft),
    totalMs: summary(total),
  };
}

const hardStop = setTimeout(
  () => {
    process.stdout.write(`${JSON.stringify({ error: 'load worker hit its hard time limit' })}\n`);
    process.exit(2);
  },
  (job.seconds + 60) * 1000,
);
hardStop.unref();

try {
  const result = job.kind === 'streams' ? await streams() : await closedLoop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`);
  process.exit(1);
}
