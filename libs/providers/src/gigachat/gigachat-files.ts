/**
 * Images for GigaChat: OpenAI `image_url` content parts become files uploaded with `POST /files` (multipart,
 * `purpose=general`) whose ids the user message carries in `attachments` (docs/provider-protocols.md §2.4, §2.5;
 * the upload and delete calls as the official `gigachat` SDK makes them, `api/files.py`).
 *
 * Decisions worth knowing:
 * - Only inline images (`data:<type>;base64,<data>`) are taken. The gateway does not fetch remote `http(s)` URLs:
 *   fetching whatever URL a client names from inside the cluster is a server-side request forgery hole, so such a
 *   part is refused with 400 naming it.
 * - The image type is read from the bytes (magic numbers), not from the data URL's label; GigaChat documents JPEG,
 *   PNG, TIFF and BMP images, at most 15 MB each, one image per message, 10 files and 80 MB per request.
 * - Each account uploads one image once: the upload's id is cached by the SHA-256 of the bytes, bounded and with a
 *   TTL, and a file leaving the cache (evicted, expired, on shutdown) is deleted with `POST /files/{id}/delete` once
 *   no call in flight still uses it. The cache is per process: a replica deletes only what it uploaded, so another
 *   replica's calls never lose a file under them (a shared cache would need shared reference counts to delete safely).
 */
import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ChatContentPart, ChatMessage, ErrorCode, GatewayError } from '@xrouter/common';

/** The documented limits (GigaChat "working with files" guide). */
export const GIGACHAT_IMAGE_LIMITS = {
  /** Bytes of one image. */
  maxImageBytes: 15 * 1024 * 1024,
  /** Images in one message. */
  maxImagesPerMessage: 1,
  /** Files in one request. */
  maxFilesPerRequest: 10,
  /** Bytes of all files of one request. */
  maxRequestBytes: 80 * 1024 * 1024,
} as const;

/** The image types GigaChat takes, with how each one's bytes begin. */
const IMAGE_SIGNATURES: ReadonlyArray<{ type: string; extension: string; matches: (bytes: Buffer) => boolean }> = [
  {
    type: 'image/jpeg',
    extension: 'jpg',
    matches: (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  },
  {
    type: 'image/png',
    extension: 'png',
    matches: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  {
    type: 'image/tiff',
    extension: 'tiff',
    matches: (b) => ['49492a00', '4d4d002a'].includes(b.subarray(0, 4).toString('hex')),
  },
  { type: 'image/bmp', extension: 'bmp', matches: (b) => b.length > 14 && b[0] === 0x42 && b[1] === 0x4d },
];

export const GIGACHAT_IMAGE_TYPES: readonly string[] = IMAGE_SIGNATURES.map((s) => s.type);

/** One image of a request, checked and decoded, ready to upload. */
export interface GigaChatImage {
  /** Index of the message it belongs to. */
  messageIndex: number;
  /** `messages[i].content[j]`, for errors. */
  param: string;
  type: string;
  bytes: Buffer;
  /** Hex SHA-256 of `bytes`: the cache key (with the account). */
  sha256: string;
  /** The name it is uploaded under: `image-<hash prefix>.<extension>`. */
  filename: string;
}

function badRequest(message: string, param: string): GatewayError {
  return new GatewayError(ErrorCode.BAD_REQUEST, message, { param });
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isImagePart(part: ChatContentPart): boolean {
  return part.type === 'image_url';
}

/** The URL of an `image_url` part: `{image_url: {url}}` as OpenAI sends it, or `{image_url: "<url>"}`. */
function urlOf(part: ChatContentPart, param: string): { url: string; param: string } {
  const value = part.image_url;
  if (typeof value === 'string') return { url: value, param: `${param}.image_url` };
  if (value && typeof value === 'object' && typeof (value as { url?: unknown }).url === 'string') {
    return { url: (value as { url: string }).url, param: `${param}.image_url.url` };
  }
  throw badRequest('An image_url part needs image_url.url', `${param}.image_url`);
}

/** Decodes and checks one `image_url` part; `param` names the part. */
export function decodeImagePart(part: ChatContentPart, param: string, messageIndex: number): GigaChatImage {
  const { url, param: urlParam } = urlOf(part, param);
  if (/^https?:/i.test(url)) {
    throw badRequest(
      'GigaChat takes images as uploads and the gateway does not fetch remote URLs: send the image inline as a ' +
        'data: URL (data:image/png;base64,...)',
      urlParam,
    );
  }
  const header = DATA_URL.exec(url);
  if (!header || !/;base64$/i.test(header[2])) {
    throw badRequest('An image must be a base64 data: URL (data:image/png;base64,...)', urlParam);
  }
  const data = url.slice(header[0].length);
  // Decoded size from the encoded length, checked before decoding anything large.
  const size = Math.floor((data.length * 3) / 4) - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0);
  if (size > GIGACHAT_IMAGE_LIMITS.maxImageBytes) {
    throw badRequest(
      `The image is ${size} bytes; GigaChat takes images of at most ${GIGACHAT_IMAGE_LIMITS.maxImageBytes} bytes (15 MB)`,
      urlParam,
    );
  }
  if (data.length % 4 !== 0 || !BASE64.test(data)) throw badRequest('The image data is not valid base64', urlParam);
  const bytes = Buffer.from(data, 'base64');
  const signature = IMAGE_SIGNATURES.find((s) => s.matches(bytes));
  if (!signature) {
    const label = header[1] || 'no type';
    throw badRequest(
      `The image (labelled ${label}) is not of a type GigaChat takes: ${GIGACHAT_IMAGE_TYPES.join(', ')}`,
      urlParam,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    messageIndex,
    param,
    type: signature.type,
    bytes,
    sha256,
    filename: `image-${sha256.slice(0, 16)}.${signature.extension}`,
  };
}

/**
 * Every image of a request, decoded and checked against GigaChat's limits before anything is sent. Images are taken
 * in user messages only (as OpenAI does); elsewhere an image part stays an unsupported part.
 */
export function collectImages(messages: readonly ChatMessage[]): GigaChatImage[] {
  const images: GigaChatImage[] = [];
  let total = 0;
  messages.forEach((message, i) => {
    if (message.role !== 'user' || !Array.isArray(message.content)) return;
    let inMessage = 0;
    message.content.forEach((part, j) => {
      if (!isImagePart(part)) return;
      const param = `messages[${i}].content[${j}]`;
      if (++inMessage > GIGACHAT_IMAGE_LIMITS.maxImagesPerMessage) {
        throw badRequest('GigaChat takes one image per message: put each image in a message of its own', param);
      }
      if (images.length >= GIGACHAT_IMAGE_LIMITS.maxFilesPerRequest) {
        throw badRequest(`GigaChat takes at most ${GIGACHAT_IMAGE_LIMITS.maxFilesPerRequest} files per request`, param);
      }
      const image = decodeImagePart(part, param, i);
      total += image.bytes.length;
      if (total > GIGACHAT_IMAGE_LIMITS.maxRequestBytes) {
        throw badRequest('The images of this request exceed GigaChat’s 80 MB per request', param);
      }
      images.push(image);
    });
  });
  return images;
}

/** A user message's text when its images travel as attachments: text parts joined, image parts left out. */
export function textBesideImages(content: ChatContentPart[], param: string): string {
  return content
    .flatMap((part, j) => {
      if (isImagePart(part)) return [];
      if (part.type === 'text' && typeof part.text === 'string') return [part.text];
      throw badRequest(`Content parts of type '${part.type}' are not supported by this model`, `${param}[${j}]`);
    })
    .join('\n');
}

/** The multipart body of `POST /files` as the SDK sends it: a `file` part and `purpose=general`. */
export function uploadBody(image: Pick<GigaChatImage, 'bytes' | 'type' | 'filename'>, boundary: string): Buffer {
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\ngeneral\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${image.filename}"\r\n` +
    `Content-Type: ${image.type}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), image.bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}

interface CachedFile {
  key: string;
  /** The upload, while it runs; its id once done. */
  id: Promise<string>;
  expiresAt: number;
  /** Calls in flight using this file: it is deleted only when none is left. */
  leases: number;
  /** Left the cache: delete as soon as `leases` reaches 0. */
  retired: boolean;
  /** Its deletion has started (once only). */
  deleted: boolean;
  /** Deletes the file upstream (with the account's credentials). */
  remove: (id: string) => Promise<void>;
}

export interface GigaChatFileCacheOptions {
  /** Files kept per process, over every account (default 256). */
  maxEntries?: number;
  /** How long an upload is reused (default 1 hour). */
  ttlMs?: number;
  now?: () => number;
}

/** The files a call uses, released when the call is done with them. */
export interface FileLease {
  readonly ids: ReadonlyMap<number, string[]>;
  release(): void;
}

/**
 * Upload ids by (account, content hash): one upload per image per account, concurrent calls sharing the upload in
 * flight, LRU-bounded and expiring; a file that leaves is deleted upstream once no call holds it. No timer runs:
 * expiry is checked when the cache is used, and {@link close} deletes everything left.
 */
export class GigaChatFileCache {
  private readonly logger = new Logger('GigaChatFiles');
  private readonly entries = new Map<string, CachedFile>();
  private readonly deletions = new Set<Promise<void>>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: GigaChatFileCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 256;
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  /** Files held by the cache (uploaded or uploading). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The file ids of `images` by message index, uploading those not cached for `account`; the lease must be released
   * when the call no longer needs the files. A failed upload fails the call and is not cached. A call whose `signal`
   * aborts stops waiting at once (with the signal's reason); the upload itself, which other calls may share, goes on.
   */
  async acquire(
    account: string,
    images: readonly GigaChatImage[],
    upload: (image: GigaChatImage) => Promise<string>,
    remove: (id: string) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<FileLease> {
    this.sweep();
    const held = images.map((image) => this.hold(`${account}\n${image.sha256}`, () => upload(image), remove));
    const release = (): void => held.forEach((entry) => this.release(entry));
    let settled: PromiseSettledResult<string>[];
    try {
      settled = await untilAborted(Promise.allSettled(held.map((entry) => entry.id)), signal);
    } catch (aborted) {
      release();
      throw aborted;
    }
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      release();
      throw failed.reason;
    }
    const ids = new Map<number, string[]>();
    settled.forEach((result, k) => {
      const id = (result as PromiseFulfilledResult<string>).value;
      const list = ids.get(images[k].messageIndex) ?? [];
      list.push(id);
      ids.set(images[k].messageIndex, list);
    });
    let released = false;
    return {
      ids,
      release: () => {
        if (released) return;
        released = true;
        release();
      },
    };
  }

  /**
   * Deletes every file, those of calls still in flight too (the process is going away), and waits at most
   * `timeoutMs` for the deletions.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    for (const entry of [...this.entries.values()]) {
      this.retire(entry);
      this.delete(entry);
    }
    const pending = Promise.allSettled([...this.deletions]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private hold(key: string, upload: () => Promise<string>, remove: (id: string) => Promise<void>): CachedFile {
    let entry = this.entries.get(key);
    if (entry) {
      // Most recently used last: the Map's order is the LRU order.
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      entry = {
        key,
        id: upload(),
        expiresAt: this.now() + this.ttlMs,
        leases: 0,
        retired: false,
        deleted: false,
        remove,
      };
      const created = entry;
      // A failed upload leaves the cache at once, so the next call tries again.
      created.id.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
        created.retired = true;
      });
      this.entries.set(key, entry);
      while (this.entries.size > this.maxEntries) {
        const oldest = this.entries.values().next().value as CachedFile;
        this.retire(oldest);
      }
    }
    entry.leases++;
    return entry;
  }

  private release(entry: CachedFile): void {
    entry.leases--;
    if (entry.retired && entry.leases === 0) this.delete(entry);
  }

  private sweep(): void {
    const now = this.now();
    for (const entry of [...this.entries.values()]) if (entry.expiresAt <= now) this.retire(entry);
  }

  private retire(entry: CachedFile): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    if (entry.retired) return;
    entry.retired = true;
    if (entry.leases === 0) this.delete(entry);
  }

  private delete(entry: CachedFile): void {
    if (entry.deleted) return;
    entry.deleted = true;
    const deletion = entry.id.then(
      (id) =>
        entry.remove(id).catch((error: unknown) => {
          // GigaChat keeps the file: say so once, and go on.
          this.logger.warn(`could not delete uploaded image ${id}: ${(error as Error).message}`);
        }),
      () => undefined, // the upload failed: there is nothing to delete
    );
    const tracked = deletion.finally(() => this.deletions.delete(tracked));
    this.deletions.add(tracked);
  }
}

/** `work`, or a rejection with the signal's reason as soon as `signal` aborts (`work` itself is not cancelled). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
