// Property tests of the merge: random states are encoded the way a node encodes a view's deltas
// (runtime spec §4.3) and the merged view must equal the state; random plain patches must merge
// as a reference RFC 7386 merge does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { View } from "../dist/index.js";

/** A small seeded generator (mulberry32), so that a failure names a seed that replays it. */
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)], chance: (p) => next() < p };
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

/** The reference: RFC 7386 MergePatch. */
function mergePatch(target, patch) {
  if (!isObject(patch)) return structuredClone(patch);
  const result = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

const KEYS = ["a", "b", "c", "d", "e"];

function randomScalar(g) {
  return g.pick([() => g.int(100), () => `s${g.int(10)}`, () => g.chance(0.5), () => g.int(1000) / 8])();
}

function randomJson(g, depth) {
  const kind = depth > 2 ? 0 : g.int(3);
  if (kind === 0) return randomScalar(g);
  if (kind === 1) return Array.from({ length: g.int(4) }, () => randomJson(g, depth + 1));
  const object = {};
  for (let i = g.int(4); i > 0; i--) object[g.pick(KEYS)] = randomJson(g, depth + 1);
  return object;
}

function randomPatch(g, depth) {
  const patch = {};
  for (let i = 1 + g.int(4); i > 0; i--) {
    const roll = g.int(5);
    patch[g.pick(KEYS)] = roll === 0 ? null : roll === 1 && depth < 3 ? randomPatch(g, depth + 1) : randomJson(g, depth + 1);
  }
  return patch;
}

test("plain patches merge as RFC 7386 says (2,000 seeded sequences)", () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const g = generator(seed);
    const view = new View();
    let expected = {};
    for (let step = 0; step < 8; step++) {
      const patch = randomPatch(g, 0);
      view.merge(structuredClone(patch));
      expected = mergePatch(expected, patch);
      assert.deepEqual(view.data, expected, `seed ${seed}, step ${step}, patch ${JSON.stringify(patch)}`);
    }
  }
});

// A node's encoder, written from runtime spec §4.3, for the state shape
// { title, stats: {n, label}, rows: [{id, name, score, tags}], xs: [scalars], extra: dynamic }.

function encodeOrder(previous, next) {
  const oldIndex = new Map(previous.map((id, index) => [id, index]));
  const out = [];
  for (let k = 0; k < next.length; ) {
    const p = oldIndex.get(next[k]);
    let top = k;
    if (p !== undefined) {
      while (top + 1 < next.length && oldIndex.get(next[top + 1]) === p + (top + 1 - k)) top++;
    }
    if (p !== undefined && top - k >= 2) {
      out.push([p, p + (top - k)]);
      k = top + 1;
    } else {
      out.push(next[k]);
      k++;
    }
  }
  return out;
}

function diffFields(before, after) {
  const delta = {};
  for (const key of Object.keys(before ?? {})) if (!(key in after)) delta[key] = null;
  for (const [key, value] of Object.entries(after)) {
    if (isObject(value)) {
      const inner = diffFields(isObject(before?.[key]) ? before[key] : {}, value);
      if (!isObject(before?.[key]) || Object.keys(inner).length > 0) delta[key] = inner;
    } else if (JSON.stringify(before?.[key]) !== JSON.stringify(value)) {
      delta[key] = value;
    }
  }
  return delta;
}

/** The dynamic rule: an object rewrite when old and new are objects, else the whole new value. */
function diffDynamic(before, after) {
  if (isObject(before) && isObject(after)) {
    const delta = {};
    for (const key of Object.keys(before)) if (!(key in after)) delta[key] = null;
    for (const [key, value] of Object.entries(after)) {
      if (!(key in before)) delta[key] = value;
      else if (JSON.stringify(before[key]) !== JSON.stringify(value)) {
        delta[key] = isObject(before[key]) && isObject(value) ? diffDynamic(before[key], value) : value;
      }
    }
    return Object.keys(delta).length ? delta : undefined;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? undefined : after;
}

function encodeRows(before, after, everNonEmpty) {
  const beforeById = new Map((before ?? []).map((row) => [row.id, row]));
  const delta = {};
  for (const row of after) {
    const fields = diffFields(beforeById.get(row.id) ?? {}, row);
    if (Object.keys(fields).length) delta[row.id] = fields;
  }
  const oldIds = (before ?? []).map((row) => row.id);
  const newIds = after.map((row) => row.id);
  if (JSON.stringify(oldIds) !== JSON.stringify(newIds) && (after.length > 0 || everNonEmpty)) {
    delta["@o"] = encodeOrder(oldIds, newIds);
  }
  for (const id of oldIds) if (!newIds.includes(id)) delta[id] = null;
  return Object.keys(delta).length ? delta : undefined;
}

function encodeSized(before, after) {
  const delta = {};
  after.forEach((value, index) => {
    if (before?.[index] !== value) delta[index] = value;
  });
  for (let index = after.length; index < (before?.length ?? 0); index++) delta[index] = null;
  if ((before?.length ?? -1) !== after.length) delta["@s"] = after.length;
  return Object.keys(delta).length ? delta : undefined;
}

function encodeState(before, after, everNonEmpty) {
  const delta = {};
  const put = (key, value) => {
    if (value !== undefined) delta[key] = value;
  };
  put("title", before.title === after.title ? undefined : after.title);
  const stats = diffFields(before.stats ?? {}, after.stats);
  put("stats", before.stats && Object.keys(stats).length === 0 ? undefined : stats);
  put("rows", encodeRows(before.rows, after.rows, everNonEmpty));
  put("xs", encodeSized(before.xs, after.xs));
  if ("extra" in after) put("extra", diffDynamic(before.extra, after.extra));
  else if ("extra" in before) delta.extra = null;
  return delta;
}

function randomState(g, previous, nextId) {
  let rows = previous ? previous.rows.map((row) => ({ ...row, tags: { ...row.tags } })) : [];
  for (const row of rows) if (g.chance(0.2)) row.score = g.int(50);
  for (const row of rows) if (g.chance(0.1)) row.tags.hot = g.chance(0.5);
  rows = rows.filter(() => !g.chance(0.15));
  for (let i = g.int(4); i > 0; i--) {
    const row = { id: nextId(), name: `r${g.int(99)}`, score: g.int(50), tags: { hot: g.chance(0.5) } };
    rows.splice(g.int(rows.length + 1), 0, row);
  }
  if (g.chance(0.2)) rows.sort((x, y) => x.score - y.score || x.id - y.id);
  if (g.chance(0.05)) rows = [];
  const xs = previous && g.chance(0.5) ? previous.xs.map((x) => (g.chance(0.3) ? g.int(9) : x)) : Array.from({ length: g.int(5) }, () => g.int(9));
  const state = { title: `t${g.int(3)}`, stats: { n: g.int(3), label: `l${g.int(2)}` }, rows, xs };
  if (g.chance(0.8)) {
    const dynamic = randomJson(g, 0);
    if (!(isObject(dynamic) && ("@o" in dynamic || "@s" in dynamic))) state.extra = dynamic;
  }
  return state;
}

/** What the page should read: rows and xs as arrays, everything else as is. */
function visible(state) {
  return structuredClone(state);
}

test("views merged from node-encoded deltas equal the states they encode (1,000 seeded runs)", () => {
  for (let seed = 1; seed <= 1000; seed++) {
    const g = generator(seed);
    let id = 0;
    const nextId = () => ++id;
    const view = new View();
    let before = {};
    let everNonEmpty = false;
    for (let step = 0; step < 12; step++) {
      const after = randomState(g, step === 0 ? null : before, nextId);
      const delta = encodeState(before, after, everNonEmpty);
      everNonEmpty ||= after.rows.length > 0;
      view.merge(JSON.parse(JSON.stringify(delta)));
      const expected = visible(after);
      if (after.rows.length === 0 && !everNonEmpty) delete expected.rows;
      if (view.data.rows === undefined && after.rows.length === 0) delete expected.rows;
      assert.deepEqual(view.data, expected, `seed ${seed}, step ${step}, delta ${JSON.stringify(delta)}`);
      before = after;
    }
  }
});
