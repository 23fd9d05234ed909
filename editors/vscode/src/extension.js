// The VS Code extension: starts `adama lsp` through vscode-languageclient, runs the tests
// that the server's "Run test" lenses point at, in a terminal that stays open with the result,
// and launches `adama dap` for
// debug sessions of type `adama` (replays of recorded logs).
//
// The server only names the command (`adama.runTest`, with the file and the test); running it is
// the editor's job, so the server stays free of the runtime and the output lands where people
// read program output.
'use strict';

const vscode = require('vscode');
const { spawn } = require('node:child_process');
const { LanguageClient } = require('vscode-languageclient/node');
const {
  RUN_TEST_COMMAND,
  RESTART_COMMAND,
  SERVER_PATH_SETTING,
  adamaExecutable,
  testInvocation,
  testPseudoterminal,
  WHERE_TO_SET_PATH,
  runTestArgumentsAt,
  SHOW_REFERENCES_COMMAND,
  DEBUG_TYPE,
  DEBUG_TEST_COMMAND,
  INITIALIZATION_OPTIONS,
  debugTestConfiguration,
  completeLaunch,
} = require('./commands');

/** @type {LanguageClient | undefined} */
let client;

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand(RUN_TEST_COMMAND, runTest),
    vscode.commands.registerCommand(DEBUG_TEST_COMMAND, debugTest),
    vscode.commands.registerCommand(RESTART_COMMAND, restart),
    vscode.commands.registerCommand(SHOW_REFERENCES_COMMAND, showReferences),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
      createDebugAdapterDescriptor: () => new vscode.DebugAdapterExecutable(executable(), ['dap']),
    }),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
      resolveDebugConfiguration: (_folder, config) => completeLaunch(config, activeAdamaFile(), pickLog),
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(`adama.${SERVER_PATH_SETTING}`)) {
        restart();
      }
    }),
  );
  await start();
}

async function deactivate() {
  await stop();
}

function executable() {
  return adamaExecutable(vscode.workspace.getConfiguration('adama'));
}

async function start() {
  const command = executable();
  // No `transport` option: with one, vscode-languageclient appends `--stdio`, which `adama lsp`
  // does not take; without it the server still talks over stdin and stdout.
  const serverOptions = { command, args: ['lsp'] };
  const clientOptions = {
    documentSelector: [{ language: 'adama' }],
    initializationOptions: INITIALIZATION_OPTIONS,
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.a') },
  };
  client = new LanguageClient('adama', 'Adama', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const message = `Adama: cannot start \`${command} lsp\` (${error && error.message ? error.message : error}). ${WHERE_TO_SET_PATH}`;
    const choice = await vscode.window.showErrorMessage(message, 'Open Settings');
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'adama.server.path');
    }
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

async function restart() {
  await stop();
  await start();
}

/**
 * Runs one test in a terminal. The lens passes the file and the test; from the command palette,
 * the test is the one under the cursor, found through the server's lenses.
 * @param {string | undefined} file
 * @param {string | undefined} test
 */
async function runTest(file, test) {
  if (typeof file !== 'string' || typeof test !== 'string') {
    const found = await testUnderCursor();
    if (!found) {
      vscode.window.showInformationMessage('Adama: put the cursor inside a test block to run it.');
      return;
    }
    [file, test] = found;
  }
  // `adama test` reads the file from disk: save the editor's text first.
  const open = vscode.workspace.textDocuments.find((document) => document.uri.fsPath === file);
  if (open && open.isDirty) {
    await open.save();
  }
  // A pseudoterminal, not a shell: the output stays on screen after `adama test` exits, and a
  // failing test reads as a failing test rather than as a terminal that failed to launch.
  const invocation = testInvocation(executable(), file, test);
  const pty = testPseudoterminal(invocation, test, spawn, () => new vscode.EventEmitter(), (outcome, text) => {
    if (outcome === 'not run') {
      vscode.window.showErrorMessage(text);
    }
  });
  const terminal = vscode.window.createTerminal({ name: invocation.name, pty });
  terminal.show(true);
}

/**
 * Steps through one test block in a debug session (`adama dap` with `test`). The lens passes the
 * file and the test; from the command palette, the test is the one under the cursor.
 * @param {string | undefined} file
 * @param {string | undefined} test
 */
async function debugTest(file, test) {
  if (typeof file !== 'string' || typeof test !== 'string') {
    const found = await testUnderCursor();
    if (!found) {
      vscode.window.showInformationMessage('Adama: put the cursor inside a test block to debug it.');
      return;
    }
    [file, test] = found;
  }
  const open = vscode.workspace.textDocuments.find((document) => document.uri.fsPath === file);
  if (open && open.isDirty) {
    await open.save();
  }
  const folder = vscode.workspace.getWorkspaceFolder
    ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))
    : undefined;
  await vscode.debug.startDebugging(folder, debugTestConfiguration(file, test));
}

/**
 * Shows the uses a "N references" lens counted, in the editor's references view. The lens's
 * arguments are LSP JSON; the view takes VS Code's own types.
 * @param {string} uri
 * @param {{ line: number, character: number }} position
 * @param {{ uri: string, range: { start: { line: number, character: number }, end: { line: number, character: number } } }[]} locations
 */
async function showReferences(uri, position, locations) {
  const toPosition = (at) => new vscode.Position(at.line, at.character);
  await vscode.commands.executeCommand(
    'editor.action.showReferences',
    vscode.Uri.parse(uri),
    toPosition(position),
    (locations || []).map(
      (location) =>
        new vscode.Location(
          vscode.Uri.parse(location.uri),
          new vscode.Range(toPosition(location.range.start), toPosition(location.range.end)),
        ),
    ),
  );
}

/** @returns {string | undefined} the path of the active editor's file when it is Adama */
function activeAdamaFile() {
  const editor = vscode.window.activeTextEditor;
  return editor && editor.document.languageId === 'adama' ? editor.document.uri.fsPath : undefined;
}

/** Asks for the log to replay. @returns {Promise<string | undefined>} */
async function pickLog() {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Replay this log',
    title: 'The log to replay (adama run --record LOG)',
    filters: { 'Transaction logs': ['log', 'jsonl', 'json'], 'All files': ['*'] },
  });
  return picked && picked.length > 0 ? picked[0].fsPath : undefined;
}

/** @returns {Promise<[string, string] | undefined>} */
async function testUnderCursor() {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'adama' || !client) {
    return undefined;
  }
  const lenses = await client.sendRequest('textDocument/codeLens', {
    textDocument: { uri: editor.document.uri.toString() },
  });
  const { line, character } = editor.selection.active;
  return runTestArgumentsAt(lenses, { line, character });
}

module.exports = { activate, deactivate };
