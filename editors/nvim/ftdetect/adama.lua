vim.filetype.add({ extension = { a = 'adama', adama = 'adama' } })
