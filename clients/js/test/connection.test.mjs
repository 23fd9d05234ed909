import { test } from "node:test";
import assert from "node:assert/strict";
import { Connection, AdamaError } from "../dist/index.js";
import { FakeServer, tick } from "./fake-socket.mjs";

function connection(server, options = {}) {
  return new Connection({
    url: "ws://node.test/~s",
    identity: "anonymous:ann",
    socket: server.factory,
    backoff: { initialMs: 5, maxMs: 40, afterDisconnectMs: 20 },
    keepalive: false,
    ...options,
  });
}

test("requests wait for `connected`, carry ids and resolve with their response", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  const statuses = [];
  conn.onStatus((status) => statuses.push(status));
  const created = conn.create("chat", "room", { title: "t" });
  await tick();
  const socket = server.last;
  assert.equal(socket.url, "ws://node.test/~s");
  assert.equal(socket.sent.length, 0, "nothing is sent before the server says connected");
  socket.connected();
  const [request] = socket.requests("document/create");
  assert.deepEqual(request, { method: "document/create", id: request.id, identity: "anonymous:ann", space: "chat", key: "room", arg: { title: "t" } });
  socket.push({ deliver: request.id, done: true, response: {} });
  await created;
  assert.deepEqual(statuses, ["connecting", "connected"]);
  conn.close();
  assert.equal(conn.status, "closed");
});

test("a failure becomes an AdamaError with the code and its name", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  const created = conn.create("chat", "room");
  await tick();
  server.last.connected();
  const [request] = server.last.requests("document/create");
  server.last.push({ failure: request.id, reason: 130092, retry: false });
  await assert.rejects(created, (error) => {
    assert.ok(error instanceof AdamaError);
    assert.equal(error.code, 130092);
    assert.equal(error.codeName, "SERVICE_DOCUMENT_ALREADY_CREATED");
    assert.equal(error.retry, false);
    return true;
  });
  conn.close();
});

test("pings are answered with the same object plus pong, and set the latency", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  conn.start();
  server.last.connected();
  server.last.push({ ping: 1000, latency: "7" });
  const [pong] = server.last.sent;
  assert.equal(pong.ping, 1000);
  assert.equal(pong.latency, "7");
  assert.ok(Math.abs(pong.pong - Date.now() / 1000) < 5);
  assert.equal(conn.latency, 7);
  conn.close();
});

test("a stream merges its items into the view, sends with its connection id, and ends", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  const doc = conn.connect("chat", "room", { tag: "!" });
  await tick();
  const socket = server.last;
  socket.connected();
  const [open] = socket.requests("connection/create");
  assert.deepEqual(open["viewer-state"], { tag: "!" });
  socket.push({ deliver: open.id, done: false, response: { delta: { data: { lines: { 1: { text: "hi" }, "@o": [1] } }, seq: 3 } } });
  socket.push({ deliver: open.id, done: false, response: { delta: { "view-state-filter": ["tag"] } } });
  await doc.ready;
  assert.deepEqual(doc.data, { lines: [{ text: "hi" }] });
  assert.equal(doc.seq, 3);

  const sent = doc.send("say", { text: "yo" });
  const [send] = socket.requests("connection/send");
  assert.deepEqual(send, { method: "connection/send", id: send.id, connection: open.id, channel: "say", message: { text: "yo" } });
  socket.push({ deliver: send.id, done: true, response: { seq: 4 } });
  assert.deepEqual(await sent, { seq: 4 });

  const ended = new Promise((resolve) => doc.onEnd(resolve));
  const end = doc.end();
  const [endRequest] = socket.requests("connection/end");
  assert.equal(endRequest.connection, open.id);
  socket.push({ deliver: endRequest.id, done: true, response: {} });
  socket.push({ deliver: open.id, done: true });
  await end;
  await ended;
  assert.equal(doc.state, "ended");
  await assert.rejects(doc.send("say", {}), AdamaError);
  conn.close();
});

test("after a drop the client reconnects with backoff, re-opens the stream with its viewer state, and the view resumes", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  const statuses = [];
  conn.onStatus((status, error) => statuses.push(error ? `${status}:${error.code}` : status));
  const doc = conn.connect("chat", "room", { tag: "a" });
  await tick();
  let socket = server.last;
  socket.connected();
  const [first] = socket.requests("connection/create");
  socket.push({ deliver: first.id, done: false, response: { delta: { data: { n: 1, gone: true }, seq: 1 } } });
  await doc.ready;

  const update = doc.update({ tag: "b" });
  const [updateRequest] = socket.requests("connection/update");
  socket.push({ deliver: updateRequest.id, done: true, response: {} });
  await update;

  const inFlight = doc.send("say", { text: "lost" });
  const changes = [];
  doc.view.on("n", (value) => changes.push(value));
  socket.drop();
  await assert.rejects(inFlight, (error) => error.code === 999 && error.codeName === "SOCKET_LOST");
  assert.equal(conn.status, "disconnected", "the next socket waits for the backoff");

  socket = await server.nextSocket(2);
  assert.equal(server.sockets.length, 2);
  const queued = doc.send("say", { text: "while offline" });
  socket.connected();
  const [again] = socket.requests("connection/create");
  assert.deepEqual(again["viewer-state"], { tag: "b" }, "the stream resumes with the latest viewer state");
  const [queuedSend] = socket.requests("connection/send");
  assert.equal(queuedSend.connection, again.id, "a send queued while offline names the new stream");
  socket.push({ deliver: again.id, done: false, response: { delta: { data: { n: 2 }, seq: 5 } } });
  assert.deepEqual(doc.data, { n: 2 }, "the resumed view is the new full view, without what vanished");
  assert.deepEqual(changes, [2]);
  socket.push({ deliver: queuedSend.id, done: true, response: { seq: 6 } });
  assert.deepEqual(await queued, { seq: 6 });
  assert.deepEqual(statuses, ["connecting", "connected", "disconnected:999", "connecting", "connected"]);
  conn.close();
});

test("sendOnce keeps its dedupe token across a reconnect and treats the duplicate as applied", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  const doc = conn.connect("chat", "room");
  await tick();
  let socket = server.last;
  socket.connected();
  const [open] = socket.requests("connection/create");
  socket.push({ deliver: open.id, done: false, response: { delta: { data: {} } } });
  const once = doc.sendOnce("say", { text: "x" }, "token-1");
  await tick();
  socket.drop();
  socket = await server.nextSocket(2);
  socket.connected();
  await tick();
  const [retry] = socket.requests("connection/send-once");
  assert.equal(retry.dedupe, "token-1");
  socket.push({ failure: retry.id, reason: 143407, retry: false });
  assert.deepEqual(await once, { seq: null });
  conn.close();
});

test("the backoff grows by a jittered factor up to its cap and resets once connected", async () => {
  const server = new FakeServer();
  const rolls = [0.5, 0.25, 0.99, 0.99, 0.99, 0.99];
  const delays = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (fn, ms) => {
    delays.push(ms);
    return realSetTimeout(fn, 0);
  };
  let conn;
  try {
    conn = connection(server, { random: () => rolls.shift() ?? 0 });
    conn.start();
    for (let count = 1; count <= 6; count++) {
      const socket = await server.nextSocket(count);
      socket.drop();
    }
    const socket = await server.nextSocket(7);
    socket.connected();
    socket.drop();
    await server.nextSocket(8);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    conn?.close();
  }
  assert.deepEqual(delays.slice(0, 7), [5, 7.5, 9.375, 18.65625, 37.1259375, 40, 5]);
});

test("a server `disconnected` waits at least afterDisconnectMs and reports the reason", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  const errors = [];
  conn.onStatus((status, error) => error && errors.push(error));
  conn.start();
  server.last.connected();
  const before = Date.now();
  server.last.push({ status: "disconnected", reason: 213711 });
  assert.equal(errors[0].code, 213711);
  assert.equal(errors[0].codeName, "ONLY_ACCEPTS_TEXT_FRAMES");
  await server.nextSocket(2);
  assert.ok(Date.now() - before >= 18, "the reconnect waited for afterDisconnectMs");
  conn.close();
});

test("the keepalive drops a silent socket and reconnects", async () => {
  const server = new FakeServer();
  const conn = connection(server, { keepalive: { checkMs: 5, silenceMs: 10, failures: 2 } });
  conn.start();
  server.last.connected();
  const socket = await server.nextSocket(2);
  assert.ok(server.sockets[0].closed, "the silent socket was closed");
  assert.equal(socket, server.sockets[1]);
  conn.close();
});

test("a steady ping keeps the socket", async () => {
  const server = new FakeServer();
  const conn = connection(server, { keepalive: { checkMs: 5, silenceMs: 250, failures: 2 } });
  conn.start();
  server.last.connected();
  for (let i = 0; i < 10; i++) {
    server.last.push({ ping: i, latency: "0" });
    await tick(5);
  }
  assert.equal(server.sockets.length, 1);
  conn.close();
});

test("a stream failure ends the stream with a typed error; a retryable one re-opens it", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  const refused = conn.connect("chat", "nope");
  const flaky = conn.connect("chat", "flaky");
  await tick();
  const socket = server.last;
  socket.connected();
  const [a, b] = socket.requests("connection/create");
  const errors = [];
  flaky.onError((error) => errors.push(error.codeName));
  socket.push({ failure: a.id, reason: 184333, retry: false });
  await assert.rejects(refused.ready, (error) => error.codeName === "LIVING_DOCUMENT_TRANSACTION_CLIENT_REJECTED");
  assert.equal(refused.state, "failed");
  socket.push({ failure: b.id, reason: 144416, retry: true });
  assert.deepEqual(errors, ["CATASTROPHIC_DOCUMENT_FAILURE_EXCEPTION"]);
  await tick(20);
  const again = socket.requests("connection/create").filter((frame) => frame.key === "flaky");
  assert.equal(again.length, 2, "the retryable stream was asked for again");
  socket.push({ deliver: again[1].id, done: false, response: { delta: { data: { ok: 1 } } } });
  await flaky.ready;
  assert.deepEqual(flaky.data, { ok: 1 });
  const sent = flaky.send("say", { text: "after the retry" });
  const [send] = socket.requests("connection/send");
  assert.equal(send.connection, again[1].id);
  socket.push({ deliver: send.id, done: true, response: { seq: 9 } });
  assert.deepEqual(await sent, { seq: 9 });
  conn.close();
});

test("a send made while a stream waits to be opened again goes to the new stream, and fails if it ends", async () => {
  const server = new FakeServer();
  const conn = connection(server);
  const doc = conn.connect("chat", "room");
  await tick();
  const socket = server.last;
  socket.connected();
  const [first] = socket.requests("connection/create");
  socket.push({ deliver: first.id, done: false, response: { delta: { data: { n: 1 } } } });
  await doc.ready;
  socket.push({ failure: first.id, reason: 199883, retry: true });
  const waiting = doc.sendOnce("say", { text: "x" }, "t1");
  await Promise.resolve();
  assert.equal(socket.requests("connection/send-once").length, 0, "nothing is sent to the failed stream");
  await tick(20);
  const [reopened] = socket.requests("connection/create").slice(1);
  const [send] = socket.requests("connection/send-once");
  assert.equal(send.connection, reopened.id);
  socket.push({ deliver: send.id, done: true, response: { seq: 2 } });
  assert.deepEqual(await waiting, { seq: 2 });

  socket.push({ failure: reopened.id, reason: 199883, retry: true });
  const doomed = doc.send("say", { text: "y" });
  await doc.end();
  await assert.rejects(doomed, (error) => error.code === 999);
  conn.close();
});
