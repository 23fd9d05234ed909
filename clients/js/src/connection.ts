// One WebSocket to a node (protocol spec §1): requests by id, document streams, the heartbeat, and
// reconnection. Streams outlive sockets: after a reconnect each open stream is asked for again
// with its viewer state and its view is replaced by the full view the new stream starts with.

import { AdamaError, SOCKET_LOST, disconnectError } from "./errors.js";
import { DocumentStream, type StreamHost } from "./stream.js";
import type { JsonObject } from "./view.js";

export type Status = "connecting" | "connected" | "disconnected" | "closed";
export type StatusListener = (status: Status, error?: AdamaError) => void;

/** What the connection needs of a WebSocket; the browser's and Node 22's `WebSocket` fit. */
export interface SocketLike {
  send(data: string): void;
  close(): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export interface ConnectionOptions {
  /** `ws://host:port/~s`; in a page it defaults to the page's own host. */
  url?: string;
  /** The identity requests carry unless they name one (default `anonymous:guest`). */
  identity?: string;
  /** Opens a socket; defaults to the global `WebSocket`. */
  socket?: SocketFactory;
  /** Reconnect delays: the first retry waits `initialMs`, each next one ×[1,2), at most `maxMs`. */
  backoff?: { initialMs?: number; maxMs?: number; afterDisconnectMs?: number };
  /** The keepalive watchdog: every `checkMs`, a silence longer than `silenceMs` counts; `failures` in a row drop the socket. `false` turns it off. */
  keepalive?: { checkMs?: number; silenceMs?: number; failures?: number } | false;
  /** A source of numbers in [0,1) for the jitter (tests pass a seeded one). */
  random?: () => number;
}

interface PendingRequest {
  kind: "request";
  resolve: (response: JsonObject) => void;
  reject: (error: AdamaError) => void;
}

interface PendingStream {
  kind: "stream";
  stream: DocumentStream;
}

type Frame = Record<string, unknown>;

function defaultUrl(): string {
  const place = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!place) {
    throw new Error("no url: pass `url` (ws://host:port/~s) outside a browser page");
  }
  return `${place.protocol === "https:" ? "wss" : "ws"}://${place.host}/~s`;
}

function defaultSocket(url: string): SocketLike {
  const Socket = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (!Socket) {
    throw new Error("no WebSocket in this runtime: pass `socket` (Node 20: --experimental-websocket, or the ws package)");
  }
  return new Socket(url);
}

export class Connection implements StreamHost {
  readonly url: string;
  readonly identity: string;
  private readonly openSocket: SocketFactory;
  private readonly random: () => number;
  private readonly initialDelay: number;
  private readonly maxDelay: number;
  private readonly afterDisconnectDelay: number;
  private readonly keepalive: { checkMs: number; silenceMs: number; failures: number } | null;

  private socket: SocketLike | null = null;
  private currentStatus: Status = "disconnected";
  private started = false;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest | PendingStream>();
  private readonly streams = new Set<DocumentStream>();
  /** Work that waits for the next `connected`. */
  private outbox: Array<() => void> = [];
  private delay = 0;
  private serverSaidDisconnected = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastPing = 0;
  private silentChecks = 0;
  private readonly statusListeners = new Set<StatusListener>();
  private waiters: Array<() => void> = [];
  /** The round trip the server measured, in ms (its `latency`). */
  latency = 0;

  constructor(options: ConnectionOptions = {}) {
    this.url = options.url ?? defaultUrl();
    this.identity = options.identity ?? "anonymous:guest";
    this.openSocket = options.socket ?? defaultSocket;
    this.random = options.random ?? Math.random;
    this.initialDelay = options.backoff?.initialMs ?? 100;
    this.maxDelay = options.backoff?.maxMs ?? 5000;
    this.afterDisconnectDelay = options.backoff?.afterDisconnectMs ?? 1000;
    this.keepalive =
      options.keepalive === false
        ? null
        : {
            checkMs: options.keepalive?.checkMs ?? 1250,
            silenceMs: options.keepalive?.silenceMs ?? 2500,
            failures: options.keepalive?.failures ?? 3,
          };
  }

  get status(): Status {
    return this.currentStatus;
  }

  /** Calls `listener(status, error?)` on every change of status; returns the function that stops it. */
  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Opens the socket (and keeps reopening it until `close()`). */
  start(): this {
    if (!this.started) {
      this.started = true;
      this.open();
    }
    return this;
  }

  /** Resolves once the socket is connected (starting it if needed). */
  waitConnected(): Promise<void> {
    this.start();
    if (this.currentStatus === "connected") {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Closes the socket for good: pending requests fail with 999 and streams stop. */
  close(): void {
    this.started = false;
    if (this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    const socket = this.socket;
    this.dropSocket(new AdamaError(SOCKET_LOST, false, "closed"));
    socket?.close();
    for (const stream of [...this.streams]) {
      stream.closedByClient();
    }
    this.streams.clear();
    this.outbox = [];
    this.setStatus("closed");
  }

  /** Sends one request/response method; resolves with its `response`, rejects with an AdamaError. */
  request(method: string, params: Record<string, unknown> = {}): Promise<JsonObject> {
    return new Promise((resolve, reject) => {
      this.whenConnected(() => {
        const id = this.nextId++;
        this.pending.set(id, { kind: "request", resolve, reject });
        this.write({ method, id, ...params });
      });
    });
  }

  /** `document/create`: makes the document, running its constructor with `arg`. */
  async create(space: string, key: string, arg: JsonObject = {}, options: { identity?: string; entropy?: string } = {}): Promise<void> {
    const params: Record<string, unknown> = { identity: options.identity ?? this.identity, space, key, arg };
    if (options.entropy !== undefined) {
      params.entropy = options.entropy;
    }
    await this.request("document/create", params);
  }

  /** `document/delete`. */
  async delete(space: string, key: string, options: { identity?: string } = {}): Promise<void> {
    await this.request("document/delete", { identity: options.identity ?? this.identity, space, key });
  }

  /** A fresh token for `sendOnce` (`documents/create-dedupe`). */
  async createDedupe(): Promise<string> {
    const response = await this.request("documents/create-dedupe");
    return String(response.dedupe);
  }

  /** Opens a document stream: a view that follows the document, and a handle to send messages. */
  connect(space: string, key: string, viewerState: JsonObject = {}, options: { identity?: string } = {}): DocumentStream {
    const stream = new DocumentStream(this, options.identity ?? this.identity, space, key, viewerState);
    this.streams.add(stream);
    this.start();
    this.whenConnected(() => this.openStream(stream));
    return stream;
  }

  // StreamHost: what a stream asks of its connection.

  /** Sends a sub-request of `stream` once the socket is up and the stream is open on it. */
  subRequest(stream: DocumentStream, method: string, params: Record<string, unknown>): Promise<JsonObject> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        if (stream.state === "ended" || stream.state === "failed") {
          reject(new AdamaError(SOCKET_LOST, false, `${method}: the stream has ${stream.state}`));
          return;
        }
        const connection = stream.streamId;
        if (connection === null || this.currentStatus !== "connected") {
          // The stream is being opened again (after a reconnect or a retryable failure).
          stream.deferred.push(attempt);
          return;
        }
        const id = this.nextId++;
        this.pending.set(id, { kind: "request", resolve, reject });
        this.write({ method, id, connection, ...params });
      };
      this.whenConnected(attempt);
    });
  }

  forget(stream: DocumentStream): void {
    this.streams.delete(stream);
    if (stream.streamId !== null) {
      const pending = this.pending.get(stream.streamId);
      if (pending?.kind === "stream" && pending.stream === stream) {
        this.pending.delete(stream.streamId);
      }
    }
  }

  /** Opens `stream` again after a failure the server marked as retryable. */
  retryLater(stream: DocumentStream): void {
    const wait = this.nextDelay();
    setTimeout(() => {
      if (this.streams.has(stream)) {
        this.whenConnected(() => this.openStream(stream));
      }
    }, wait);
  }

  private openStream(stream: DocumentStream): void {
    if (!this.streams.has(stream) || stream.streamId !== null) {
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, { kind: "stream", stream });
    stream.opened(id);
    this.write({
      method: "connection/create",
      id,
      identity: stream.identity,
      space: stream.space,
      key: stream.key,
      "viewer-state": stream.viewerState,
    });
    stream.runDeferred();
  }

  private whenConnected(work: () => void): void {
    if (this.currentStatus === "connected") {
      work();
    } else {
      this.outbox.push(work);
      this.start();
    }
  }

  private write(frame: Frame): void {
    this.socket?.send(JSON.stringify(frame));
  }

  private open(): void {
    this.reconnectTimer = null;
    this.serverSaidDisconnected = false;
    this.setStatus("connecting");
    let socket: SocketLike;
    try {
      socket = this.openSocket(this.url);
    } catch (error) {
      this.setStatus("disconnected", new AdamaError(SOCKET_LOST, false, String(error)));
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onmessage = (event) => {
      if (this.socket === socket) {
        this.receive(event.data);
      }
    };
    socket.onclose = () => {
      if (this.socket === socket) {
        this.lost(new AdamaError(SOCKET_LOST, false, "socket closed"));
      }
    };
    socket.onerror = () => {
      if (this.socket === socket) {
        socket.close();
        this.lost(new AdamaError(SOCKET_LOST, false, "socket error"));
      }
    };
  }

  private receive(data: unknown): void {
    let frame: unknown;
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      return;
    }
    const message = frame as Frame;
    if ("ping" in message) {
      this.lastPing = Date.now();
      this.silentChecks = 0;
      this.latency = Number(message.latency) || 0;
      this.write({ ...message, pong: Date.now() / 1000 });
      return;
    }
    if (message.status === "connected") {
      this.connected();
      return;
    }
    if (message.status === "disconnected") {
      this.serverSaidDisconnected = true;
      const socket = this.socket;
      this.lost(disconnectError(message.reason));
      socket?.close();
      return;
    }
    if (typeof message.deliver === "number") {
      const pending = this.pending.get(message.deliver);
      const response = message.response as JsonObject | undefined;
      if (pending?.kind === "request") {
        this.pending.delete(message.deliver);
        pending.resolve(response ?? {});
      } else if (pending?.kind === "stream") {
        if (response) {
          pending.stream.item(response);
        }
        if (message.done === true) {
          this.pending.delete(message.deliver);
          this.streams.delete(pending.stream);
          pending.stream.ended();
        }
      }
      return;
    }
    if (typeof message.failure === "number") {
      const pending = this.pending.get(message.failure);
      this.pending.delete(message.failure);
      const error = new AdamaError(Number(message.reason), message.retry === true);
      if (pending?.kind === "request") {
        pending.reject(error);
      } else if (pending?.kind === "stream") {
        if (!error.retry) {
          this.streams.delete(pending.stream);
        }
        pending.stream.failed(error);
      }
    }
  }

  private connected(): void {
    this.delay = 0;
    this.lastPing = Date.now();
    this.silentChecks = 0;
    this.setStatus("connected");
    this.startWatchdog();
    for (const stream of this.streams) {
      if (stream.streamId === null) {
        this.openStream(stream);
      }
    }
    const work = this.outbox;
    this.outbox = [];
    for (const item of work) {
      item();
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      waiter();
    }
  }

  private startWatchdog(): void {
    this.stopWatchdog();
    const keepalive = this.keepalive;
    if (!keepalive) {
      return;
    }
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastPing <= keepalive.silenceMs) {
        this.silentChecks = 0;
        return;
      }
      this.silentChecks++;
      if (this.silentChecks >= keepalive.failures) {
        const socket = this.socket;
        this.lost(new AdamaError(SOCKET_LOST, false, "no ping from the server"));
        socket?.close();
      }
    }, keepalive.checkMs);
  }

  private stopWatchdog(): void {
    if (this.watchdog !== null) {
      clearInterval(this.watchdog);
      this.watchdog = null;
    }
  }

  /** Forgets the socket and fails what was in flight on it. */
  private dropSocket(error: AdamaError): void {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
    }
    this.stopWatchdog();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const item of pending) {
      if (item.kind === "request") {
        item.reject(error);
      }
    }
    for (const stream of this.streams) {
      stream.suspended();
    }
  }

  private lost(error: AdamaError): void {
    this.dropSocket(error);
    this.setStatus("disconnected", error);
    this.scheduleReconnect();
  }

  private nextDelay(): number {
    this.delay = this.delay === 0 ? this.initialDelay : Math.min(this.maxDelay, this.delay * (1 + this.random()));
    return this.delay;
  }

  private scheduleReconnect(): void {
    if (!this.started || this.reconnectTimer !== null) {
      return;
    }
    let wait = this.nextDelay();
    if (this.serverSaidDisconnected) {
      wait = Math.max(wait, this.afterDisconnectDelay);
    }
    this.reconnectTimer = setTimeout(() => this.open(), wait);
  }

  private setStatus(status: Status, error?: AdamaError): void {
    if (status === this.currentStatus && !error) {
      return;
    }
    this.currentStatus = status;
    for (const listener of [...this.statusListeners]) {
      listener(status, error);
    }
  }
}
