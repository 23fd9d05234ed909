// The parts of the extension that do not need VS Code: the command names the language server's
// lenses use, how `adama test` is invoked for one test, and which lens the cursor is in.
// `test/commands.test.js` runs them under `node --test`.
'use strict';

/** The command of the language server's "Run test" lens: arguments (file path, test name). */
const RUN_TEST_COMMAND = 'adama.runTest';

/**
 * The command of the language server's "N references" lens: arguments (document URI, position of
 * the declaration, locations of its uses), as LSP JSON.
 */
const SHOW_REFERENCES_COMMAND = 'adama.showReferences';

/**
 * The command of the language server's "Debug test" lens: arguments (file path, test name). The
 * server offers the lens because the client says so in `initializationOptions`.
 */
const DEBUG_TEST_COMMAND = 'adama.debugTest';

/** What the extension tells the language server at start: it runs the "Debug test" lens. */
const INITIALIZATION_OPTIONS = { debugTestLens: true };

/** Restarts the language server, for example after `adama` was rebuilt. */
const RESTART_COMMAND = 'adama.restartServer';

/** The setting that names the `adama` executable. */
const SERVER_PATH_SETTING = 'server.path';

/**
 * The `adama` executable from the extension's configuration section; blank means the default,
 * `adama` on the PATH.
 * @param {{ get(name: string): unknown }} configuration the `adama` configuration section
 * @returns {string}
 */
function adamaExecutable(configuration) {
  const configured = configuration.get(SERVER_PATH_SETTING);
  return typeof configured === 'string' && configured.trim() !== '' ? configured.trim() : 'adama';
}

/**
 * How one test runs: the executable and its arguments, given as a list so that no shell
 * quoting is involved, and the folder to run in.
 * @param {string} executable
 * @param {string} file the absolute path of the Adama file
 * @param {string} test the test's name
 * @returns {{ name: string, shellPath: string, shellArgs: string[], cwd: string }}
 */
function testInvocation(executable, file, test) {
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return {
    name: `Adama test ${test}`,
    shellPath: executable,
    shellArgs: ['test', file, '--test', test],
    cwd: slash > 0 ? file.slice(0, slash) : '.',
  };
}

/**
 * Where to set `adama.server.path` so that it applies: said wherever the executable is missing.
 * In a remote window (Remote-SSH, WSL, Dev Containers, Codespaces, code-server) the extension
 * runs on the remote machine, so the path is one on that machine.
 */
const WHERE_TO_SET_PATH =
  'Set "adama.server.path" to the adama executable: in the User settings, or, in a remote window ' +
  '(Remote-SSH, WSL, Codespaces, code-server), in the Remote settings or the workspace\'s ' +
  'settings, with a path on the remote machine.';

/**
 * The line that ends a test's output: whether the test passed or failed, or why it could not run.
 * `adama test` exits 0 when the test passes, 1 when it fails (or the file has errors), 2 when it
 * cannot run (an unknown test, an unreadable file).
 * @param {string} executable
 * @param {string} test
 * @param {{ code?: number | null, error?: { code?: string, message?: string } }} ended
 * @returns {{ text: string, outcome: 'passed' | 'failed' | 'not run' }}
 */
function describeTestEnd(executable, test, ended) {
  if (ended.error) {
    const missing = ended.error.code === 'ENOENT';
    const why = missing ? `\`${executable}\` was not found` : ended.error.message || String(ended.error);
    return { text: `Adama: the test ${test} could not run: ${why}. ${WHERE_TO_SET_PATH}`, outcome: 'not run' };
  }
  if (ended.code === 0) {
    return { text: `Adama: test ${test} passed.`, outcome: 'passed' };
  }
  if (ended.code === 1) {
    return { text: `Adama: test ${test} FAILED (the output above says which assertion or error).`, outcome: 'failed' };
  }
  return { text: `Adama: the test ${test} did not run (adama test exited with code ${ended.code}; see above).`, outcome: 'not run' };
}

/**
 * A pseudoterminal that runs one test and keeps its output on screen once it ends: the terminal
 * closes only when the user closes it, and a last line says whether the test passed or failed.
 * @param {{ name: string, shellPath: string, shellArgs: string[], cwd: string }} invocation
 * @param {string} test
 * @param {(command: string, args: string[], options: object) => import('node:child_process').ChildProcess} spawn
 * @param {() => { event: Function, fire: Function }} makeEmitter an event emitter (VS Code's)
 * @param {(outcome: string, text: string) => void} [ended] told how the run ended
 */
function testPseudoterminal(invocation, test, spawn, makeEmitter, ended) {
  const writes = makeEmitter();
  const closes = makeEmitter();
  // A terminal wants CRLF line ends; a process writes LF.
  const write = (text) => writes.fire(String(text).replace(/\r?\n/g, '\r\n'));
  let child;
  return {
    onDidWrite: writes.event,
    onDidClose: closes.event,
    open() {
      write(`$ ${invocation.shellPath} ${invocation.shellArgs.join(' ')}\n`);
      let done = false;
      const finish = (how) => {
        if (done) return;
        done = true;
        const end = describeTestEnd(invocation.shellPath, test, how);
        write(`\n${end.text}\n`);
        if (ended) ended(end.outcome, end.text);
      };
      try {
        child = spawn(invocation.shellPath, invocation.shellArgs, { cwd: invocation.cwd });
      } catch (error) {
        finish({ error });
        return;
      }
      child.stdout.on('data', write);
      child.stderr.on('data', write);
      child.on('error', (error) => finish({ error }));
      child.on('close', (code) => finish({ code }));
    },
    close() {
      if (child && child.exitCode === null) child.kill();
    },
  };
}

/**
 * The arguments of the run-test lens whose range holds `position`, or undefined.
 * @param {Array<{ range: { start: { line: number, character: number }, end: { line: number, character: number } }, command?: { command: string, arguments?: unknown[] } }>} lenses protocol code lenses
 * @param {{ line: number, character: number }} position a protocol position
 * @returns {[string, string] | undefined}
 */
function runTestArgumentsAt(lenses, position) {
  const before = (a, b) => a.line < b.line || (a.line === b.line && a.character <= b.character);
  for (const lens of lenses || []) {
    const command = lens.command;
    if (!command || command.command !== RUN_TEST_COMMAND) continue;
    const args = command.arguments || [];
    if (args.length !== 2 || typeof args[0] !== 'string' || typeof args[1] !== 'string') continue;
    if (before(lens.range.start, position) && before(position, lens.range.end)) {
      return [args[0], args[1]];
    }
  }
  return undefined;
}

/** The debugger's type in launch configurations; the adapter is `adama dap`. */
const DEBUG_TYPE = 'adama';

/**
 * The launch configuration that steps through one test block.
 * @param {string} file the absolute path of the Adama file
 * @param {string} test the test's name
 */
function debugTestConfiguration(file, test) {
  return { type: DEBUG_TYPE, request: 'launch', name: `Debug test ${test}`, program: file, test, stopOnEntry: true };
}

/**
 * Completes a launch configuration before the session starts: an empty one (F5 without a
 * launch.json) replays a log of the open Adama file, and a missing log is asked for (unless the
 * configuration debugs a `test` block instead).
 * @param {Record<string, unknown>} config the configuration as written
 * @param {string | undefined} activeFile the path of the active Adama editor, if any
 * @param {() => Promise<string | undefined>} pickLog asks for a log file; undefined when cancelled
 * @returns {Promise<Record<string, unknown> | undefined>} undefined to cancel the launch
 */
async function completeLaunch(config, activeFile, pickLog) {
  const complete = { ...config };
  if (!complete.type && !complete.request && !complete.name) {
    Object.assign(complete, { type: DEBUG_TYPE, request: 'launch', name: 'Replay a log', stopOnEntry: true });
  }
  if (typeof complete.program !== 'string' || complete.program === '') {
    if (!activeFile) {
      return undefined;
    }
    complete.program = activeFile;
  }
  const test = typeof complete.test === 'string' && complete.test !== '';
  if (!test && (typeof complete.log !== 'string' || complete.log === '')) {
    const log = await pickLog();
    if (!log) {
      return undefined;
    }
    complete.log = log;
  }
  return complete;
}

module.exports = {
  DEBUG_TYPE,
  DEBUG_TEST_COMMAND,
  INITIALIZATION_OPTIONS,
  debugTestConfiguration,
  completeLaunch,
  RUN_TEST_COMMAND,
  RESTART_COMMAND,
  SERVER_PATH_SETTING,
  WHERE_TO_SET_PATH,
  describeTestEnd,
  testPseudoterminal,
  adamaExecutable,
  testInvocation,
  runTestArgumentsAt,
  SHOW_REFERENCES_COMMAND,
};
