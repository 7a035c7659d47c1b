import type { IncomingMessage, ServerResponse } from 'node:http';

/** The most of an unread body the gateway reads and drops to keep a connection open after an early answer. */
export const DRAIN_UNREAD_BODY_BYTES = 64 * 1024;

const released = new WeakSet<IncomingMessage>();

/**
 * What happens to the part of a request body nobody will read, once the request is answered early (refused before
 * its body was wanted: a 401 for an anonymous POST; or while reading it: a 413). A small rest is read and dropped,
 * so a client still uploading gets the answer instead of a reset and the connection stays usable. A rest declared
 * or found to be over `capBytes` closes the connection after the answer instead: nobody makes the gateway read a
 * body it has not admitted. (Left alone, node:http would read and discard the whole body to reuse the connection.)
 */
export function releaseUnreadBody(req: IncomingMessage, res: ServerResponse, capBytes: number): void {
  if (req.complete || released.has(req)) return;
  released.add(req);
  req.unpipe();
  if (Number(req.headers['content-length']) > capBytes) {
    // node:http ends the socket once an answer that says `connection: close` is out; nothing more is read.
    if (!res.headersSent) res.setHeader('connection', 'close');
    return;
  }
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > capBytes) req.socket.destroy();
  });
  req.resume();
}
