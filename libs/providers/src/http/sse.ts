import { ErrorCode, GatewayError } from '@xrouter/common';

/**
 * Server-Sent Events parsing for upstream streams: yields the `data:` payload of each event as it completes.
 * Works on raw byte chunks; multi-line data fields are joined with "\n"; comments and other fields are ignored.
 */
export async function* readSseData(body: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.endsWith('\r', newline) ? buffer.slice(0, newline - 1) : buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
      }
    }
  }
  if (data.length > 0) yield data.join('\n');
}

/**
 * The JSON events of an OpenAI-style SSE stream (GigaChat's too), until `data: [DONE]`, which sets `progress.done`.
 * A payload that is not JSON is the upstream's fault: UPSTREAM_BAD_RESPONSE.
 */
export async function* readSseJson<T>(
  body: AsyncIterable<Buffer | Uint8Array | string>,
  providerId: string,
  progress: { done: boolean },
): AsyncGenerator<T> {
  for await (const data of readSseData(body)) {
    if (data === '[DONE]') {
      progress.done = true;
      return;
    }
    let event: T;
    try {
      event = JSON.parse(data) as T;
    } catch {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${providerId}: a stream event is not valid JSON`);
    }
    yield event;
  }
}

/** Newline-delimited JSON (YandexGPT's native stream): yields each non-empty line. */
export async function* readLines(body: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield line;
    }
  }
  if (buffer.trim()) yield buffer.trim();
}
