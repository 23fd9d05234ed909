// Times merging one delta into a view of 10,000 rows: `npm run bench` (after `npm run build`).
import { View } from "../dist/index.js";

const ROWS = 10_000;
const ROUNDS = 2_000;

function fullView() {
  const rows = {};
  const order = [];
  for (let id = 1; id <= ROWS; id++) {
    rows[id] = { id, who: `user${id % 50}`, body: `line ${id}`, at: 1_700_000_000_000 + id };
    order.push(id);
  }
  return { chat: { ...rows, "@o": order }, lines: ROWS };
}

function measure(name, makeDelta, withListeners) {
  const view = new View();
  view.merge(fullView());
  if (withListeners) {
    view.on("chat", () => undefined);
    view.on("lines", () => undefined);
  }
  const times = [];
  for (let round = 0; round < ROUNDS; round++) {
    const delta = makeDelta(round);
    const start = process.hrtime.bigint();
    view.merge(delta);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(4);
  console.log(`${name.padEnd(44)} median ${at(0.5)} ms  p99 ${at(0.99)} ms  max ${at(1)} ms`);
}

console.log(`merging one delta into a view of ${ROWS} rows, ${ROUNDS} rounds each`);
measure("change one field of one row", (round) => ({ chat: { [1 + (round % ROWS)]: { body: `edited ${round}` } } }), false);
measure("change one field of one row, with listeners", (round) => ({ chat: { [1 + (round % ROWS)]: { body: `edited ${round}` } } }), true);
measure("append a row (@o with one run)", (round) => {
  const id = ROWS + 1 + round;
  return { chat: { [id]: { id, who: "x", body: "new", at: 0 }, "@o": [[0, ROWS - 1 + round], id] }, lines: ROWS + round + 1 };
}, true);
measure("insert in the middle (@o with two runs)", (round) => {
  const id = ROWS + 1 + round;
  const size = ROWS + round;
  return { chat: { [id]: { id, who: "x", body: "new", at: 0 }, "@o": [[0, 4_999], id, [5_000, size - 1]] } };
}, true);
