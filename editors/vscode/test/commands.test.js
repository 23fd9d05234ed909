// The extension's logic that needs no VS Code, under `node --test`.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  RUN_TEST_COMMAND,
  adamaExecutable,
  testInvocation,
  runTestArgumentsAt,
  describeTestEnd,
} = require('../src/commands');

const settings = (values) => ({ get: (name) => values[name] });

test('the executable defaults to adama on the PATH', () => {
  assert.equal(adamaExecutable(settings({})), 'adama');
  assert.equal(adamaExecutable(settings({ 'server.path': '  ' })), 'adama');
  assert.equal(adamaExecutable(settings({ 'server.path': ' /opt/adama/bin/adama ' })), '/opt/adama/bin/adama');
});

test('a test runs as adama test FILE --test NAME beside the file, without a shell', () => {
  assert.deepEqual(testInvocation('adama', '/work/my project/chat.a', 'sends'), {
    name: 'Adama test sends',
    shellPath: 'adama',
    shellArgs: ['test', '/work/my project/chat.a', '--test', 'sends'],
    cwd: '/work/my project',
  });
  assert.equal(testInvocation('adama', 'C:\\src\\chat.a', 't').cwd, 'C:\\src');
});

test('the test under the cursor is the run-test lens whose range holds it', () => {
  const lens = (start, end, name) => ({
    range: { start: { line: start, character: 0 }, end: { line: end, character: 1 } },
    command: { title: '\u25b6 Run test', command: RUN_TEST_COMMAND, arguments: ['/doc.a', name] },
  });
  const lenses = [lens(1, 3, 'first'), lens(5, 5, 'second')];
  assert.deepEqual(runTestArgumentsAt(lenses, { line: 2, character: 4 }), ['/doc.a', 'first']);
  assert.deepEqual(runTestArgumentsAt(lenses, { line: 5, character: 1 }), ['/doc.a', 'second']);
  assert.equal(runTestArgumentsAt(lenses, { line: 4, character: 0 }), undefined);
  assert.equal(runTestArgumentsAt(lenses, { line: 5, character: 2 }), undefined);
  assert.equal(runTestArgumentsAt(null, { line: 0, character: 0 }), undefined);
});

test('the end of a test run says passed, failed, or why it did not run', () => {
  assert.equal(describeTestEnd('adama', 't', { code: 0 }).outcome, 'passed');
  assert.equal(describeTestEnd('adama', 't', { code: 1 }).outcome, 'failed');
  const unknown = describeTestEnd('adama', 't', { code: 2 });
  assert.equal(unknown.outcome, 'not run');
  assert.match(unknown.text, /exited with code 2/);
  const missing = describeTestEnd('/opt/adama', 't', { error: { code: 'ENOENT', message: 'spawn /opt/adama ENOENT' } });
  assert.equal(missing.outcome, 'not run');
  assert.match(missing.text, /`\/opt\/adama` was not found.*adama\.server\.path.*Remote settings/);
});
