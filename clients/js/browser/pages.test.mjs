// The demo pages in a real browser against a real node. ADAMA_HTTP=http://127.0.0.1:PORT names a
// node serving the examples; CHROMIUM the browser (default /usr/bin/chromium, Debian's package).
// On a failure each page's screenshot is written to SCREENSHOTS (default the system temp folder).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.ADAMA_HTTP;
const screenshots = process.env.SCREENSHOTS ?? join(tmpdir(), "adama-browser-screenshots");
const unique = `${process.pid}-${Date.now()}`;
let browser;

before(async () => {
  if (!base) return;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
});

after(async () => {
  await browser?.close();
});

/** Runs `body` with fresh pages (one browser context each); screenshots them if it fails. */
async function withPages(name, count, body) {
  const contexts = await Promise.all(Array.from({ length: count }, () => browser.newContext()));
  const pages = await Promise.all(contexts.map((context) => context.newPage()));
  try {
    await body(pages, contexts);
  } catch (error) {
    mkdirSync(screenshots, { recursive: true });
    await Promise.all(pages.map((page, index) => page.screenshot({ path: join(screenshots, `${name}-${index}.png`) }).catch(() => undefined)));
    throw error;
  } finally {
    await Promise.all(contexts.map((context) => context.close()));
  }
}

async function openChat(page, name, room) {
  await page.goto(`${base}/demo/chat.html?name=${name}&room=${room}`);
  await page.waitForSelector("#body:not([disabled])");
}

async function say(page, text) {
  await page.fill("#body", text);
  await page.click("#send");
}

const lineTexts = (page) => page.$$eval("#lines li", (items) => items.map((item) => item.textContent));

test("the root page links the example pages", { skip: !base }, async () => {
  await withPages("index", 1, async ([page]) => {
    await page.goto(`${base}/`);
    assert.ok(await page.$('a[href="/demo/chat.html"]'));
    assert.ok(await page.$('a[href="/demo/tictactoe.html"]'));
  });
});

test("two people chat; a line sent while one is offline arrives after it reconnects", { skip: !base }, async () => {
  await withPages("chat", 2, async ([ann, bob], [, bobContext]) => {
    const room = `room-${unique}`;
    await openChat(ann, "ann", room);
    await openChat(bob, "bob", room);
    await say(ann, "hello bob");
    await bob.waitForFunction(() => document.querySelector("#lines")?.textContent.includes("hello bob"));
    await say(bob, "hi ann");
    await ann.waitForFunction(() => document.querySelector("#lines")?.textContent.includes("hi ann"));
    assert.deepEqual(await lineTexts(ann), ["annhello bob", "bobhi ann"]);

    await bobContext.setOffline(true);
    await bob.waitForSelector('#status[data-status="disconnected"]', { timeout: 15_000 });
    await say(ann, "while you were away");
    await ann.waitForFunction(() => document.querySelector("#lines")?.textContent.includes("while you were away"));
    await bobContext.setOffline(false);
    await bob.waitForFunction(() => document.querySelector("#lines")?.textContent.includes("while you were away"), null, { timeout: 20_000 });
    assert.deepEqual(await lineTexts(bob), ["annhello bob", "bobhi ann", "annwhile you were away"]);
  });
});

test("tic-tac-toe plays to a win while a third person watches", { skip: !base }, async () => {
  await withPages("tictactoe", 3, async ([ann, bob, carl]) => {
    const game = `game-${unique}`;
    await ann.goto(`${base}/demo/tictactoe.html?name=ann&game=${game}`);
    await ann.waitForSelector("#board button");
    await bob.goto(`${base}/demo/tictactoe.html?name=bob&game=${game}`);
    await carl.goto(`${base}/demo/tictactoe.html?name=carl&game=${game}`);
    // X: 0, 1, 2 (top row); O: 3, 4.
    const moves = [[ann, 0], [bob, 3], [ann, 1], [bob, 4], [ann, 2]];
    for (const [page, pos] of moves) {
      const square = page.locator(`#board button[data-pos="${pos}"]`);
      await page.waitForSelector(`#board button[data-pos="${pos}"]:not([disabled])`);
      await square.click();
      await page.waitForFunction((p) => document.querySelector(`#board button[data-pos="${p}"]`)?.textContent !== "", pos);
    }
    for (const page of [ann, bob, carl]) {
      await page.waitForFunction(() => document.querySelector("#turn")?.textContent.includes("X wins"));
    }
    const board = await carl.$$eval("#board button", (buttons) => buttons.map((button) => button.textContent).join(""));
    assert.equal(board, "XXXOO");
    assert.ok(await carl.$$eval("#board button", (buttons) => buttons.every((button) => button.disabled)), "the watcher cannot play");
  });
});

test("in a page, a player's view never holds another player's hidden cards", { skip: !base }, async () => {
  await withPages("cards", 2, async ([ann, bob]) => {
    const key = `table-${unique}`;
    // Each page opens the table with the library it loads, as a card game's page would.
    const open = (page, name) =>
      page.evaluate(
        async ({ key, name }) => {
          const { Connection } = await import("/demo/adama-client.js");
          const connection = new Connection({ identity: `anonymous:${name}` });
          await connection.create("cards", key, {}).catch((error) => {
            if (error.code !== 130092) throw error;
          });
          window.table = connection.connect("cards", key);
          await window.table.ready;
        },
        { key, name },
      );
    await ann.goto(`${base}/`);
    await bob.goto(`${base}/`);
    await open(ann, "ann");
    await open(bob, "bob");
    await ann.waitForFunction(() => window.table.data.dealt === 6);
    const annView = await ann.evaluate(() => window.table.view.snapshot());
    const bobView = await bob.evaluate(() => window.table.view.snapshot());
    assert.equal(annView.hand.length, 3);
    assert.equal(bobView.hand.length, 3);
    const annCards = new Set(annView.hand.map((card) => card.id));
    assert.ok(bobView.hand.every((card) => !annCards.has(card.id)), "bob holds none of ann's cards");
    assert.ok(annView.hand.every((card) => typeof card.rank === "number"), "ann sees her ranks");
    assert.ok(!JSON.stringify(bobView).includes('"owner"'), "owners stay private");
  });
});

test("with 1,000 lines in the room, a line reaches the other page quickly (200 sends)", { skip: !base }, async () => {
  await withPages("latency", 2, async ([ann, bob]) => {
    const room = `busy-${unique}`;
    await openChat(ann, "ann", room);
    // Fill the room from the page's own library: 1,000 lines through one connection.
    await ann.evaluate(async (key) => {
      const { Connection } = await import("/demo/adama-client.js");
      const connection = new Connection({ identity: "anonymous:filler" });
      const stream = connection.connect("chat", key);
      await stream.ready;
      for (let start = 0; start < 1000; start += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => stream.send("say", { body: `filler ${start + i}` })));
      }
      connection.close();
    }, room);
    await openChat(bob, "bob", room);
    await bob.waitForFunction(() => document.querySelectorAll("#lines li").length >= 1000);
    await bob.evaluate(() => {
      window.arrivals = new Map();
      new MutationObserver((records) => {
        const now = performance.timeOrigin + performance.now();
        for (const record of records) for (const node of record.addedNodes) window.arrivals.set(node.textContent, now);
      }).observe(document.querySelector("#lines"), { childList: true });
    });
    const latencies = [];
    for (let i = 0; i < 200; i++) {
      const text = `ping ${i}`;
      const sentAt = await ann.evaluate((body) => {
        document.querySelector("#body").value = body;
        const at = performance.timeOrigin + performance.now();
        document.querySelector("#send").click();
        return at;
      }, text);
      await bob.waitForFunction((body) => window.arrivals.has(`ann${body}`), text);
      const arrivedAt = await bob.evaluate((body) => window.arrivals.get(`ann${body}`), text);
      latencies.push(arrivedAt - sentAt);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[100];
    const p99 = latencies[197];
    console.log(`send → line on the other page, 1,000+ lines in the room, 200 sends: median ${median.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    assert.equal(await bob.$$eval("#lines li", (items) => items.length), 1200);
    assert.ok(median < 500, `median ${median} ms`);
  });
});
