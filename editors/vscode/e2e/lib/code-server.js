// code-server (VS Code in a browser) for one run: a fresh profile and extensions folder under the
// run's folder, the .vsix installed there, and the server on a free local port.
'use strict';

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

/** The folder of the installed code-server package (found through NODE_PATH). */
function codeServerEntry() {
  const manifest = require.resolve('code-server/package.json');
  return path.join(path.dirname(manifest), 'out', 'node', 'entry.js');
}

/** @returns {Promise<number>} a port nothing listens on now */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Lays out a fresh profile: code-server's config, the user settings, and XDG folders inside the
 * run's folder, so that neither code-server, VS Code nor Chromium writes into the home folder.
 * @param {string} root the run's folder
 * @param {number} port
 * @param {Record<string, unknown>} userSettings
 */
function layOutProfile(root, port, userSettings) {
  const dirs = {
    root,
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    config: path.join(root, 'config.yaml'),
    xdg: path.join(root, 'xdg'),
    tmp: path.join(root, 'tmp'),
  };
  fs.rmSync(root, { recursive: true, force: true });
  // VS Code's IPC sockets go to XDG_RUNTIME_DIR and stay there after it exits; a socket path must
  // stay under about 100 bytes, which the run's folder may not allow, so they get a short folder
  // removed at the end. Other temporary files (the TypeScript extension's, written while the
  // window closes) go to the run's folder.
  dirs.sockets = fs.mkdtempSync(path.join(os.tmpdir(), 'adama-e2e-'));
  for (const dir of [dirs.userData, dirs.extensions, dirs.xdg, dirs.tmp]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  fs.writeFileSync(dirs.config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(userSettings, null, 2));
  return dirs;
}

/** The environment code-server and its extension host run in. */
function environment(dirs) {
  return {
    ...process.env,
    XDG_CONFIG_HOME: path.join(dirs.xdg, 'config'),
    XDG_DATA_HOME: path.join(dirs.xdg, 'data'),
    XDG_CACHE_HOME: path.join(dirs.xdg, 'cache'),
    XDG_RUNTIME_DIR: dirs.sockets,
    TMPDIR: dirs.tmp,
  };
}

/** The arguments every code-server invocation of the run shares. */
function commonArguments(dirs) {
  return ['--config', dirs.config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
}

/**
 * Installs the .vsix into the profile's extensions folder, as `code --install-extension` would.
 * @returns {string} the installed extension's folder name
 */
function installExtension(dirs, vsix) {
  const output = execFileSync(
    process.execPath,
    [codeServerEntry(), ...commonArguments(dirs), '--install-extension', vsix],
    { env: environment(dirs), encoding: 'utf8', timeout: 60_000 },
  );
  const installed = fs.readdirSync(dirs.extensions).filter((name) => name.startsWith('adama.adama-'));
  if (installed.length !== 1) {
    throw new Error(`installing ${vsix} left ${JSON.stringify(installed)} in ${dirs.extensions}; code-server said:\n${output}`);
  }
  return installed[0];
}

/**
 * Starts code-server on the workspace and waits until it answers /healthz.
 * @returns {Promise<{ url: string, stop: () => Promise<void>, log: () => string }>}
 */
async function start(dirs, port, workspace) {
  let log = '';
  const child = spawn(
    process.execPath,
    [
      codeServerEntry(),
      ...commonArguments(dirs),
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      workspace,
    ],
    { env: environment(dirs), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (chunk) => { log += chunk; });
  child.stderr.on('data', (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      fs.rmSync(dirs.sockets, { recursive: true, force: true });
      throw new Error(`code-server exited with ${child.exitCode} before answering:\n${log}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      fs.rmSync(dirs.sockets, { recursive: true, force: true });
      throw new Error(`code-server did not answer ${url}/healthz within 60 s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dirs.sockets, { recursive: true, force: true });
    },
  };
}

module.exports = { freePort, layOutProfile, installExtension, start };
