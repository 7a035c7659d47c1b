/** Helpers for the emulator's specs: an in-process server on a free port and SSE / NDJSON readers. */
import type { EmulatorOptions } from './emulator-defaults';
import type { EmulatorServer } from './emulator-server';
import { createEmulatorServer } from './emulator-server';

export interface RunningEmulator {
  emulator: EmulatorServer;
  /** `http://127.0.0.1:<port>` */
  base: string;
  close(): Promise<void>;
}

export async function startEmulator(options: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  const emulator = createEmulatorServer(options);
  const port = await emulator.listen(0, '127.0.0.1');
  return { emulator, base: `http://127.0.0.1:${port}`, close: () => emulator.close() };
}

/**
 * A JSON document as the specs read it, without `any`: any key or index can be followed, arrays have the few methods
 * the specs use, and leaves compare as strings (use Number() for arithmetic). Every leaf is checked with `expect`, so
 * the type claims nothing the assertions do not verify.
 */
export type Loose = LooseList & { readonly [key: string]: Loose } & string;

interface LooseList {
  readonly [index: number]: Loose;
  readonly length: number;
  map<U>(fn: (item: Loose, index: number) => U): U[];
  every(fn: (item: Loose, index: number) => boolean): boolean;
  some(fn: (item: Loose, index: number) => boolean): boolean;
  slice(start?: number, end?: number): Loose[];
}

export async function readJson(response: Response): Promise<Loose> {
  return (await response.json()) as Loose;
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export interface SseResult {
  raw: string;
  /** Parsed `data:` payloads, `[DONE]` excluded. */
  events: Loose[];
  done: boolean;
}

/** Parses an SSE body strictly: every event must be one `data: …` line followed by a blank line. */
export function parseSse(raw: string): SseResult {
  const blocks = raw.split('\n\n');
  if (blocks[blocks.length - 1] !== '') throw new Error(`SSE body does not end with a blank line: ${raw.slice(-40)}`);
  const events: Loose[] = [];
  let done = false;
  for (const block of blocks.slice(0, -1)) {
    if (!block.startsWith('data: ') || block.includes('\n')) throw new Error(`bad SSE frame: ${block}`);
    const data = block.slice('data: '.length);
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data) as Loose);
  }
  return { raw, events, done };
}

export async function readSse(response: Response): Promise<SseResult> {
  return parseSse(await response.text());
}

/** Parses newline-delimited JSON; every line must be a complete object. */
export function parseNdjson(raw: string): Loose[] {
  return raw
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Loose);
}
