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
 * Completes a launch configuration before the session starts: an empty one (F5 without a
 * launch.json) replays a log of the open Adama file, and a missing log is asked for.
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
  if (typeof complete.log !== 'string' || complete.log === '') {
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
  completeLaunch,
  RUN_TEST_COMMAND,
  RESTART_COMMAND,
  SERVER_PATH_SETTING,
  adamaExecutable,
  testInvocation,
  runTestArgumentsAt,
  SHOW_REFERENCES_COMMAND,
};
