/**
 * GigaChat's file storage, emulated (docs/provider-protocols.md §2.4; shapes of the official SDK's `models/files.py`
 * and its test data `post_files.json`, `post_files_delete.json`):
 *   POST /v1/files              multipart: `file` (with filename and type) + `purpose` (general | assistant)
 *                               → {id, object: "file", bytes, created_at, filename, purpose, access_policy}
 *   GET  /v1/files              → {data: [file, …]} (this account's files)
 *   POST /v1/files/{id}/delete  → {id, object: "file", deleted: true}; an unknown id (or another account's) → 404
 * Chat messages may carry `attachments: [id]`: each must be a file of the same account (else 400), at most one
 * image per message and 10 files per request (else 422). Files are kept per authorization key, as GigaChat keeps them
 * per client. No recording of these calls exists: status codes and messages of the refusals are the emulator's.
 */
import { createHash, randomUUID } from 'node:crypto';

/** Image types the emulator takes (GigaChat's documented ones), with their first bytes. */
const IMAGE_TYPES: ReadonlyArray<[type: string, signature: (bytes: Buffer) => boolean]> = [
  ['image/jpeg', (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['image/png', (b) => b.subarray(0, 4).toString('latin1') === '\x89PNG'],
  ['image/tiff', (b) => ['49492a00', '4d4d002a'].includes(b.subarray(0, 4).toString('hex'))],
  ['image/bmp', (b) => b.subarray(0, 2).toString('latin1') === 'BM'],
];
/** Other documented types (text documents), taken as they are. */
const DOCUMENT_TYPES = ['text/plain', 'application/pdf', 'application/msword', 'application/epub'];
export const GIGACHAT_MAX_IMAGE_BYTES = 15 * 1024 * 1024;
const MAX_FILES = 1_000;

export interface StoredFile {
  id: string;
  authKey: string;
  filename: string;
  type: string;
  purpose: string;
  bytes: number;
  sha256: string;
  createdAt: number;
}

/** A refusal: the status and message of the API error body. */
export interface FileRefusal {
  status: number;
  message: string;
}

function refusal(status: number, message: string): FileRefusal {
  return { status, message };
}

interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: Buffer;
}

/** The parts of a multipart/form-data body; undefined when it is not one. */
export function parseMultipart(body: Buffer, contentType: string | undefined): Part[] | undefined {
  const match = /^multipart\/form-data;.*boundary="?([^";]+)"?/i.exec(contentType ?? '');
  if (!match) return undefined;
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: Part[] = [];
  let start = body.indexOf(delimiter);
  if (start === -1) return undefined;
  for (;;) {
    start += delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') return parts;
    start += 2; // CRLF after the delimiter
    const next = body.indexOf(delimiter, start);
    if (next === -1) return undefined;
    const part = body.subarray(start, next - 2); // CRLF before the next delimiter
    const split = part.indexOf('\r\n\r\n');
    if (split === -1) return undefined;
    const headers = part.subarray(0, split).toString('utf8');
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) return undefined;
    parts.push({
      name,
      filename: /filename="([^"]*)"/i.exec(headers)?.[1],
      type: /^content-type:\s*([^\r\n]+)/im.exec(headers)?.[1].trim(),
      data: part.subarray(split + 4),
    });
    start = next;
  }
}

function describe(file: StoredFile): Record<string, unknown> {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    access_policy: 'private',
  };
}

/** The files of one emulator, by id. */
export class GigaChatFileStore {
  private readonly files = new Map<string, StoredFile>();

  /** Files currently stored (every account). */
  list(authKey?: string): StoredFile[] {
    return [...this.files.values()].filter((file) => authKey === undefined || file.authKey === authKey);
  }

  /** `POST /files`: the stored file's answer, or why not. */
  upload(authKey: string, body: Buffer, contentType: string | undefined): Record<string, unknown> | FileRefusal {
    const parts = parseMultipart(body, contentType);
    if (!parts) return refusal(400, 'Request must be multipart/form-data');
    const file = parts.find((part) => part.name === 'file');
    if (!file || file.filename === undefined) return refusal(400, 'file is required');
    const purpose = parts.find((part) => part.name === 'purpose')?.data.toString('utf8') ?? 'general';
    if (purpose !== 'general' && purpose !== 'assistant') return refusal(400, `Invalid purpose: ${purpose}`);
    const type = file.type ?? 'application/octet-stream';
    const image = IMAGE_TYPES.find(([name]) => name === type);
    if (image) {
      if (!image[1](file.data)) return refusal(400, `File content is not ${type}`);
      if (file.data.length > GIGACHAT_MAX_IMAGE_BYTES) return refusal(413, 'Payload too large');
    } else if (!DOCUMENT_TYPES.includes(type)) {
      return refusal(415, `Unsupported file type: ${type}`);
    }
    if (this.files.size >= MAX_FILES) return refusal(429, 'Too many files stored');
    const stored: StoredFile = {
      id: randomUUID(),
      authKey,
      filename: file.filename,
      type,
      purpose,
      bytes: file.data.length,
      sha256: createHash('sha256').update(file.data).digest('hex'),
      createdAt: Math.floor(Date.now() / 1000),
    };
    this.files.set(stored.id, stored);
    return describe(stored);
  }

  /** `POST /files/{id}/delete`. */
  delete(authKey: string, id: string): Record<string, unknown> | FileRefusal {
    const file = this.files.get(id);
    if (!file || file.authKey !== authKey) return refusal(404, 'File not found');
    this.files.delete(id);
    return { id, object: 'file', deleted: true };
  }

  /** `GET /files`. */
  listed(authKey: string): Record<string, unknown> {
    return { data: this.list(authKey).map(describe) };
  }

  /** The files a chat's messages attach, or why the chat is refused. */
  attached(authKey: string, messages: readonly Record<string, unknown>[]): Map<number, StoredFile[]> | FileRefusal {
    const found = new Map<number, StoredFile[]>();
    let total = 0;
    for (const [i, message] of messages.entries()) {
      const ids = message.attachments;
      if (ids === undefined) continue;
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
        return refusal(422, `Invalid params: messages[${i}].attachments must be an array of file ids`);
      }
      const files: StoredFile[] = [];
      for (const id of ids) {
        const file = this.files.get(id);
        if (!file || file.authKey !== authKey) return refusal(400, `File not found: ${id}`);
        files.push(file);
      }
      if (files.filter((file) => file.type.startsWith('image/')).length > 1) {
        return refusal(422, `Invalid params: messages[${i}] may attach one image only`);
      }
      total += files.length;
      if (total > 10) return refusal(422, 'Invalid params: at most 10 files per request');
      found.set(i, files);
    }
    return found;
  }
}

export function isRefusal(value: unknown): value is FileRefusal {
  return typeof value === 'object' && value !== null && typeof (value as FileRefusal).status === 'number';
}

/** What the model "sees" of a message's files, appended to its answer so a test can tell the image arrived. */
export function seenFiles(files: readonly StoredFile[]): string {
  return files.map((file) => ` [saw ${file.type}, ${file.bytes} bytes, sha256 ${file.sha256.slice(0, 16)}]`).join('');
}
