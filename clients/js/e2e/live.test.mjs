// The library against a real node: ADAMA_URL=ws://127.0.0.1:PORT/~s names one serving the
// built-in examples (cli/tests/clients_js.rs starts it). Node 20 needs --experimental-websocket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Connection } from "../dist/index.js";

const url = process.env.ADAMA_URL;
const unique = `${process.pid}-${Date.now()}`;

/** A connection whose current socket a test can cut, as a network drop would. */
function connection(identity) {
  const sockets = [];
  const conn = new Connection({
    url,
    identity,
    socket: (address) => {
      const socket = new WebSocket(address);
      sockets.push(socket);
      return socket;
    },
    backoff: { initialMs: 50, maxMs: 500 },
  });
  conn.cut = () => sockets[sockets.length - 1].close();
  return conn;
}

/** Resolves when `predicate(value)` holds for the value at `path`. */
function until(stream, path, predicate, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(stream.view.get(path))}`)), 10_000);
    const check = (value) => {
      if (predicate(value)) {
        clearTimeout(timer);
        stop();
        resolve(value);
      }
    };
    const stop = stream.view.on(path, check);
    check(stream.view.get(path));
  });
}

const bodies = (lines) => (Array.isArray(lines) ? lines.map((line) => line.body) : []);

test("two people chat, and a line sent while one is offline arrives after its reconnect", { skip: !url }, async () => {
  const ann = connection("anonymous:ann");
  const bob = connection("anonymous:bob");
  try {
    const key = `room-${unique}`;
    await ann.create("chat", key, {});
    const annRoom = ann.connect("chat", key);
    const bobRoom = bob.connect("chat", key);
    await Promise.all([annRoom.ready, bobRoom.ready]);

    const sent = await annRoom.send("say", { body: "hello from ann" });
    assert.equal(typeof sent.seq, "number");
    await bobRoom.sendOnce("say", { body: "hi ann" });
    for (const room of [annRoom, bobRoom]) {
      await until(room, "chat", (lines) => bodies(lines).join("|") === "hello from ann|hi ann", "both lines");
    }
    assert.deepEqual(annRoom.data.chat.map((line) => line.who.agent), ["ann", "bob"]);

    const reconnected = new Promise((resolve) => {
      let dropped = false;
      const stop = bob.onStatus((status) => {
        if (status === "disconnected") dropped = true;
        if (status === "connected" && dropped) {
          stop();
          resolve();
        }
      });
    });
    bob.cut();
    await annRoom.send("say", { body: "while bob was away" });
    await reconnected;
    await until(bobRoom, "chat", (lines) => bodies(lines).includes("while bob was away"), "the line sent while offline");
    assert.deepEqual(bodies(bobRoom.data.chat), ["hello from ann", "hi ann", "while bob was away"]);
    assert.equal(bobRoom.data.lines, 3);

    await assert.rejects(annRoom.send("say", { body: "   " }), (error) => error.codeName === "LIVING_DOCUMENT_TRANSACTION_MESSAGE_DIRECT_ABORT");
    await assert.rejects(ann.create("chat", key, {}), (error) => error.code === 130092);
    await annRoom.end();
    assert.equal(annRoom.state, "ended");
  } finally {
    ann.close();
    bob.close();
  }
});

test("a player never sees another player's hidden cards", { skip: !url }, async () => {
  const ann = connection("anonymous:ann");
  const bob = connection("anonymous:bob");
  try {
    const key = `table-${unique}`;
    await ann.create("cards", key, {});
    const annTable = ann.connect("cards", key);
    await annTable.ready;
    const bobTable = bob.connect("cards", key);
    await bobTable.ready;
    await until(annTable, "dealt", (dealt) => dealt === 6, "six cards dealt");
    assert.equal(annTable.data.hand.length, 3);
    assert.equal(bobTable.data.hand.length, 3);
    const annIds = annTable.data.hand.map((card) => card.id);
    assert.ok(annTable.data.hand.every((card) => typeof card.rank === "number"), "ann sees her ranks");
    assert.ok(bobTable.data.hand.every((card) => !annIds.includes(card.id)), "bob's hand holds none of ann's cards");
    assert.ok(!JSON.stringify(bobTable.data).includes('"owner"'), "owners stay private");

    await annTable.send("play", { card: annIds[0] });
    const pile = await until(bobTable, "pile", (cards) => Array.isArray(cards) && cards.length === 1, "the played card");
    assert.equal(pile[0].id, annIds[0]);
    assert.equal(typeof pile[0].rank, "number", "a played card's rank is public");
    await until(annTable, "hand", (hand) => Array.isArray(hand) && hand.length === 2, "ann's smaller hand");
  } finally {
    ann.close();
    bob.close();
  }
});
