// What a user of the extension relies on, checked in order in one window. The workspace holds
// workspace/counter.a (two tests, one failing on purpose), workspace/broken.a (a misspelt name),
// counter.log (recorded from workspace/counter.jsonl by `adama run --record`) and a
// .vscode/launch.json that replays it.
'use strict';

// Places in counter.a, as a user sees them (lines and columns from 1).
const BUMP_LINE = 26; // `  count += twice(b.by);`
const COUNT_AT = { line: BUMP_LINE, column: 3 };
const TWICE_AT = { line: BUMP_LINE, column: 12 };
const TWICE_DECLARED = { line: 20, column: 10 }; // `function twice(int x) -> int {`
const BUMPS_LINE = 25; // `  bumps++;`
// The lines of the test blocks.
const TESTS = { bumping_adds_twice: 29, bumping_once_is_not_enough: 35 };

/** Terminal text with its rows joined: a long line wraps onto several rows. */
function unwrapped(text) {
  return text.replace(/\n/g, '');
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const checks = [
  {
    name: 'semantic highlighting colours a call as a function',
    async run({ workbench, page }) {
      await workbench.open('counter.a');
      await workbench.goTo(TWICE_AT.line, TWICE_AT.column);
      // The inspector shows the semantic token the server sent, and the colour it gave.
      const inspect = await workbench.until(
        'the token inspector naming the semantic token of `twice`',
        async () => {
          await workbench.command('Developer: Inspect Editor Tokens and Scopes');
          const widget = page.locator('.token-inspect-widget');
          await widget.waitFor({ state: 'visible', timeout: 5_000 });
          const text = await widget.innerText();
          await page.keyboard.press('Escape');
          return text;
        },
        (text) => /semantic token type\s*function/.test(text),
      );
      const foreground = /foreground\s*(#[0-9A-Fa-f]{6})/.exec(inspect);
      expect(foreground, `the inspector shows a foreground: ${inspect}`);
      // The span of `twice` in the rendered line has that colour.
      const span = workbench.line('count += twice(').locator('span > span', { hasText: /^twice$/ });
      // The line is drawn again when inlay hints arrive; read the colour once it is rendered.
      const color = await workbench.until(
        'the rendered colour of `twice`',
        () => span.evaluate((element) => getComputedStyle(element).color),
        (value) => /\d+/.test(value),
      );
      const hex = `#${color.match(/\d+/g).slice(0, 3).map((n) => Number(n).toString(16).padStart(2, '0')).join('')}`;
      expect(hex.toLowerCase() === foreground[1].toLowerCase(), `\`twice\` is drawn in ${hex}, the semantic colour is ${foreground[1]}`);
      const keyword = workbench.line('function twice').locator('span > span', { hasText: /^function$/ });
      const keywordColor = await keyword.evaluate((element) => getComputedStyle(element).color);
      expect(keywordColor !== color, 'the keyword `function` and the function `twice` are coloured apart');
    },
  },
  {
    name: 'hover shows the type of a field',
    async run({ workbench, page }) {
      await workbench.open('counter.a');
      await workbench.goTo(COUNT_AT.line, COUNT_AT.column);
      await workbench.until(
        'a hover over `count`',
        async () => {
          await workbench.command('Show or Focus Hover');
          return page.locator('.monaco-hover:visible').first().innerText({ timeout: 3_000 });
        },
        (text) => /count/.test(text) && /\bint\b/.test(text),
      );
      await page.keyboard.press('Escape');
    },
  },
  {
    name: 'go to definition moves the cursor to the function',
    async run({ workbench, page }) {
      await workbench.open('counter.a');
      await workbench.goTo(TWICE_AT.line, TWICE_AT.column);
      await page.keyboard.press('F12');
      await workbench.waitForCursor(TWICE_DECLARED.line, TWICE_DECLARED.column);
    },
  },
  {
    name: 'a diagnostic is listed in the Problems panel',
    async run({ workbench, page }) {
      await workbench.open('broken.a');
      await workbench.editor().locator('.squiggly-error').first().waitFor({ state: 'attached', timeout: 30_000 });
      await workbench.command('View: Focus Problems (Errors, Warnings, Infos)');
      const panel = page.locator('.markers-panel');
      await workbench.until(
        'the misspelt `totl` in the Problems panel',
        () => panel.innerText(),
        (text) => /totl/.test(text) && /broken\.a/.test(text),
      );
    },
  },
  {
    name: 'Run test on a passing test keeps its output in the terminal',
    async run({ workbench, page }) {
      await workbench.open('counter.a');
      await runTest(workbench, 'bumping_adds_twice');
      const text = await workbench.until(
        'the passing test\'s result in the terminal',
        () => workbench.terminalText(),
        (text) => /Adama: test bumping_adds_twice passed\./.test(text),
      );
      expect(/adama test .*counter\.a --test bumping_adds_twice/.test(unwrapped(text)), `the terminal shows the command: ${text}`);
      // Still readable once `adama test` has long exited.
      await page.waitForTimeout(3_000);
      const later = await workbench.terminalText();
      expect(/test bumping_adds_twice passed/.test(later), `the output stays: ${later}`);
    },
  },
  {
    name: 'Run test on a failing test says FAILED and keeps its output in the terminal',
    async run({ workbench, page }) {
      await workbench.open('counter.a');
      await runTest(workbench, 'bumping_once_is_not_enough');
      await workbench.until(
        'the failing test\'s result in the terminal',
        () => workbench.terminalText(),
        (text) => /Adama: test bumping_once_is_not_enough FAILED/.test(text),
      );
      await page.waitForTimeout(3_000);
      const later = await workbench.terminalText();
      expect(
        /bumping_once_is_not_enough \.\.\. FAILED/.test(later) && /Adama: test bumping_once_is_not_enough FAILED/.test(later),
        `adama test's own report and the verdict stay: ${later}`,
      );
      const toasts = await workbench.notifications();
      expect(
        !toasts.some((toast) => /failed to launch|could not run/.test(toast)),
        `a failing test is not reported as a terminal that failed: ${JSON.stringify(toasts)}`,
      );
    },
  },
  {
    name: 'a debug session on a recorded log hits a breakpoint, steps back and shows the Document',
    async run({ workbench, page }) {
      await workbench.open('counter.a');
      await workbench.goTo(BUMP_LINE, 3);
      await workbench.command('Debug: Toggle Breakpoint');
      await workbench.editor().locator('.codicon-debug-breakpoint').first().waitFor();
      await workbench.command('Debug: Start Debugging');
      await workbench.command('View: Show Run and Debug');
      // stopOnEntry: the session stops before the first transaction.
      const stack = page.locator('.debug-call-stack');
      await workbench.until('a stop on entry', () => stack.innerText(), (text) => /paused/i.test(text) || /step/i.test(text), 30_000);
      await workbench.command('Debug: Continue');
      await workbench.until(
        'the breakpoint in `channel bump`',
        () => stack.innerText(),
        (text) => /bump/.test(text) && new RegExp(`\\b${BUMP_LINE}:`).test(text),
      );
      await workbench.waitForCursor(BUMP_LINE);
      // `bumps++` has run, `count += ...` has not.
      await documentScope(workbench, page, / count = 0 bumps = 1 /);

      // Step Back is a button of the debug toolbar (the palette does not list it).
      await page.locator('.action-label[aria-label^="Step Back"]').first().click();
      await workbench.until(
        'a step back to `bumps++`',
        () => stack.innerText(),
        (text) => new RegExp(`\\b${BUMPS_LINE}:`).test(text),
      );
      await workbench.waitForCursor(BUMPS_LINE);
      // Before `bumps++` ran.
      await documentScope(workbench, page, / count = 0 bumps = 0 /);
    },
    async after({ workbench }) {
      await workbench.command('Debug: Stop').catch(() => {});
    },
  },
];

/**
 * Clicks the "Run test" lens of a test until its terminal shows the command: a lens clicked while
 * the editor redraws its lenses is a click on a node that has just been replaced.
 */
async function runTest(workbench, test) {
  const started = new RegExp(`--test ${test}`);
  for (let attempt = 1; ; attempt += 1) {
    await (await findLens(workbench, test, 'Run test')).click();
    try {
      await workbench.until(`the terminal of ${test}`, () => workbench.terminalText(), (text) => started.test(unwrapped(text)), 10_000);
      return;
    } catch (error) {
      if (attempt === 3) throw error;
      console.log(`  the "Run test" lens of ${test} started nothing in 10 s; clicking it again`);
    }
  }
}

/** The code lens named `title` above the test block `test`. */
async function findLens(workbench, test, title) {
  // Bring the test into view first: lenses exist only on rendered lines.
  await workbench.goTo(TESTS[test], 1);
  const lines = workbench.editor().locator('.view-line', { hasText: `test ${test}` });
  await lines.first().waitFor();
  // A lens sits in the view zone just above its line: find the lens whose zone is nearest above.
  const lens = await workbench.until(
    `the "${title}" lens of ${test}`,
    async () => {
      const lineTop = await lines.first().evaluate((element) => element.getBoundingClientRect().top);
      const links = workbench.editor().locator('.codelens-decoration a', { hasText: title });
      let best = -1;
      let bestGap = Infinity;
      for (const [index, top] of (await links.evaluateAll((all) => all.map((a) => a.getBoundingClientRect().top))).entries()) {
        const gap = lineTop - top;
        if (gap > 0 && gap < bestGap) {
          best = index;
          bestGap = gap;
        }
      }
      return best >= 0 && bestGap < 40 ? String(best) : '';
    },
    (index) => index !== '',
  );
  const link = workbench.editor().locator('.codelens-decoration a', { hasText: title }).nth(Number(lens));
  return link;
}

/** Expands the Document scope in the Variables view and waits for its fields to read `expected`. */
async function documentScope(workbench, page, expected) {
  const variables = page.locator('.debug-variables');
  const scope = variables.locator('.monaco-list-row', { hasText: /^Document$/ }).first();
  await scope.waitFor();
  return workbench.until(
    `the Document scope's fields matching ${expected}`,
    async () => {
      // VS Code may expand a scope itself once it has the variables: click only a closed one.
      if ((await scope.getAttribute('aria-expanded')) !== 'true') {
        await scope.click();
        await page.waitForTimeout(500);
      }
      return (await variables.innerText()).replace(/\s+/g, ' ');
    },
    (text) => expected.test(text),
  );
}

module.exports = { checks };
