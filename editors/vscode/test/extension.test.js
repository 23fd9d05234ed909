// src/extension.js against stand-ins for the `vscode` module and vscode-languageclient, which
// record what the extension asks of them: how it starts the server and how it runs a test.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const Module = require('node:module');

function fakes() {
  const calls = { commands: new Map(), terminals: [], saved: [], requests: [], clients: [], messages: [], debuggers: new Map(), dialogs: [], spawned: [], started: [] };
  const settings = { 'server.path': 'adama' };
  const vscode = {
    commands: {
      registerCommand(name, handler) {
        calls.commands.set(name, handler);
        return { dispose() {} };
      },
      executeCommand(name, ...args) {
        calls.executed = calls.executed || [];
        calls.executed.push({ name, args });
      },
    },
    Uri: { parse: (text) => ({ parsed: text }), file: (path) => ({ file: path }) },
    EventEmitter: class {
      constructor() { this.listeners = []; this.event = (listener) => this.listeners.push(listener); }
      fire(value) { for (const listener of this.listeners) listener(value); }
    },
    DebugAdapterExecutable: class { constructor(command, args) { Object.assign(this, { command, args }); } },
    debug: {
      registerDebugAdapterDescriptorFactory(type, factory) {
        calls.debuggers.set(`${type} factory`, factory);
        return { dispose() {} };
      },
      registerDebugConfigurationProvider(type, provider) {
        calls.debuggers.set(`${type} provider`, provider);
        return { dispose() {} };
      },
      async startDebugging(folder, configuration) {
        calls.started.push({ folder, configuration });
        return true;
      },
    },
    Position: class { constructor(line, character) { Object.assign(this, { line, character }); } },
    Range: class { constructor(start, end) { Object.assign(this, { start, end }); } },
    Location: class { constructor(uri, range) { Object.assign(this, { uri, range }); } },
    workspace: {
      getConfiguration: () => ({ get: (name) => settings[name] }),
      onDidChangeConfiguration: () => ({ dispose() {} }),
      createFileSystemWatcher: (glob) => ({ glob }),
      textDocuments: [],
    },
    window: {
      activeTextEditor: undefined,
      createTerminal(options) {
        calls.terminals.push(options);
        return { show() {} };
      },
      showInformationMessage: (message) => calls.messages.push(message),
      showErrorMessage: async (message) => { calls.messages.push(message); },
      showOpenDialog: async (options) => {
        calls.dialogs.push(options);
        return calls.picked;
      },
    },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, running: false });
      calls.clients.push(this);
    }
    async start() { this.running = true; }
    async stop() { this.running = false; }
    async sendRequest(method, params) {
      calls.requests.push({ method, params });
      return [{
        range: { start: { line: 1, character: 0 }, end: { line: 3, character: 1 } },
        command: { title: '\u25b6 Run test', command: 'adama.runTest', arguments: ['/work/doc.a', 'counts'] },
      }];
    }
  }
  // `adama test` as a child process: the test decides how it ends.
  const spawn = (command, args, options) => {
    const handlers = {};
    const stream = () => {
      const listeners = [];
      return { on: (event, listener) => listeners.push(listener), emit: (text) => listeners.forEach((l) => l(text)) };
    };
    const child = {
      stdout: stream(), stderr: stream(), exitCode: null,
      on: (event, listener) => { handlers[event] = listener; },
      kill() { calls.killed = true; },
      handlers,
    };
    calls.spawned.push({ command, args, options, child });
    return child;
  };
  return { calls, settings, vscode, languageclient: { LanguageClient }, childProcess: { spawn } };
}

/** Opens the pseudoterminal of the last Run test and gives what it shows. */
function openTerminal(stubs) {
  const terminal = stubs.calls.terminals[stubs.calls.terminals.length - 1];
  let shown = '';
  terminal.pty.onDidWrite((text) => { shown += text; });
  let closed = false;
  terminal.pty.onDidClose(() => { closed = true; });
  terminal.pty.open();
  const { child } = stubs.calls.spawned[stubs.calls.spawned.length - 1];
  return { child, shown: () => shown, closed: () => closed };
}

function loadExtension(stubs) {
  const original = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return stubs.vscode;
    if (request === 'vscode-languageclient/node') return stubs.languageclient;
    if (request === 'node:child_process') return stubs.childProcess;
    return original.call(this, request, ...rest);
  };
  try {
    const path = require.resolve('../src/extension');
    delete require.cache[path];
    return require(path);
  } finally {
    Module._load = original;
  }
}

test('activation starts `adama lsp` for adama documents and registers the commands', async () => {
  const stubs = fakes();
  const extension = loadExtension(stubs);
  await extension.activate({ subscriptions: [] });
  assert.deepEqual([...stubs.calls.commands.keys()], ['adama.runTest', 'adama.debugTest', 'adama.restartServer', 'adama.showReferences']);
  const [client] = stubs.calls.clients;
  assert.deepEqual(client.serverOptions, { command: 'adama', args: ['lsp'] });
  assert.deepEqual(client.clientOptions.documentSelector, [{ language: 'adama' }]);
  assert.deepEqual(client.clientOptions.initializationOptions, { debugTestLens: true }, 'the server offers Debug test lenses');
  assert.equal(client.running, true);
  await extension.deactivate();
  assert.equal(client.running, false);
});

test('the lens command saves the file and runs its test in a terminal that keeps the output', async () => {
  const stubs = fakes();
  stubs.settings['server.path'] = '/opt/adama';
  const dirty = { uri: { fsPath: '/work/doc.a' }, isDirty: true, async save() { stubs.calls.saved.push(this.uri.fsPath); } };
  stubs.vscode.workspace.textDocuments.push(dirty);
  const extension = loadExtension(stubs);
  await extension.activate({ subscriptions: [] });
  await stubs.calls.commands.get('adama.runTest')('/work/doc.a', 'counts');
  assert.deepEqual(stubs.calls.saved, ['/work/doc.a']);
  assert.equal(stubs.calls.terminals.length, 1);
  assert.equal(stubs.calls.terminals[0].name, 'Adama test counts');
  assert.equal(stubs.calls.terminals[0].shellPath, undefined, 'a pseudoterminal, not a shell that closes');

  const run = openTerminal(stubs);
  const { command, args, options } = stubs.calls.spawned[0];
  assert.deepEqual({ command, args, options }, { command: '/opt/adama', args: ['test', '/work/doc.a', '--test', 'counts'], options: { cwd: '/work' } });
  run.child.stdout.emit('test counts ... ok (1/1 asserts)\n');
  run.child.handlers.close(0);
  assert.match(run.shown(), /test counts \.\.\. ok \(1\/1 asserts\)\r\n/);
  assert.match(run.shown(), /Adama: test counts passed\./);
  assert.equal(run.closed(), false, 'the output stays on screen');
  assert.deepEqual(stubs.calls.messages, []);
});

test('a failing test reads as a failing test, and a missing adama says where to set the path', async () => {
  const stubs = fakes();
  const extension = loadExtension(stubs);
  await extension.activate({ subscriptions: [] });
  await stubs.calls.commands.get('adama.runTest')('/work/doc.a', 'counts');
  let run = openTerminal(stubs);
  run.child.stdout.emit('test counts ... FAILED (0/1 asserts)\n');
  run.child.handlers.close(1);
  assert.match(run.shown(), /Adama: test counts FAILED/);
  assert.doesNotMatch(run.shown(), /failed to launch/);
  assert.deepEqual(stubs.calls.messages, [], 'a failing test is not an error of the extension');

  await stubs.calls.commands.get('adama.runTest')('/work/doc.a', 'counts');
  run = openTerminal(stubs);
  run.child.handlers.error(Object.assign(new Error('spawn adama ENOENT'), { code: 'ENOENT' }));
  run.child.handlers.close(-2);
  assert.match(run.shown(), /`adama` was not found/);
  assert.equal(stubs.calls.messages.length, 1);
  assert.match(stubs.calls.messages[0], /adama\.server\.path/);
  assert.match(stubs.calls.messages[0], /remote window/);
});

test('the Debug test lens starts a session that steps through the test', async () => {
  const stubs = fakes();
  const extension = loadExtension(stubs);
  await extension.activate({ subscriptions: [] });
  await stubs.calls.commands.get('adama.debugTest')('/work/doc.a', 'counts');
  assert.deepEqual(stubs.calls.started.map((started) => started.configuration), [{
    type: 'adama', request: 'launch', name: 'Debug test counts', program: '/work/doc.a', test: 'counts', stopOnEntry: true,
  }]);
  const provider = stubs.calls.debuggers.get('adama provider');
  const configuration = stubs.calls.started[0].configuration;
  assert.deepEqual(await provider.resolveDebugConfiguration(undefined, configuration), configuration);
  assert.equal(stubs.calls.dialogs.length, 0, 'a test needs no log');
});

test('from the command palette, the test is the lens under the cursor', async () => {
  const stubs = fakes();
  stubs.vscode.window.activeTextEditor = {
    document: { languageId: 'adama', uri: { toString: () => 'file:///work/doc.a' } },
    selection: { active: { line: 2, character: 3 } },
  };
  const extension = loadExtension(stubs);
  await extension.activate({ subscriptions: [] });
  await stubs.calls.commands.get('adama.runTest')();
  assert.deepEqual(stubs.calls.requests, [
    { method: 'textDocument/codeLens', params: { textDocument: { uri: 'file:///work/doc.a' } } },
  ]);
  openTerminal(stubs);
  assert.deepEqual(stubs.calls.spawned.map((spawned) => spawned.args), [['test', '/work/doc.a', '--test', 'counts']]);

  stubs.vscode.window.activeTextEditor.selection.active = { line: 7, character: 0 };
  await stubs.calls.commands.get('adama.runTest')();
  assert.equal(stubs.calls.terminals.length, 1, 'outside a test block nothing runs');
  assert.deepEqual(stubs.calls.messages, ['Adama: put the cursor inside a test block to run it.']);
});

test('the references lens opens the editor\'s references view with VS Code types', async () => {
  const stubs = fakes();
  const extension = loadExtension(stubs);
  await extension.activate({ subscriptions: [] });
  const use = { uri: 'file:///work/doc.a', range: { start: { line: 1, character: 6 }, end: { line: 1, character: 9 } } };
  await stubs.calls.commands.get('adama.showReferences')('file:///work/doc.a', { line: 0, character: 7 }, [use]);
  const [call] = stubs.calls.executed;
  assert.equal(call.name, 'editor.action.showReferences');
  assert.deepEqual(call.args[0], { parsed: 'file:///work/doc.a' });
  assert.deepEqual({ ...call.args[1] }, { line: 0, character: 7 });
  assert.equal(call.args[2].length, 1);
  assert.deepEqual({ ...call.args[2][0].range.end }, { line: 1, character: 9 });
});

test('debug sessions of type adama run `adama dap`, and a missing log is asked for', async () => {
  const stubs = fakes();
  stubs.settings['server.path'] = '/opt/adama';
  stubs.vscode.window.activeTextEditor = {
    document: { languageId: 'adama', uri: { fsPath: '/work/doc.a', toString: () => 'file:///work/doc.a' } },
    selection: { active: { line: 0, character: 0 } },
  };
  const extension = loadExtension(stubs);
  await extension.activate({ subscriptions: [] });
  const adapter = stubs.calls.debuggers.get('adama factory').createDebugAdapterDescriptor({});
  assert.deepEqual({ ...adapter }, { command: '/opt/adama', args: ['dap'] });

  const provider = stubs.calls.debuggers.get('adama provider');
  stubs.calls.picked = [{ fsPath: '/work/doc.log' }];
  assert.deepEqual(await provider.resolveDebugConfiguration(undefined, {}), {
    type: 'adama', request: 'launch', name: 'Replay a log', stopOnEntry: true,
    program: '/work/doc.a', log: '/work/doc.log',
  });
  assert.equal(stubs.calls.dialogs.length, 1);

  const written = { type: 'adama', request: 'launch', name: 'x', program: '/p.a', log: '/p.log' };
  assert.deepEqual(await provider.resolveDebugConfiguration(undefined, written), written);
  assert.equal(stubs.calls.dialogs.length, 1, 'a configured log is not asked for');

  stubs.calls.picked = undefined;
  assert.equal(await provider.resolveDebugConfiguration(undefined, { program: '/p.a' }), undefined);
});
