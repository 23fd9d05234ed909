-- Adama support for Neovim 0.11+: filetype, tree-sitter highlighting and (opt-in) the language server.
local M = {}

local defaults = {
  -- Path to the compiled parser (adama.so). When nil, Neovim looks for parser/adama.so on the runtimepath.
  parser_path = nil,
  -- Start `lsp_cmd` for adama buffers. Off by default.
  lsp = false,
  lsp_cmd = { 'adama', 'lsp' },
  -- Files or directories that mark the project root for the language server.
  root_markers = { '.git' },
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

  local group = vim.api.nvim_create_augroup('adama', { clear = true })
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
