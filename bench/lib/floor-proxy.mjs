// The floor: the least a JSON-aware Node gateway must do per request, and the figure every gateway's ratio is
// computed against. node:http in, undici (one keep-alive Pool, like XRouter's) out to the same emulator URL;
// the request body is read and JSON.parse'd, the answer read, JSON.parse'd and JSON.stringify'd back. For
// `stream: true` the upstream's SSE body is piped through unchanged. No auth, no limits, no logs, no metrics.
//
// node bench/lib/floor-proxy.mjs '{"port":N,"upstream":"http://127.0.0.1:P/mts/v1","pacedUpstream":"…","apiKey":"…",
//   "undici":"/abs/path/of/undici/index.js"}'
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const job = JSON.parse(process.argv[2]);
// The same undici build XRouter runs (the repository's node_modules), not whatever copy the bench's tools carry.
const { Pool } = await import(pathToFileURL(job.undici).href);
function route(base) {
  const url = new URL(base);
  return {
    pool: new Pool(url.origin, { connections: 128, keepAliveTimeout: 30_000, pipelining: 1 }),
    path: `${url.pathname.replace(/\/$/, '')}/chat/completions`,
  };
}
const plain = route(job.upstream);
// /paced/v1/chat/completions: the paced emulator, for the stream suite.
const paced = job.pacedUpstream ? route(job.pacedUpstream) : plain;
const upstreamHeaders = { authorization: `Bearer ${job.apiKey}`, 'content-type': 'application/json' };

function fail(res, status, message) {
  if (res.headersSent) return res.destroy();
  const body = JSON.stringify({ error: { message, type: 'floor_error' } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req, res) {
  const upstream = req.url.startsWith('/v1/chat/completions')
    ? plain
    : req.url.startsWith('/paced/v1/chat/completions')
      ? paced
      : null;
  if (req.method !== 'POST' || !upstream) return fail(res, 404, 'not found');
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  let request;
  try {
    request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return fail(res, 400, 'body is not JSON');
  }
  const response = await upstream.pool.request({
    method: 'POST',
    path: upstream.path,
    headers: upstreamHeaders,
    body: JSON.stringify(request),
  });
  if (request.stream === true) {
    res.writeHead(response.statusCode, {
      'content-type': response.headers['content-type'] ?? 'text/event-stream',
      'cache-control': 'no-cache',
    });
    for await (const chunk of response.body) res.write(chunk);
    return res.end();
  }
  const answer = JSON.parse(await response.body.text());
  const body = JSON.stringify(answer);
  res.writeHead(response.statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => fail(res, 502, String(error?.message ?? error)));
});
server.keepAliveTimeout = 65_000;
server.listen(job.port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  Promise.all([plain.pool.close(), paced.pool.close()]).finally(() => process.exit(0));
});
