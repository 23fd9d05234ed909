// What a user does in the VS Code workbench, through the keyboard and the DOM: open a file, move
// the cursor, run a command from the palette, read the status bar and the panels.
'use strict';

/** Text as the DOM shows it, with the non-breaking spaces of editors and terminals made plain. */
function plain(text) {
  return String(text || '').replace(/\u00a0/g, ' ');
}

class Workbench {
  /** @param {import('playwright-core').Page} page */
  constructor(page) {
    this.page = page;
  }

  /** Waits until the workbench shows the workspace's explorer. */
  async ready() {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await this.page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 60_000 });
  }

  /** Runs a command by its title in the palette (F1), as typed by a user. */
  async command(title) {
    // A debug session that starts or stops moves the focus, which closes an open palette; the
    // user then opens it again, and so does this.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.commandOnce(title);
        return;
      } catch (error) {
        if (attempt >= 4) throw error;
        await this.page.keyboard.press('Escape');
        await this.page.waitForTimeout(500);
      }
    }
  }

  async commandOnce(title) {
    const input = this.page.locator('.quick-input-widget input');
    await this.page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    // The row whose label is the title itself, not one that merely contains it.
    const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const row = this.page
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exact }) })
      .first();
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await row.click({ timeout: 5_000 });
    await input.waitFor({ state: 'hidden', timeout: 10_000 });
  }

  /** Opens a workspace file by a click in the Explorer, and waits for its editor. */
  async open(fileName) {
    const row = this.page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${fileName}"]`);
    if (!(await row.isVisible())) {
      await this.command('View: Show Explorer');
      await row.waitFor({ state: 'visible' });
    }
    await row.click();
    await this.page.locator(`.tab.active[aria-label^="${fileName}"]`).waitFor({ timeout: 15_000 });
    await this.editor().locator('.view-lines').waitFor();
  }

  /** The active editor. */
  editor() {
    return this.page.locator('.editor-group-container.active .monaco-editor').first();
  }

  /** Moves the cursor to a line and column (both from 1), through Quick Open's `:line:column`. */
  async goTo(line, column) {
    const input = this.page.locator('.quick-input-widget input');
    await this.page.keyboard.press('Control+P');
    await input.waitFor({ state: 'visible' });
    await input.fill(`:${line}:${column}`);
    await this.page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden' });
    await this.waitForCursor(line, column);
  }

  /** The cursor's position as the status bar shows it ("Ln 12, Col 5"). */
  async cursor() {
    const text = plain(await this.page.locator('[id="status.editor.selection"]').innerText());
    const match = /Ln (\d+), Col (\d+)/.exec(text);
    return match ? { line: Number(match[1]), column: Number(match[2]) } : undefined;
  }

  async waitForCursor(line, column, timeout = 10_000) {
    const deadline = Date.now() + timeout;
    let at;
    while (Date.now() < deadline) {
      at = await this.cursor();
      if (at && at.line === line && (column === undefined || at.column === column)) return at;
      await this.page.waitForTimeout(100);
    }
    throw new Error(`the cursor stayed at ${JSON.stringify(at)}, expected line ${line}${column ? ` column ${column}` : ''}`);
  }

  /**
   * The text of an editor line as rendered (the editor renders only visible lines, in any DOM
   * order; each carries its vertical position).
   * @param {string} contains text the line holds
   */
  line(contains) {
    return this.editor().locator('.view-line', { hasText: contains }).first();
  }

  /** Waits until `read()` answers a text that satisfies `ok`, and returns it. */
  async until(what, read, ok, timeout = 20_000) {
    const deadline = Date.now() + timeout;
    let last = '';
    for (;;) {
      try {
        last = plain(await read());
        if (ok(last)) return last;
      } catch (error) {
        last = `(${error.message.split('\n')[0]})`;
      }
      if (Date.now() > deadline) {
        throw new Error(`${what}: not seen within ${timeout / 1000} s; last seen: ${JSON.stringify(last.slice(0, 2000))}`);
      }
      await this.page.waitForTimeout(200);
    }
  }

  /** The text of every notification toast on screen. */
  async notifications() {
    const toasts = this.page.locator('.notifications-toasts .notification-list-item-message');
    return (await toasts.allInnerTexts()).map(plain);
  }

  /** The text of the visible terminal, rows joined by newlines. */
  async terminalText() {
    const rows = this.page.locator('.terminal-wrapper.active .xterm-rows > div');
    return (await rows.allInnerTexts()).map(plain).join('\n');
  }
}

module.exports = { Workbench, plain };
