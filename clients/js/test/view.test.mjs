import { test } from "node:test";
import assert from "node:assert/strict";
import { View } from "../dist/index.js";

function viewOf(...deltas) {
  const view = new View();
  for (const delta of deltas) view.merge(delta);
  return view;
}

test("scalars are set, replaced and deleted by null", () => {
  const view = viewOf({ a: 1, b: "x", c: true }, { a: 2, c: null });
  assert.deepEqual(view.data, { a: 2, b: "x" });
});

test("objects merge field by field", () => {
  const view = viewOf({ o: { x: 1, y: { z: 2 } } }, { o: { y: { w: 3 } } });
  assert.deepEqual(view.data, { o: { x: 1, y: { z: 2, w: 3 } } });
});

test("a JSON array replaces the value wholesale", () => {
  const view = viewOf({ d: [1, 2, 3] }, { d: [4] });
  assert.deepEqual(view.data, { d: [4] });
});

test("a record list follows @o and its element deltas (runtime spec example 1)", () => {
  const rows = (ids) => Object.fromEntries(ids.map((id) => [id, { name: `n${id}`, score: id }]));
  const view = viewOf({ board: { ...rows([1, 2, 3, 4, 5]), "@o": [1, 2, 3, 4, 5] } });
  view.merge({ board: { 6: { name: "kai", score: 0 }, 4: { score: 9 }, "@o": [1, 3, 6, 4, 5], 2: null } });
  assert.deepEqual(view.data.board.map((row) => row.name), ["n1", "n3", "kai", "n4", "n5"]);
  assert.equal(view.data.board[3].score, 9);
  assert.deepEqual(view.keys("board"), ["1", "3", "6", "4", "5"]);
  assert.equal(view.keyOf(view.data.board[2]), "6");
});

test("@o ranges copy runs of the previous order (runtime spec example 2)", () => {
  const rows = (ids) => Object.fromEntries(ids.map((id) => [id, { v: id }]));
  const view = viewOf({ board: { ...rows([1, 2, 3, 4, 5]), "@o": [1, 2, 3, 4, 5] } });
  view.merge({ board: { 6: { v: 6 }, "@o": [[0, 2], 6, 4, 5] } });
  assert.deepEqual(view.data.board.map((row) => row.v), [1, 2, 3, 6, 4, 5]);
});

test("the observed reference stream of runtime spec §4.3 merges to the expected lists", () => {
  const frames = [
    { items: { 1: { name: "a", score: 1 }, 2: { name: "b", score: 2 }, 3: { name: "c", score: 3 }, 4: { name: "d", score: 4 }, 5: { name: "e", score: 5 }, "@o": [1, 2, 3, 4, 5] }, top: { 5: { name: "e", score: 5 }, 4: { name: "d", score: 4 }, 3: { name: "c", score: 3 }, "@o": [5, 4, 3] }, count: 5 },
    { items: { 6: { name: "f", score: 6 }, "@o": [[0, 4], 6] }, top: { 6: { name: "f", score: 6 }, "@o": [6, 5, 4], 3: null }, count: 6 },
    { items: { "@o": [1, [2, 5]], 2: null }, count: 5 },
    { items: { 1: { score: 10 } }, top: { 1: { name: "a", score: 10 }, "@o": [1, 6, 5], 4: null } },
  ];
  const view = viewOf(...frames);
  assert.deepEqual(view.data.items.map((row) => `${row.name}${row.score}`), ["a10", "c3", "d4", "e5", "f6"]);
  assert.deepEqual(view.data.top.map((row) => `${row.name}${row.score}`), ["a10", "f6", "e5"]);
  assert.equal(view.data.count, 5);
  view.merge({ items: { "@o": [], 1: null, 3: null, 4: null, 5: null, 6: null }, top: { "@o": [], 1: null, 5: null, 6: null }, count: 0 });
  assert.deepEqual(view.data, { items: [], top: [], count: 0 });
});

test("a sized list (@s) is dense and shrinks", () => {
  const view = viewOf({ xs: { 0: "a", 1: "b", 2: "c", "@s": 3 } }, { xs: { "@s": 2, 2: null } });
  assert.deepEqual(view.data.xs, ["a", "b"]);
  view.merge({ xs: { 2: "z", "@s": 3 } });
  assert.deepEqual(view.data.xs, ["a", "b", "z"]);
});

test("defect (a) fixed: a scalar element changed without @s shows in the array", () => {
  const view = viewOf({ xs: { 0: 10, 1: 12, "@s": 2 } }, { xs: { 0: 11, 1: 13 } });
  assert.deepEqual(view.data.xs, [11, 13]);
});

test("defect (b) fixed: a dynamic value that was an array becomes the object", () => {
  const view = viewOf({ d: [1, 2] }, { d: { a: 1 } });
  assert.deepEqual(view.data.d, { a: 1 });
});

test("an @o key inside an existing dynamic object is a plain key", () => {
  const view = viewOf({ d: { x: 1 } }, { d: { "@o": "text" } });
  assert.deepEqual(view.data.d, { x: 1, "@o": "text" });
  const other = viewOf({ d: { x: 1 } }, { d: { "@o": [1] } });
  assert.deepEqual(other.data.d, { x: 1, "@o": [1] });
});

test("a list replaced by null disappears with its elements", () => {
  const view = viewOf({ l: { 1: { a: 1 }, "@o": [1] } }, { l: null }, { l: { 2: { a: 2 }, "@o": [2] } });
  assert.deepEqual(view.data.l, [{ a: 2 }]);
});

test("lists nest inside list elements", () => {
  const view = viewOf({ rooms: { 1: { people: { 7: { n: "x" }, "@o": [7] } }, "@o": [1] } });
  view.merge({ rooms: { 1: { people: { 8: { n: "y" }, "@o": [8, 7] } } } });
  assert.deepEqual(view.data, { rooms: [{ people: [{ n: "y" }, { n: "x" }] }] });
});

test("listeners run for changes at, under and above their path only", () => {
  const view = viewOf({ a: { b: 1 }, c: 2, l: { 1: { v: 1 }, 2: { v: 2 }, "@o": [1, 2] } });
  const seen = [];
  view.on("a/b", (value) => seen.push(["a/b", value]));
  view.on("c", (value) => seen.push(["c", value]));
  view.on("l", (value) => seen.push(["l", value.length]));
  view.on("l/2", (value) => seen.push(["l/2", value?.v]));
  view.on("", () => seen.push(["root"]));
  view.merge({ c: 3 });
  assert.deepEqual(seen, [["c", 3], ["root"]]);
  seen.length = 0;
  view.merge({ a: null });
  assert.deepEqual(seen, [["a/b", undefined], ["root"]]);
  seen.length = 0;
  view.merge({ l: { 2: { v: 5 } } });
  assert.deepEqual(seen, [["l", 2], ["l/2", 5], ["root"]]);
  seen.length = 0;
  view.merge({ l: { 3: { v: 3 }, "@o": [1, 3, 2] } });
  assert.deepEqual(seen, [["l", 3], ["root"]], "an insertion leaves the other rows' listeners alone");
  seen.length = 0;
  const stop = view.on(["c"], () => seen.push(["second c"]));
  stop();
  view.merge({ c: 4 });
  assert.deepEqual(seen, [["c", 4], ["root"]]);
});

test("replace drops what the new full view does not hold and runs every listener", () => {
  const view = viewOf({ a: 1, l: { 1: { v: 1 }, "@o": [1] } });
  const seen = [];
  view.on("a", (value) => seen.push(value));
  view.replace({ l: { 2: { v: 2 }, "@o": [2] } });
  assert.deepEqual(view.data, { l: [{ v: 2 }] });
  assert.deepEqual(seen, [undefined]);
});
