// A scripted stand-in for a node's WebSocket: it records what the client sends and lets a test
// play the server's frames.
export class FakeServer {
  constructor() {
    this.sockets = [];
    this.opened = [];
  }

  /** The `socket` option of a Connection. */
  factory = (url) => {
    const socket = new FakeSocket(url);
    this.sockets.push(socket);
    for (const waiter of this.opened.splice(0)) waiter(socket);
    return socket;
  };

  get last() {
    return this.sockets[this.sockets.length - 1];
  }

  /** Resolves with the next socket the client opens (or the latest, if `count` are open already). */
  nextSocket(count) {
    if (this.sockets.length >= count) return Promise.resolve(this.sockets[count - 1]);
    return new Promise((resolve) => this.opened.push(resolve));
  }
}

export class FakeSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
  }

  send(text) {
    if (this.closed) throw new Error("send on a closed socket");
    this.sent.push(JSON.parse(text));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    queueMicrotask(() => this.onclose?.({}));
  }

  /** The server side: a frame to the client. */
  push(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  connected() {
    this.push({ status: "connected", version: "test", identities: {} });
  }

  /** The network drops: the client sees a close it did not ask for. */
  drop() {
    this.closed = true;
    this.onclose?.({});
  }

  requests(method) {
    return this.sent.filter((frame) => frame.method === method);
  }
}

export const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
