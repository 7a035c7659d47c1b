import { GigaChatFileStore, isRefusal } from './gigachat-files.emulator';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

function multipart(type: string, bytes: Buffer, purpose = 'general'): { body: Buffer; contentType: string } {
  const b = 'BOUNDARY';
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${purpose}\r\n`),
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    bytes,
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${b}` };
}

describe('GigaChatFileStore', () => {
  const upload = (store: GigaChatFileStore, key: string, type = 'image/png', bytes = PNG): string => {
    const { body, contentType } = multipart(type, bytes);
    const answer = store.upload(key, body, contentType);
    if (isRefusal(answer)) throw new Error(answer.message);
    return String(answer.id);
  };

  it('should store an upload with the SDK’s answer shape, bytes intact', () => {
    const store = new GigaChatFileStore();
    const { body, contentType } = multipart('image/png', PNG);
    expect(store.upload('k', body, contentType)).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      object: 'file',
      bytes: PNG.length,
      created_at: expect.any(Number),
      filename: 'a.png',
      purpose: 'general',
      access_policy: 'private',
    });
  });

  it.each([
    ['not multipart', Buffer.from('{}'), 'application/json', 400],
    ['a bad purpose', multipart('image/png', PNG, 'fun').body, multipart('x', PNG).contentType, 400],
    [
      'bytes that are not the declared image',
      multipart('image/png', Buffer.from('GIF89a')).body,
      multipart('x', PNG).contentType,
      400,
    ],
    ['an unsupported type', multipart('video/mp4', PNG).body, multipart('x', PNG).contentType, 415],
  ])('should refuse %s', (_title, body, contentType, status) => {
    const answer = new GigaChatFileStore().upload('k', body, contentType);
    expect(isRefusal(answer) && answer.status).toBe(status);
  });

  it('should check attachments: own files only, one image per message', () => {
    const store = new GigaChatFileStore();
    const mine = upload(store, 'k');
    const second = upload(store, 'k');
    const theirs = upload(store, 'other');
    const ok = store.attached('k', [{ role: 'user', content: 'x', attachments: [mine] }]);
    expect(!isRefusal(ok) && ok.get(0)?.map((f) => f.id)).toEqual([mine]);
    expect(store.attached('k', [{ role: 'user', content: 'x', attachments: [theirs] }])).toEqual({
      status: 400,
      message: `File not found: ${theirs}`,
    });
    expect(store.attached('k', [{ attachments: ['nope'] }])).toMatchObject({ status: 400 });
    expect(store.attached('k', [{ attachments: [mine, second] }])).toMatchObject({ status: 422 });
    expect(store.attached('k', [{ attachments: 'x' }])).toMatchObject({ status: 422 });
  });

  it('should delete an own file once, and 404 otherwise', () => {
    const store = new GigaChatFileStore();
    const id = upload(store, 'k');
    expect(store.delete('other', id)).toEqual({ status: 404, message: 'File not found' });
    expect(store.delete('k', id)).toEqual({ id, object: 'file', deleted: true });
    expect(store.delete('k', id)).toMatchObject({ status: 404 });
    expect(store.list()).toEqual([]);
  });
});
