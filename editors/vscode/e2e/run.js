// The Adama extension in a real VS Code: code-server with the packaged .vsix in a fresh profile,
// driven through Chromium as a user would. Each check of checks.js runs in turn; a failing one
// leaves a screenshot and the next ones still run.
//
// Environment (cli/tests/vscode_e2e.rs sets it):
//   ADAMA_BIN        the adama executable the extension runs
//   ADAMA_VSIX       the packaged extension
//   ADAMA_WORKSPACE  the folder to open (checks.js says what it holds)
//   ADAMA_E2E_OUT    a scratch folder: the profile, and the screenshots of failed checks
//   ADAMA_CHROMIUM   Chromium (default /usr/bin/chromium)
// NODE_PATH names the node_modules that holds code-server and playwright-core.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const codeServer = require('./lib/code-server');
const { Workbench } = require('./lib/workbench');
const { checks } = require('./checks');

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; cli/tests/vscode_e2e.rs sets it (see the top of run.js)`);
  }
  return value;
}

/** User settings of the fresh profile: quiet, deterministic, and the terminal in the DOM. */
function userSettings(adama) {
  return {
    // A user's own setting: `window` scope makes it apply in a remote window like code-server's.
    'adama.server.path': adama,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.colorTheme': 'Default Dark Modern',
    'editor.semanticHighlighting.enabled': true,
    'editor.hover.delay': 300,
    'editor.codeLens': true,
    'terminal.integrated.gpuAcceleration': 'off',
    'security.workspace.trust.enabled': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'git.enabled': false,
    'debug.toolBarLocation': 'docked',
    'window.commandCenter': false,
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
  };
}

async function main() {
  const adama = required('ADAMA_BIN');
  const vsix = required('ADAMA_VSIX');
  const workspace = required('ADAMA_WORKSPACE');
  const out = required('ADAMA_E2E_OUT');
  const browserPath = process.env.ADAMA_CHROMIUM || '/usr/bin/chromium';
  const screenshots = path.join(out, 'screenshots');
  fs.rmSync(screenshots, { recursive: true, force: true });
  fs.mkdirSync(screenshots, { recursive: true });
  console.log(`screenshots of failed checks go to ${screenshots}`);

  const port = await codeServer.freePort();
  const dirs = codeServer.layOutProfile(path.join(out, 'profile'), port, userSettings(adama));
  const installed = codeServer.installExtension(dirs, vsix);
  console.log(`installed ${installed} into ${dirs.extensions}`);

  const server = await codeServer.start(dirs, port, workspace);
  const browser = await chromium.launch({
    executablePath: browserPath,
    // Tests run as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  let passed = 0;
  let failed = 0;
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(20_000);
    const started = Date.now();
    const workbench = new Workbench(page);
    try {
      await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
      await workbench.ready();
    } catch (error) {
      const shot = path.join(screenshots, '00-startup.png');
      await page.screenshot({ path: shot }).catch(() => {});
      failed = checks.length;
      throw new Error(`the workbench did not load (screenshot: ${shot}): ${error.message}`);
    }
    console.log(`workbench ready in ${Date.now() - started} ms`);

    const context = { workbench, page, workspace };
    for (const [index, check] of checks.entries()) {
      const began = Date.now();
      try {
        await check.run(context);
        passed += 1;
        console.log(`ok ${index + 1} - ${check.name} (${Date.now() - began} ms)`);
      } catch (error) {
        failed += 1;
        const shot = path.join(screenshots, `${String(index + 1).padStart(2, '0')}-${check.name.replace(/[^a-z0-9]+/gi, '-')}.png`);
        await page.screenshot({ path: shot }).catch(() => {});
        console.log(`not ok ${index + 1} - ${check.name}\n  ${String(error && error.stack ? error.stack : error).replace(/\n/g, '\n  ')}\n  screenshot: ${shot}`);
        if (check.after) await check.after(context).catch(() => {});
      }
    }
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
    if (failed > 0) {
      fs.writeFileSync(path.join(out, 'code-server.log'), server.log());
      console.log(`code-server's output: ${path.join(out, 'code-server.log')}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exitCode = 2;
});
