import { createHash } from 'node:crypto';
import { ErrorCode, GatewayError, type ChatContentPart, type ChatMessage } from '@xrouter/common';
import {
  GIGACHAT_IMAGE_LIMITS,
  GigaChatFileCache,
  collectImages,
  decodeImagePart,
  textBesideImages,
  uploadBody,
  type GigaChatImage,
} from './gigachat-files';

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(32, 7)]);
const GIF = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');

const dataUrl = (bytes: Buffer, type = 'image/png'): string => `data:${type};base64,${bytes.toString('base64')}`;
const imagePart = (url: string): ChatContentPart => ({ type: 'image_url', image_url: { url, detail: 'auto' } });

function thrown(action: () => unknown): GatewayError {
  try {
    action();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('decodeImagePart', () => {
  it('should decode a base64 PNG data URL, typed and named from its bytes', () => {
    const image = decodeImagePart(imagePart(dataUrl(PNG)), 'messages[0].content[1]', 0);
    const sha = createHash('sha256').update(PNG).digest('hex');
    expect(image).toEqual({
      messageIndex: 0,
      param: 'messages[0].content[1]',
      type: 'image/png',
      bytes: PNG,
      sha256: sha,
      filename: `image-${sha.slice(0, 16)}.png`,
    });
  });

  it('should trust the bytes over the label: a JPEG labelled PNG is uploaded as JPEG', () => {
    expect(decodeImagePart(imagePart(dataUrl(JPEG, 'image/png')), 'p', 0).type).toBe('image/jpeg');
  });

  it('should take image_url given as a bare string', () => {
    expect(decodeImagePart({ type: 'image_url', image_url: dataUrl(PNG) }, 'p', 0).type).toBe('image/png');
  });

  it.each([
    ['a remote https URL (no fetching: SSRF)', 'https://example.com/cat.png', 'does not fetch remote URLs'],
    ['a remote http URL', 'http://169.254.169.254/latest/meta-data', 'does not fetch remote URLs'],
    ['a data URL that is not base64', 'data:image/png,rawbytes', 'must be a base64 data: URL'],
    ['broken base64', 'data:image/png;base64,iVBOR!w0K', 'not valid base64'],
    ['a GIF (not among GigaChat’s types)', dataUrl(GIF, 'image/gif'), 'labelled image/gif) is not of a type GigaChat'],
    ['a PDF', dataUrl(Buffer.from('%PDF-1.7 ...'), 'application/pdf'), 'image/jpeg, image/png, image/tiff, image/bmp'],
    ['a file:// URL', 'file:///etc/passwd', 'must be a base64 data: URL'],
  ])('should refuse %s with 400 naming the url', (_title, url, message) => {
    const error = thrown(() => decodeImagePart(imagePart(url), 'messages[2].content[0]', 2));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.status).toBe(400);
    expect(error.param).toBe('messages[2].content[0].image_url.url');
    expect(error.message).toContain(message);
  });

  it('should refuse an image over 15 MB before decoding it', () => {
    const big = Buffer.alloc(GIGACHAT_IMAGE_LIMITS.maxImageBytes + 3);
    JPEG.copy(big);
    const error = thrown(() => decodeImagePart(imagePart(dataUrl(big, 'image/jpeg')), 'p', 0));
    expect(error.param).toBe('p.image_url.url');
    expect(error.message).toContain(`${GIGACHAT_IMAGE_LIMITS.maxImageBytes + 3} bytes`);
  });

  it('should take an image of exactly 15 MB', () => {
    const max = Buffer.alloc(GIGACHAT_IMAGE_LIMITS.maxImageBytes);
    JPEG.copy(max);
    expect(decodeImagePart(imagePart(dataUrl(max, 'image/jpeg')), 'p', 0).bytes.length).toBe(max.length);
  });

  it('should refuse an image_url part without a url', () => {
    expect(thrown(() => decodeImagePart({ type: 'image_url', image_url: {} }, 'p', 0)).param).toBe('p.image_url');
  });
});

describe('collectImages', () => {
  const user = (...parts: ChatContentPart[]): ChatMessage => ({ role: 'user', content: parts });
  const text = (value: string): ChatContentPart => ({ type: 'text', text: value });

  it('should collect the images of user messages with their message index', () => {
    const images = collectImages([
      { role: 'system', content: 'be brief' },
      user(text('what is this?'), imagePart(dataUrl(PNG))),
      { role: 'assistant', content: 'a pixel' },
      user(imagePart(dataUrl(JPEG, 'image/jpeg'))),
    ]);
    expect(images.map((i) => [i.messageIndex, i.param, i.type])).toEqual([
      [1, 'messages[1].content[1]', 'image/png'],
      [3, 'messages[3].content[0]', 'image/jpeg'],
    ]);
  });

  it('should refuse a second image in one message, naming it', () => {
    const error = thrown(() => collectImages([user(imagePart(dataUrl(PNG)), text('and'), imagePart(dataUrl(PNG)))]));
    expect(error.param).toBe('messages[0].content[2]');
    expect(error.message).toContain('one image per message');
  });

  it('should refuse an eleventh image in one request', () => {
    const messages = Array.from({ length: 11 }, () => user(imagePart(dataUrl(PNG))));
    const error = thrown(() => collectImages(messages));
    expect(error.param).toBe('messages[10].content[0]');
    expect(error.message).toContain('at most 10 files');
  });

  it('should refuse more than 80 MB of images in one request', () => {
    const big = Buffer.alloc(14 * 1024 * 1024);
    JPEG.copy(big);
    const messages = Array.from({ length: 6 }, () => user(imagePart(dataUrl(big, 'image/jpeg'))));
    expect(thrown(() => collectImages(messages)).param).toBe('messages[5].content[0]');
  });

  it('should find nothing in text-only and string content', () => {
    expect(collectImages([{ role: 'user', content: 'hi' }, user(text('there'))])).toEqual([]);
  });
});

describe('textBesideImages', () => {
  it('should join the text parts and leave the images out', () => {
    const parts: ChatContentPart[] = [
      { type: 'text', text: 'first' },
      imagePart(dataUrl(PNG)),
      { type: 'text', text: 'second' },
    ];
    expect(textBesideImages(parts, 'messages[0].content')).toBe('first\nsecond');
  });

  it('should still refuse other part types, naming them', () => {
    const parts: ChatContentPart[] = [imagePart(dataUrl(PNG)), { type: 'input_audio', input_audio: {} }];
    expect(thrown(() => textBesideImages(parts, 'messages[0].content')).param).toBe('messages[0].content[1]');
  });
});

describe('uploadBody', () => {
  it('should hold purpose=general and the file with its name and type, bytes intact', () => {
    const body = uploadBody({ bytes: PNG, type: 'image/png', filename: 'image-ab.png' }, 'XB');
    const text = body.toString('latin1');
    expect(text).toContain('--XB\r\nContent-Disposition: form-data; name="purpose"\r\n\r\ngeneral\r\n');
    expect(text).toContain(
      'Content-Disposition: form-data; name="file"; filename="image-ab.png"\r\nContent-Type: image/png\r\n\r\n',
    );
    expect(text.endsWith('\r\n--XB--\r\n')).toBe(true);
    expect(body.includes(PNG)).toBe(true);
  });
});

describe('GigaChatFileCache', () => {
  const image = (bytes: Buffer, messageIndex = 0): GigaChatImage =>
    decodeImagePart(imagePart(dataUrl(bytes)), `messages[${messageIndex}].content[0]`, messageIndex);
  const other = (n: number): Buffer => Buffer.concat([JPEG, Buffer.from([n])]);

  /** An upstream that records uploads and deletions; ids are `f1`, `f2`, … */
  function upstream(): {
    uploads: string[];
    deleted: string[];
    upload: (i: GigaChatImage) => Promise<string>;
    remove: (id: string) => Promise<void>;
  } {
    const uploads: string[] = [];
    const deleted: string[] = [];
    return {
      uploads,
      deleted,
      upload: async (i) => {
        await new Promise((resolve) => setImmediate(resolve));
        uploads.push(i.sha256);
        return `f${uploads.length}`;
      },
      remove: (id) => {
        deleted.push(id);
        return Promise.resolve();
      },
    };
  }
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('should upload an image once per account, concurrent calls sharing the upload', async () => {
    const cache = new GigaChatFileCache();
    const up = upstream();
    const leases = await Promise.all(
      Array.from({ length: 5 }, () => cache.acquire('giga/main', [image(PNG, 1)], up.upload, up.remove)),
    );
    expect(up.uploads).toHaveLength(1);
    expect(leases.map((l) => [...l.ids])).toEqual(Array(5).fill([[1, ['f1']]]));
    const again = await cache.acquire('giga/main', [image(PNG)], up.upload, up.remove);
    expect(again.ids.get(0)).toEqual(['f1']);
    const otherAccount = await cache.acquire('giga/second', [image(PNG)], up.upload, up.remove);
    expect(otherAccount.ids.get(0)).toEqual(['f2']);
    expect(up.uploads).toHaveLength(2);
  });

  it('should stop waiting for a slow upload when the call is cancelled, the upload going on for the others', async () => {
    const cache = new GigaChatFileCache();
    let finish: (id: string) => void = () => undefined;
    const slow = () => new Promise<string>((resolve) => (finish = resolve));
    const cancelled = new AbortController();
    const leaving = cache.acquire('acc', [image(PNG)], slow, () => Promise.resolve(), cancelled.signal);
    const staying = cache.acquire('acc', [image(PNG)], slow, () => Promise.resolve());
    cancelled.abort(new Error('client went away'));
    await expect(leaving).rejects.toThrow('client went away');
    finish('f1');
    expect((await staying).ids.get(0)).toEqual(['f1']);
  });

  it('should delete the least recently used file when full, once no call holds it', async () => {
    const cache = new GigaChatFileCache({ maxEntries: 2 });
    const up = upstream();
    const a = await cache.acquire('acc', [image(other(1))], up.upload, up.remove);
    (await cache.acquire('acc', [image(other(2))], up.upload, up.remove)).release();
    // a is used again, so other(2) is the least recently used one.
    (await cache.acquire('acc', [image(other(1))], up.upload, up.remove)).release();
    (await cache.acquire('acc', [image(other(3))], up.upload, up.remove)).release();
    await settle();
    expect(up.deleted).toEqual(['f2']);
    expect(cache.size).toBe(2);
    a.release();
    await cache.close();
    expect(up.deleted.sort()).toEqual(['f1', 'f2', 'f3']);
  });

  it('should wait for the calls holding an evicted file before deleting it', async () => {
    const cache = new GigaChatFileCache({ maxEntries: 1 });
    const up = upstream();
    const held = await cache.acquire('acc', [image(other(1))], up.upload, up.remove);
    (await cache.acquire('acc', [image(other(2))], up.upload, up.remove)).release();
    await settle();
    expect(up.deleted).toEqual([]);
    held.release();
    held.release(); // twice is once
    await settle();
    expect(up.deleted).toEqual(['f1']);
  });

  it('should upload again after the TTL and delete the expired file', async () => {
    let now = 1_000;
    const cache = new GigaChatFileCache({ ttlMs: 100, now: () => now });
    const up = upstream();
    (await cache.acquire('acc', [image(PNG)], up.upload, up.remove)).release();
    now += 99;
    expect((await cache.acquire('acc', [image(PNG)], up.upload, up.remove)).ids.get(0)).toEqual(['f1']);
    now += 1;
    const fresh = await cache.acquire('acc', [image(PNG)], up.upload, up.remove);
    expect(fresh.ids.get(0)).toEqual(['f2']);
    await settle();
    // f1 is still held by the lease taken at 1,099 that was never released: deleted once it is.
    expect(up.deleted).toEqual([]);
  });

  it('should not cache a failed upload, and fail the call with its error', async () => {
    const cache = new GigaChatFileCache();
    const up = upstream();
    const refusal = new GatewayError(ErrorCode.UPSTREAM_5XX, 'giga: Internal Server Error');
    const failing = (): Promise<string> => Promise.reject(refusal);
    await expect(cache.acquire('acc', [image(PNG)], failing, up.remove)).rejects.toBe(refusal);
    expect(cache.size).toBe(0);
    expect((await cache.acquire('acc', [image(PNG)], up.upload, up.remove)).ids.get(0)).toEqual(['f1']);
    await settle();
    expect(up.deleted).toEqual([]);
  });

  it('should release the images already uploaded when another of the call fails', async () => {
    const cache = new GigaChatFileCache({ maxEntries: 1 });
    const up = upstream();
    const second = image(other(2), 1);
    const upload = (i: GigaChatImage): Promise<string> =>
      i === second ? Promise.reject(new Error('refused')) : up.upload(i);
    await expect(cache.acquire('acc', [image(other(1)), second], upload, up.remove)).rejects.toThrow('refused');
    // The cache holds f1 unleased: the next upload evicts and deletes it at once.
    (await cache.acquire('acc', [image(other(3))], up.upload, up.remove)).release();
    await settle();
    expect(up.deleted).toEqual(['f1']);
  });

  it('should delete every file on close, even one still held, and log a failed delete without throwing', async () => {
    const cache = new GigaChatFileCache();
    const up = upstream();
    await cache.acquire('acc', [image(other(1))], up.upload, up.remove);
    (await cache.acquire('acc', [image(other(2))], up.upload, () => Promise.reject(new Error('503')))).release();
    await cache.close();
    expect(cache.size).toBe(0);
    expect(up.deleted).toEqual(['f1']);
  });
});
