import type { ServerResponse } from 'node:http';
import { toGatewayError, toOpenAiErrorBody, type Usage } from '@xrouter/common';

function write(res: ServerResponse, text: string): Promise<void> | void {
  if (res.write(text)) return;
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The headers of an event stream. */
function openEventStream(res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('connection', 'keep-alive');
  res.setHeader('x-accel-buffering', 'no');
  // No flushHeaders(): the router hands over a stream whose first chunk is already here, so the headers leave in the
  // same packet as that chunk — one write, and the client's first byte is the first event, not a bare header.
}

/**
 * Writes chunks as Server-Sent Events the moment they arrive (no buffering), then `data: [DONE]`. Usage-only chunks
 * go to the client only when it asked (`stream_options.include_usage`). A failure after the first byte ends the
 * stream with an OpenAI error event and no [DONE], so clients see an error rather than a clean stop. Chat chunks and
 * legacy `text_completion` chunks alike.
 */
export async function writeSse(
  res: ServerResponse,
  chunks: AsyncIterable<{ choices: readonly unknown[]; usage?: Usage | null }>,
  includeUsage: boolean,
): Promise<void> {
  openEventStream(res);
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) break;
      if (!includeUsage) {
        if (chunk.choices.length === 0 && chunk.usage) continue;
        if (chunk.usage !== undefined) delete chunk.usage;
      }
      await write(res, `data: ${JSON.stringify(chunk)}\n\n`);
    }
    if (!res.destroyed) res.end('data: [DONE]\n\n');
  } catch (error) {
    if (!res.destroyed) res.end(`data: ${JSON.stringify(toOpenAiErrorBody(toGatewayError(error)))}\n\n`);
  }
}

/**
 * Writes typed events (the Responses API's) as Server-Sent Events named by their type — `event: <type>` then
 * `data: <json>` — the moment they arrive, and ends the stream after the last. The events say themselves how the
 * stream ended (a failure is an event of its own), so there is no `[DONE]`.
 */
export async function writeNamedSse(res: ServerResponse, events: AsyncIterable<{ type: string }>): Promise<void> {
  openEventStream(res);
  for await (const event of events) {
    if (res.destroyed) break;
    await write(res, `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }
  if (!res.destroyed) res.end();
}
