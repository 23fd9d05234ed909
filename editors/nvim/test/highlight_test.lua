-- Headless check of the Neovim integration: parser, queries, highlight captures, folds, LSP opt-in.
--
--   nvim --clean -l editors/nvim/test/highlight_test.lua [file.a]
--
-- ADAMA_PARSER=/path/to/adama.so uses a prebuilt parser; otherwise it is compiled with `cc` into a
-- temporary file. Without a file argument it checks examples/counter/counter.a in detail.

local script = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p')
local nvim_dir = vim.fn.fnamemodify(vim.fn.resolve(script), ':h:h')
local repo = vim.fn.fnamemodify(nvim_dir, ':h:h')

local function say(text)
  io.stdout:write(text, '\n')
end

local failures = {}
local function check(ok, what)
  if ok then
    say('ok   ' .. what)
  else
    say('FAIL ' .. what)
    table.insert(failures, what)
  end
end

local function finish()
  if #failures > 0 then
    say(('FAIL: %d check(s) failed'):format(#failures))
    os.exit(1)
  end
  say('PASS')
  os.exit(0)
end

-- The parser.
local parser_path = os.getenv('ADAMA_PARSER')
if not parser_path or parser_path == '' then
  parser_path = vim.fn.tempname() .. '.so'
  local src = repo .. '/grammar/src'
  local result = vim
    .system({ 'cc', '-shared', '-fPIC', '-O2', '-I', src, src .. '/parser.c', src .. '/scanner.c', '-o', parser_path })
    :wait()
  check(result.code == 0, 'compile the parser with cc ' .. (result.stderr or ''))
  if result.code ~= 0 then
    finish()
  end
end

vim.opt.runtimepath:prepend(nvim_dir)
local adama = require('adama')
adama.setup({ parser_path = parser_path })

check(pcall(vim.treesitter.language.inspect, 'adama'), 'parser loaded from ' .. parser_path)
if #failures > 0 then
  finish()
end
for _, name in ipairs({ 'highlights', 'locals', 'folds', 'indents', 'injections' }) do
  local ok, query = pcall(vim.treesitter.query.get, 'adama', name)
  check(ok and query ~= nil, 'queries/adama/' .. name .. '.scm found and valid' .. (ok and '' or (': ' .. tostring(query))))
end

-- The buffer.
local file = arg[1] or (repo .. '/examples/counter/counter.a')
vim.cmd.edit(vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
check(vim.bo[buf].filetype == 'adama', 'filetype of ' .. file .. ' is adama')
check(vim.treesitter.highlighter.active[buf] ~= nil, 'tree-sitter highlighting active')

local tree = vim.treesitter.get_parser(buf, 'adama'):parse()[1]
check(not tree:root():has_error(), 'file parses without errors')

local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)

-- Captures at the first occurrence of `token` on the first line containing `context`.
local function captures_at(context, token)
  for row, line in ipairs(lines) do
    if line:find(context, 1, true) then
      local start = line:find(context, 1, true)
      local col = line:find(token, start, true)
      if col then
        local names = {}
        for _, capture in ipairs(vim.treesitter.get_captures_at_pos(buf, row - 1, col - 1)) do
          names[capture.capture] = true
        end
        return names
      end
    end
  end
  return nil
end

local function expect(context, token, capture)
  local names = captures_at(context, token)
  local found = names and vim.tbl_keys(names) or {}
  table.sort(found)
  check(
    names ~= nil and names[capture] == true,
    ('`%s` in `%s` is @%s (got %s)'):format(token, context, capture, table.concat(found, ', '))
  )
end

if arg[1] == nil then
  expect('// A counter', '//', 'comment')
  expect('@static', '@static', 'attribute')
  expect('create {', 'create', 'keyword')
  expect('return true', 'return', 'keyword.return')
  expect('return true', 'true', 'boolean')
  expect('public int count', 'public', 'keyword.modifier')
  expect('public int count', 'int', 'type.builtin')
  expect('public int count', 'count', 'variable.member')
  expect('public formula doubled', 'formula', 'keyword')
  expect('message Bump', 'message', 'keyword.type')
  expect('message Bump', 'Bump', 'type.definition')
  expect('channel bump(Bump b)', 'bump', 'function')
  expect('channel bump(Bump b)', 'Bump', 'type')
  expect('channel bump(Bump b)', 'b)', 'variable.parameter')
  expect('count += b.by', '+=', 'operator')
  expect('count += b.by', 'by', 'variable.member')
  expect('@construct', '@construct', 'attribute')
  expect('transition #tick in 60', 'transition', 'keyword')
  expect('transition #tick in 60', '#tick', 'label')
  expect('transition #tick in 60', '60', 'number')
  expect('test bumping', 'test', 'keyword')
  expect('test bumping', 'bumping', 'function')
  expect('@send bump', '@send', 'keyword')
  expect('@send bump', '@no_one', 'constant.builtin')
  expect('assert count == ticks', '==', 'operator')

  -- Folds: the body of `@static` (line 2) opens a fold.
  vim.wo.foldmethod = 'expr'
  vim.wo.foldexpr = 'v:lua.vim.treesitter.foldexpr()'
  local level = tostring(vim.treesitter.foldexpr(2))
  check(level:sub(1, 1) == '>', 'a fold starts on line 2 (foldexpr = ' .. level .. ')')
else
  local distinct = {}
  for row, line in ipairs(lines) do
    for col = 1, #line do
      for _, capture in ipairs(vim.treesitter.get_captures_at_pos(buf, row - 1, col - 1)) do
        distinct[capture.capture] = true
      end
    end
  end
  check(#vim.tbl_keys(distinct) >= 5, 'at least 5 distinct captures in ' .. file)
end

-- The language server is opt-in.
check(#vim.lsp.get_clients({ bufnr = buf }) == 0, 'no language server without opts.lsp')
local started
local real_start = vim.lsp.start
vim.lsp.start = function(config, opts)
  started = { config = config, opts = opts }
  return 1
end
adama.setup({ parser_path = parser_path, lsp = true, lsp_cmd = { 'my-adama', 'lsp' } })
vim.lsp.start = real_start
check(
  started ~= nil
    and started.config.name == 'adama'
    and vim.deep_equal(started.config.cmd, { 'my-adama', 'lsp' })
    and started.opts.bufnr == buf,
  'opts.lsp starts lsp_cmd for the buffer'
)

finish()
