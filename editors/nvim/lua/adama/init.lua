-- Adama support for Neovim 0.11+: filetype, tree-sitter highlighting, (opt-in) the language
-- server, and running the test under the cursor (`:AdamaRunTest`, or the server's code lens).
local M = {}

-- The command the language server's "Run test" lens names, with (file path, test name). The
-- server leaves running it to the editor, so this plugin registers it.
M.run_test_command = 'adama.runTest'
M.show_references_command = 'adama.showReferences'

local defaults = {
  -- Path to the compiled parser (adama.so). When nil, Neovim looks for parser/adama.so on the runtimepath.
  parser_path = nil,
  -- Start `lsp_cmd` for adama buffers. Off by default.
  lsp = false,
  lsp_cmd = { 'adama', 'lsp' },
  -- Files or directories that mark the project root for the language server.
  root_markers = { '.git' },
  -- Show the server's code lenses (refreshed on enter, leaving insert mode and save).
  codelens = true,
  -- The command that runs tests; nil = the executable of lsp_cmd with `test`.
  test_cmd = nil,
}

M.config = vim.deepcopy(defaults)

-- editors/nvim, whose queries/adama links to grammar/queries.
local function plugin_root()
  local source = debug.getinfo(1, 'S').source:sub(2)
  return vim.fn.fnamemodify(vim.fn.resolve(source), ':p:h:h:h')
end

local function on_runtimepath(dir)
  for _, entry in ipairs(vim.api.nvim_list_runtime_paths()) do
    if vim.fn.resolve(vim.fn.fnamemodify(entry, ':p:h')) == dir then
      return true
    end
  end
  return false
end

-- `adama test FILE --test NAME` as a list, so that no shell quoting is involved.
function M.test_command(file, name)
  local cmd = vim.deepcopy(M.config.test_cmd or { M.config.lsp_cmd[1], 'test' })
  vim.list_extend(cmd, { file, '--test', name })
  return cmd
end

-- Runs one test in a terminal split below; returns the terminal's buffer.
function M.run_test(file, name)
  local open = vim.fn.bufnr(file)
  if open ~= -1 and vim.bo[open].modified then
    -- The test runs the file on disk.
    vim.api.nvim_buf_call(open, function()
      vim.cmd('silent write')
    end)
  end
  vim.cmd('botright new')
  local term = vim.api.nvim_get_current_buf()
  vim.fn.jobstart(M.test_command(file, name), { term = true, cwd = vim.fs.dirname(file) })
  vim.api.nvim_buf_set_name(term, 'adama test ' .. name)
  return term
end

-- The (file, name) of the run-test lens whose range holds the cursor of `buf`, or nil.
local function test_under_cursor(buf, lenses)
  local cursor = vim.api.nvim_win_get_cursor(0)
  local line, col = cursor[1] - 1, cursor[2]
  local function before(a, b)
    return a.line < b.line or (a.line == b.line and a.character <= b.character)
  end
  for _, lens in ipairs(lenses or {}) do
    local command = lens.command
    if command and command.command == M.run_test_command and command.arguments then
      local here = { line = line, character = col }
      if before(lens.range.start, here) and before(here, lens.range['end']) then
        return command.arguments[1], command.arguments[2]
      end
    end
  end
  return nil
end

-- `:AdamaRunTest`: asks the server for the lenses of the buffer and runs the one at the cursor.
function M.run_test_at_cursor()
  local buf = vim.api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ bufnr = buf, name = 'adama' })[1]
  if not client then
    vim.notify('adama: the language server is not running for this buffer', vim.log.levels.WARN)
    return
  end
  local response = client:request_sync('textDocument/codeLens', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
  }, 5000, buf)
  local file, name = test_under_cursor(buf, response and response.result)
  if not file then
    vim.notify('adama: put the cursor inside a test block to run it', vim.log.levels.INFO)
    return
  end
  return M.run_test(file, name)
end

local function start_lsp(buf)
  local root = vim.fs.root(buf, M.config.root_markers)
    or vim.fs.dirname(vim.api.nvim_buf_get_name(buf))
  vim.lsp.start({ name = 'adama', cmd = M.config.lsp_cmd, root_dir = root }, { bufnr = buf })
end

local function attach(buf)
  vim.bo[buf].commentstring = '// %s'
  local ok, err = pcall(vim.treesitter.start, buf, 'adama')
  if not ok then
    vim.notify('adama: tree-sitter highlighting not started: ' .. tostring(err), vim.log.levels.WARN)
  end
  if M.config.lsp then
    start_lsp(buf)
  end
  vim.api.nvim_buf_create_user_command(buf, 'AdamaRunTest', function()
    M.run_test_at_cursor()
  end, { desc = 'Run the Adama test under the cursor' })
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})

  -- Also done by ftdetect/adama.lua; repeated here for setups that skip plugin loading (nvim -l).
  vim.filetype.add({ extension = { a = 'adama', adama = 'adama' } })

  local root = plugin_root()
  if not on_runtimepath(root) then
    vim.opt.runtimepath:prepend(root)
  end

  local ok, loaded, err = pcall(vim.treesitter.language.add, 'adama', { path = M.config.parser_path })
  if not ok or not loaded then
    vim.notify('adama: parser not loaded: ' .. tostring(ok and err or loaded), vim.log.levels.WARN)
  end
  vim.treesitter.language.register('adama', 'adama')

  vim.lsp.commands[M.run_test_command] = function(command)
    local arguments = command.arguments or {}
    M.run_test(arguments[1], arguments[2])
  end

  -- The "N references" lens carries the uses it counted: list them in the quickfix window.
  vim.lsp.commands[M.show_references_command] = function(command)
    local locations = (command.arguments or {})[3] or {}
    local items = vim.lsp.util.locations_to_items(locations, 'utf-16')
    vim.fn.setqflist({}, ' ', { title = 'References', items = items })
    if #items > 0 then
      vim.cmd('copen')
    end
  end

  local group = vim.api.nvim_create_augroup('adama', { clear = true })
  if M.config.lsp and M.config.codelens then
    vim.api.nvim_create_autocmd('LspAttach', {
      group = group,
      callback = function(args)
        local client = vim.lsp.get_client_by_id(args.data.client_id)
        if not client or client.name ~= 'adama' then
          return
        end
        vim.lsp.codelens.refresh({ bufnr = args.buf })
        vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost' }, {
          group = group,
          buffer = args.buf,
          callback = function()
            vim.lsp.codelens.refresh({ bufnr = args.buf })
          end,
        })
      end,
    })
  end
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'adama',
    callback = function(args)
      attach(args.buf)
    end,
  })

  -- Buffers opened before setup().
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == 'adama' then
      attach(buf)
    end
  end
end

return M
