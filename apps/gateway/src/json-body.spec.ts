import { Readable } from 'node:stream';
import { ServerResponse, type IncomingMessage } from 'node:http';
import { deflateSync, gzipSync } from 'node:zlib';
import { ErrorCode } from '@xrouter/common';
import { bodySizeBytes, isJsonContentType, MAX_JSON_DEPTH, nestsDeeperThan, readJsonBody } from './json-body';

/** A request-shaped stream (the headers and the body in the given pieces) and the response it would get. */
function request(headers: Record<string, string>, ...pieces: (string | Buffer)[]): [IncomingMessage, ServerResponse] {
  const req = Object.assign(Readable.from(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))), {
    headers,
  }) as unknown as IncomingMessage;
  return [req, new ServerResponse(req)];
}

describe('bodySizeBytes', () => {
  it.each([
    ['512b', 512],
    ['64kb', 65_536],
    ['10MB', 10_485_760],
  ])('%s is %d bytes', (size, bytes) => expect(bodySizeBytes(size)).toBe(bytes));
  it('should refuse what is not a size', () => expect(() => bodySizeBytes('10 gb')).toThrow());
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON; charset=utf-8', true],
    ['application/merge-patch+json', true],
    ['application/x-www-form-urlencoded', false],
    ['application/jsonp', false],
    [undefined, false],
  ])('%p → %p', (header, expected) => expect(isJsonContentType(header)).toBe(expected));
});

const nested = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`;
const nestedObject = (depth: number): string => (depth === 0 ? '1' : `{"a":${nestedObject(depth - 1)}}`);

describe('nestsDeeperThan', () => {
  it.each([
    ['a number', '1', 0, false],
    ['a string', '"[[[[[["', 0, false],
    ['an empty array at the limit', nested(1), 1, false],
    ['an empty array over the limit', nested(1), 0, true],
    ['arrays at the limit', nested(5), 5, false],
    ['arrays over the limit', nested(6), 5, true],
    ['objects at the limit', nestedObject(5), 5, false],
    ['objects over the limit', nestedObject(6), 5, true],
    ['a deep branch after shallow ones', `[1,[2],{"a":[[[[[[]]]]]]}]`, 5, true],
    ['wide but shallow', JSON.stringify({ messages: Array.from({ length: 500 }, () => ({ role: 'user' })) }), 3, false],
  ])('%s', (_title, json, limit, expected) => {
    expect(nestsDeeperThan(JSON.parse(json), limit)).toBe(expected);
  });
});

describe('readJsonBody', () => {
  it('should parse a body that arrives in pieces, multi-byte characters split between them', async () => {
    const text = Buffer.from('{"content":"Привет"}');
    await expect(readJsonBody(...request({}, text.subarray(0, 14), text.subarray(14)), 1000)).resolves.toEqual({
      content: 'Привет',
    });
  });

  it('should inflate gzip and deflate bodies', async () => {
    const body = '{"a":1}';
    await expect(readJsonBody(...request({ 'content-encoding': 'gzip' }, gzipSync(body)), 100)).resolves.toEqual({
      a: 1,
    });
    await expect(readJsonBody(...request({ 'content-encoding': 'deflate' }, deflateSync(body)), 100)).resolves.toEqual({
      a: 1,
    });
  });

  it('should drop the unread rest of a refused body, and close the connection when the rest is huge', async () => {
    const [req, res] = request({}, 'x'.repeat(60), 'x'.repeat(60), 'x'.repeat(60));
    await expect(readJsonBody(req, res, 100)).rejects.toMatchObject({ status: 413 });
    await new Promise((done) => req.once('end', done));
    expect(res.getHeader('connection')).toBeUndefined();

    const [huge, hugeRes] = request({ 'content-length': String(10_000) }, '{}');
    await expect(readJsonBody(huge, hugeRes, 100)).rejects.toMatchObject({ status: 413 });
    expect(hugeRes.getHeader('connection')).toBe('close');
  });

  it('should accept a body nested exactly to the limit, and refuse one deeper with a 400', async () => {
    await expect(readJsonBody(...request({}, nested(MAX_JSON_DEPTH)), 10_000)).resolves.toBeInstanceOf(Array);
    for (const json of [nested(MAX_JSON_DEPTH + 1), `{"a":${nested(3000)}}`, nestedObject(MAX_JSON_DEPTH + 1)]) {
      await expect(readJsonBody(...request({}, json), 10_000)).rejects.toMatchObject({
        code: ErrorCode.INVALID_JSON,
        status: 400,
      });
    }
  });

  it('should give undefined for an empty body', async () => {
    await expect(readJsonBody(...request({}), 100)).resolves.toBeUndefined();
  });

  it.each([
    ['malformed JSON', request({}, '{"a":'), ErrorCode.INVALID_JSON, 400],
    ['a declared length over the limit', request({ 'content-length': '101' }, '{}'), ErrorCode.PAYLOAD_TOO_LARGE, 413],
    [
      'an undeclared body over the limit',
      request({}, 'x'.repeat(60), 'x'.repeat(60)),
      ErrorCode.PAYLOAD_TOO_LARGE,
      413,
    ],
    [
      'a gzip bomb over the limit',
      request({ 'content-encoding': 'gzip' }, gzipSync(' '.repeat(10_000))),
      ErrorCode.PAYLOAD_TOO_LARGE,
      413,
    ],
    [
      'another charset',
      request({ 'content-type': 'application/json; charset=latin1' }, '{}'),
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      415,
    ],
    ['an unknown encoding', request({ 'content-encoding': 'zstd' }, '{}'), ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415],
    ['a corrupt gzip body', request({ 'content-encoding': 'gzip' }, 'not gzip at all'), ErrorCode.BAD_REQUEST, 400],
    [
      'a truncated gzip body',
      request({ 'content-encoding': 'gzip' }, gzipSync('{"a":1}').subarray(0, 12)),
      ErrorCode.BAD_REQUEST,
      400,
    ],
    ['a corrupt deflate body', request({ 'content-encoding': 'deflate' }, 'garbage'), ErrorCode.BAD_REQUEST, 400],
  ])('should refuse %s', async (_name, req, code, status) => {
    await expect(readJsonBody(...req, 100)).rejects.toMatchObject({ code, status });
  });
});
