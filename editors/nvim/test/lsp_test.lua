-- End-to-end test of `adama lsp` with Neovim as the client: diagnostics appear as you type,
-- hover returns the type, go-to-definition lands on the declaration, rename edits every use,
-- the "Run test" lens appears and `:AdamaRunTest` runs the test under the cursor.
-- Run: ADAMA_BIN=/path/to/adama nvim --headless --clean -l editors/nvim/test/lsp_test.lua
-- Prints PASS and exits 0, or prints what failed and exits 1.

local adama = assert(os.getenv('ADAMA_BIN'), 'set ADAMA_BIN to the adama binary')
local here = debug.getinfo(1, 'S').source:sub(2)
local plugin = vim.fn.fnamemodify(here, ':p:h:h')
vim.opt.runtimepath:prepend(plugin)

local function fail(message)
  io.stderr:write('FAIL: ' .. message .. '\n')
  os.exit(1)
end

local dir = vim.fn.tempname()
vim.fn.mkdir(dir, 'p')
local path = dir .. '/doc.a'
vim.fn.writefile({
  'public int total;',
  'message Add {',
  '  int n;',
  '}',
  'channel add(Add a) {',
  '  total += a.n;',
  '}',
  'formula doubled = total * 2;',
  'test doubles {',
  '  total = 2;',
  '  assert doubled == 4;',
  '}',
}, path)

require('adama').setup({ lsp = true, lsp_cmd = { adama, 'lsp' } })
vim.cmd.edit(path)
local buf = vim.api.nvim_get_current_buf()
if vim.bo[buf].filetype ~= 'adama' then
  fail('filetype is ' .. vim.bo[buf].filetype)
end

local client
if not vim.wait(10000, function()
  client = vim.lsp.get_clients({ bufnr = buf, name = 'adama' })[1]
  return client ~= nil and client.initialized
end, 20) then
  fail('the language server did not start')
end

-- Diagnostics as you type: misspell `total` in the handler.
local diagnostics = nil
vim.api.nvim_create_autocmd('DiagnosticChanged', {
  buffer = buf,
  callback = function()
    diagnostics = vim.diagnostic.get(buf)
  end,
})
vim.api.nvim_buf_set_lines(buf, 5, 6, false, { '  totl += a.n;' })
if not vim.wait(10000, function()
  return diagnostics ~= nil and #diagnostics == 1
end, 20) then
  fail('no diagnostic for the misspelt name')
end
if diagnostics[1].lnum ~= 5 or not diagnostics[1].message:find("The variable 'totl' was not defined", 1, true) then
  fail('unexpected diagnostic: ' .. vim.inspect(diagnostics[1]))
end
vim.api.nvim_buf_set_lines(buf, 5, 6, false, { '  total += a.n;' })
if not vim.wait(10000, function()
  return diagnostics ~= nil and #diagnostics == 0
end, 20) then
  fail('the diagnostic did not clear')
end

local function request(method, line, character, extra)
  local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = line, character = character } }
  for key, value in pairs(extra or {}) do
    params[key] = value
  end
  local response = client:request_sync(method, params, 5000, buf)
  if not response or response.err then
    fail(method .. ' failed: ' .. vim.inspect(response))
  end
  return response.result
end

-- Hover on `a.n` shows its type.
local hover = request('textDocument/hover', 5, 13)
if not (hover and hover.contents.value:find('a.n: int', 1, true)) then
  fail('hover: ' .. vim.inspect(hover))
end

-- Go to definition from the use of `total` in the formula lands on the field.
local definition = request('textDocument/definition', 7, 19)
local target = definition.range or (definition[1] and definition[1].range)
if not target or target.start.line ~= 0 or target.start.character ~= 11 then
  fail('definition: ' .. vim.inspect(definition))
end

-- Rename `total` everywhere.
local edit = request('textDocument/rename', 0, 12, { newName = 'sum' })
vim.lsp.util.apply_workspace_edit(edit, client.offset_encoding)
local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
if lines[1] ~= 'public int sum;' or lines[6] ~= '  sum += a.n;' or lines[8] ~= 'formula doubled = sum * 2;' then
  fail('rename: ' .. vim.inspect(lines))
end

-- The lenses, refreshed (and resolved) by the plugin: "Run test" over the test block, and
-- "N references" over the message.
local function lens_with(command)
  for _, candidate in ipairs(vim.lsp.codelens.get(buf)) do
    if candidate.command and candidate.command.command == command then
      return candidate
    end
  end
end
if not vim.wait(10000, function()
  return lens_with('adama.runTest') ~= nil and lens_with('adama.showReferences') ~= nil
end, 20) then
  fail('code lenses: ' .. vim.inspect(vim.lsp.codelens.get(buf)))
end
local lens = lens_with('adama.runTest')
if lens.range.start.line ~= 8 or lens.command.arguments[2] ~= 'doubles' then
  fail('lens: ' .. vim.inspect(lens))
end
local references = lens_with('adama.showReferences')
if not references.command.title:match('^%d+ references?$') then
  fail('references lens: ' .. vim.inspect(references))
end

-- `:AdamaRunTest` inside the block saves the renamed file and runs that test in a terminal.
vim.api.nvim_win_set_cursor(0, { 11, 4 })
vim.cmd('AdamaRunTest')
local term = vim.api.nvim_get_current_buf()
if term == buf then
  fail('no terminal opened')
end
local output
if not vim.wait(20000, function()
  output = table.concat(vim.api.nvim_buf_get_lines(term, 0, -1, false), '\n')
  return output:find('1 tests, 1 passed, 0 failed', 1, true) ~= nil
end, 50) then
  fail('the test did not pass in the terminal: ' .. output)
end
if not output:find('test doubles ... ok (1/1 asserts)', 1, true) then
  fail('terminal: ' .. output)
end
if vim.bo[buf].modified then
  fail('the file was not saved before the run')
end

client:stop()
print('PASS')
os.exit(0)
