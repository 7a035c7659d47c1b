import { readLines, readSseData } from './sse';

async function collect(source: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function* bytes(...parts: string[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield await Promise.resolve(Buffer.from(part));
}

describe('readSseData', () => {
  it('should yield each event once complete, across arbitrary chunk boundaries', async () => {
    const events = await collect(readSseData(bytes('data: {"a"', ':1}\n', '\ndata: [DO', 'NE]\n\n')));
    expect(events).toEqual(['{"a":1}', '[DONE]']);
  });

  it('should accept CRLF, data without a space, comments and multi-line data', async () => {
    const events = await collect(
      readSseData(bytes(': keep-alive\r\n\r\ndata:x\r\ndata: y\r\n\r\nevent: e\ndata: z\n\n')),
    );
    expect(events).toEqual(['x\ny', 'z']);
  });

  it('should decode UTF-8 split inside a character', async () => {
    const raw = Buffer.from('data: Привет\n\n');
    async function* split(): AsyncGenerator<Buffer> {
      yield await Promise.resolve(raw.subarray(0, 8));
      yield raw.subarray(8);
    }
    expect(await collect(readSseData(split()))).toEqual(['Привет']);
  });
});

describe('readLines', () => {
  it('should yield non-empty lines including an unterminated last one', async () => {
    expect(await collect(readLines(bytes('{"a":1}\n\n{"b"', ':2}\n{"c":3}')))).toEqual([
      '{"a":1}',
      '{"b":2}',
      '{"c":3}',
    ]);
  });
});
