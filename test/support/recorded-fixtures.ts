/**
 * The replay fixtures under test/fixtures/recordings/ (derived from real provider exchanges; see each folder's README):
 * loading, SSE parsing, assembling a stream, and a replay server that answers the recorded bytes and keeps what the
 * adapter sent.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface RecordedInteraction {
  request: { method: string; path: string; body: Record<string, unknown> };
  response: { status: number; content_type: string; body: string };
}

export interface RecordedFixture {
  name: string;
  source: string;
  note?: string;
  interactions: RecordedInteraction[];
}

const ROOT = join(__dirname, '..', 'fixtures', 'recordings');

export function loadFixtures(folder: string): Map<string, RecordedFixture> {
  const dir = join(ROOT, folder);
  const fixtures = new Map<string, RecordedFixture>();
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    const name = file.slice(0, -'.json'.length);
    const parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<RecordedFixture, 'name'>;
    fixtures.set(name, { name, ...parsed });
  }
  return fixtures;
}

/** The `data:` payloads of an SSE body, `[DONE]` excluded, and whether `[DONE]` came. */
export function sseEvents(body: string): { events: Record<string, unknown>[]; done: boolean } {
  const events: Record<string, unknown>[] = [];
  let done = false;
  for (const block of body.split('\n\n')) {
    if (!block.startsWith('data:')) continue;
    const data = block.slice('data:'.length).trim();
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data) as Record<string, unknown>);
  }
  return { events, done };
}

export interface AssembledStream {
  content: string;
  toolCalls: Array<{ id: string; type: string; name: string; arguments: string }>;
  finishReason: string | null;
  usage: unknown;
}

interface LooseChunk {
  choices?: Array<{
    delta?: {
      content?: string | null;
      tool_calls?: Array<{
        index: number;
        id?: string;
        type?: string;
        function?: { name?: string; arguments?: string };
      }>;
    };
    finish_reason?: string | null;
  }>;
  usage?: unknown;
}

/** What a client accumulates from the chunks: text, tool calls by index (strings concatenated), finish, usage. */
export function assembleStream(chunks: readonly object[]): AssembledStream {
  const out: AssembledStream = { content: '', toolCalls: [], finishReason: null, usage: undefined };
  for (const chunk of chunks as LooseChunk[]) {
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      if (typeof choice.delta?.content === 'string') out.content += choice.delta.content;
      for (const call of choice.delta?.tool_calls ?? []) {
        const slot = (out.toolCalls[call.index] ??= { id: '', type: '', name: '', arguments: '' });
        slot.id += call.id ?? '';
        slot.type += call.type ?? '';
        slot.name += call.function?.name ?? '';
        slot.arguments += call.function?.arguments ?? '';
      }
      if (choice.finish_reason) out.finishReason = choice.finish_reason;
    }
  }
  return out;
}

export interface CapturedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers each request with the next queued recorded response, byte for byte, and keeps every request. */
export class ReplayServer {
  readonly captured: CapturedRequest[] = [];
  private readonly queue: RecordedInteraction['response'][] = [];
  private server: Server | undefined;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        this.captured.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(parts).toString('utf8'),
        });
        const next = this.queue.shift();
        if (!next) {
          res.writeHead(599, { 'content-type': 'text/plain' }).end('no recorded response queued');
          return;
        }
        res.writeHead(next.status, { 'content-type': next.content_type }).end(next.body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  answer(response: RecordedInteraction['response']): void {
    this.queue.push(response);
  }

  last(): CapturedRequest {
    const request = this.captured[this.captured.length - 1];
    if (!request) throw new Error('the replay server got no request');
    return request;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
