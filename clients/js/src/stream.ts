// A document stream (`connection/create`, spec §2.1): the viewer's view and the handle that sends
// messages, updates the viewer state and ends the stream.

import { AdamaError, SOCKET_LOST } from "./errors.js";
import { View, type Json, type JsonObject } from "./view.js";

/** What a stream needs of the connection that carries it. */
export interface StreamHost {
  subRequest(stream: DocumentStream, method: string, params: Record<string, unknown>): Promise<JsonObject>;
  forget(stream: DocumentStream): void;
  retryLater(stream: DocumentStream): void;
  createDedupe(): Promise<string>;
  waitConnected(): Promise<void>;
}

export type StreamState = "opening" | "open" | "ended" | "failed";

/** The reply to a send: the seq of the send's own update, or null when an earlier attempt of a `sendOnce` had already been applied. */
export interface SendResult {
  seq: number | null;
}

/** An item of the stream that is not a data delta: `view-state-filter`, `viewstate`, `log`, `goto`, `viewport`, … */
export type OtherItem = JsonObject;

export class DocumentStream {
  readonly view = new View();
  readonly identity: string;
  readonly space: string;
  readonly key: string;
  /** The viewer state sent when the stream opens and after every reconnect. */
  viewerState: JsonObject;
  /** The latest `outstanding` of the view (pending choose/decide), empty when none. */
  outstanding: Json[] = [];
  /** The seq of the latest item that carried one. */
  seq = 0;
  /** The id of the stream on the current socket, null while it is not open on one. */
  streamId: number | null = null;

  /** Sub-requests waiting for the stream to be open on a socket. */
  deferred: Array<() => void> = [];
  private currentState: StreamState = "opening";
  private resuming = false;
  private readonly host: StreamHost;
  private readonly errorListeners = new Set<(error: AdamaError) => void>();
  private readonly endListeners = new Set<() => void>();
  private readonly itemListeners = new Set<(item: OtherItem) => void>();
  private readonly viewListeners = new Set<(stream: DocumentStream) => void>();
  private readyResolve!: () => void;
  private readyReject!: (error: AdamaError) => void;
  /** Resolves at the first view the stream receives; rejects if the stream fails before. */
  readonly ready: Promise<void>;

  constructor(host: StreamHost, identity: string, space: string, key: string, viewerState: JsonObject) {
    this.host = host;
    this.identity = identity;
    this.space = space;
    this.key = key;
    this.viewerState = { ...viewerState };
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    // A page that never awaits `ready` must not see an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  get state(): StreamState {
    return this.currentState;
  }

  /** The view's tree (same as `view.data`). */
  get data(): Record<string, unknown> {
    return this.view.data;
  }

  /** Runs `listener` when the stream fails (the error carries the code and its name). */
  onError(listener: (error: AdamaError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Runs `listener` when the server ends the stream or `end()` is called. */
  onEnd(listener: () => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** Runs `listener` after every view item (data, `outstanding`, `seq`), after the path listeners. */
  onView(listener: (stream: DocumentStream) => void): () => void {
    this.viewListeners.add(listener);
    return () => this.viewListeners.delete(listener);
  }

  /** Runs `listener` for items other than data deltas (`viewstate`, `log`, `goto`, …). */
  onItem(listener: (item: OtherItem) => void): () => void {
    this.itemListeners.add(listener);
    return () => this.itemListeners.delete(listener);
  }

  /** `connection/send`: runs the channel's handler with `message`. */
  async send(channel: string, message: JsonObject | Json[]): Promise<SendResult> {
    this.checkUsable("send");
    const response = await this.host.subRequest(this, "connection/send", { channel, message });
    return { seq: typeof response.seq === "number" ? response.seq : null };
  }

  /**
   * `connection/send-once`: like `send`, but applied at most once for `dedupe` (a fresh token when
   * omitted), so it is retried across reconnects until the node has it.
   */
  async sendOnce(channel: string, message: JsonObject | Json[], dedupe?: string): Promise<SendResult> {
    this.checkUsable("sendOnce");
    const token = dedupe ?? (await this.host.createDedupe());
    let retried = false;
    for (;;) {
      try {
        const response = await this.host.subRequest(this, "connection/send-once", { channel, message, dedupe: token });
        return { seq: typeof response.seq === "number" ? response.seq : null };
      } catch (error) {
        if (!(error instanceof AdamaError)) {
          throw error;
        }
        if (error.code === 143407 && retried) {
          return { seq: null };
        }
        if (error.code !== SOCKET_LOST || this.currentState === "ended" || this.currentState === "failed") {
          throw error;
        }
        retried = true;
        await this.host.waitConnected();
      }
    }
  }

  /** `connection/update`: replaces the listed fields of the viewer state. */
  async update(viewerState: JsonObject): Promise<void> {
    this.checkUsable("update");
    this.viewerState = { ...this.viewerState, ...viewerState };
    await this.host.subRequest(this, "connection/update", { "viewer-state": viewerState });
  }

  /** `connection/end`: closes the view; the stream will not be opened again. */
  async end(): Promise<void> {
    if (this.currentState === "ended" || this.currentState === "failed") {
      return;
    }
    const open = this.streamId !== null;
    const reply = open ? this.host.subRequest(this, "connection/end", {}) : Promise.resolve({});
    this.host.forget(this);
    this.finish("ended");
    try {
      await reply;
    } catch (error) {
      // The socket went away: the node closes the view with it.
      if (!(error instanceof AdamaError && error.code === SOCKET_LOST)) {
        throw error;
      }
    }
  }

  // Called by the connection.

  opened(id: number): void {
    this.streamId = id;
  }

  suspended(): void {
    if (this.streamId !== null) {
      this.streamId = null;
      this.resuming = true;
    }
  }

  item(response: JsonObject): void {
    const delta = response.delta;
    if (typeof delta !== "object" || delta === null || Array.isArray(delta)) {
      return;
    }
    const message = delta as JsonObject;
    const isView = "data" in message || "seq" in message || "outstanding" in message;
    if (!isView) {
      for (const listener of [...this.itemListeners]) {
        listener(message);
      }
      return;
    }
    if (typeof message.seq === "number") {
      this.seq = message.seq;
    }
    if (Array.isArray(message.outstanding)) {
      this.outstanding = message.outstanding;
    }
    const data = message.data;
    const dataObject = typeof data === "object" && data !== null && !Array.isArray(data) ? (data as JsonObject) : null;
    if (this.resuming) {
      this.resuming = false;
      this.view.replace(dataObject ?? {});
    } else if (dataObject) {
      this.view.merge(dataObject);
    }
    if (this.currentState === "opening") {
      this.currentState = "open";
      this.readyResolve();
    }
    for (const listener of [...this.viewListeners]) {
      listener(this);
    }
  }

  ended(): void {
    this.streamId = null;
    this.finish("ended");
  }

  failed(error: AdamaError): void {
    this.streamId = null;
    if (error.retry) {
      this.resuming = true;
      this.host.retryLater(this);
    } else {
      this.readyReject(error);
      this.finish("failed");
    }
    for (const listener of [...this.errorListeners]) {
      listener(error);
    }
  }

  closedByClient(): void {
    this.streamId = null;
    this.finish("ended");
  }

  /** Runs the sub-requests that waited for the stream to open (or to end, which fails them). */
  runDeferred(): void {
    const waiting = this.deferred;
    this.deferred = [];
    for (const attempt of waiting) {
      attempt();
    }
  }

  private finish(state: StreamState): void {
    if (this.currentState === "ended" || this.currentState === "failed") {
      return;
    }
    this.currentState = state;
    this.runDeferred();
    this.readyReject(new AdamaError(SOCKET_LOST, false, "the stream ended before its first view"));
    if (state === "ended") {
      for (const listener of [...this.endListeners]) {
        listener();
      }
    }
  }

  private checkUsable(what: string): void {
    if (this.currentState === "ended" || this.currentState === "failed") {
      throw new AdamaError(SOCKET_LOST, false, `${what} on a ${this.currentState} stream`);
    }
  }
}
