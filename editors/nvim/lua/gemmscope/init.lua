-- gemmscope for Neovim: starts `gemmscope serve` (a language server) for C,
-- C++, CUDA and Python buffers, and `:GemmscopeBench` runs the benchmark of
-- the finding under the cursor in a terminal split.
--
-- Neovim 0.8 and later: `vim.lsp.start` (one client per root directory).
-- Neovim 0.7 (Debian bookworm's): `vim.lsp.start_client` and
-- `vim.lsp.buf_attach_client`, with the same root detection and reuse.

local M = {}

M.defaults = {
  -- The server command; `cmd[1]` is also the binary `:GemmscopeBench` runs.
  cmd = { "gemmscope", "serve" },
  -- Extra environment for the server (e.g. GEMMSCOPE_CACHE_DIR).
  cmd_env = nil,
  filetypes = { "c", "cpp", "cuda", "python" },
  -- Files or folders that mark a project root (searched upward from the
  -- buffer); without one, the buffer's folder is the root.
  root_markers = { "gemmscope.toml", "compile_commands.json", "pyproject.toml", ".git" },
  -- The server's settings (docs/lsp.md "Settings"), sent as
  -- initializationOptions and with workspace/didChangeConfiguration:
  -- trusted, measure, calibrate, budget, candidates, timeout, python,
  -- compiler, inlayHints, maxFileBytes, maxNesting, analysisTimeoutMs,
  -- rulesUrl. Neovim has no workspace trust: nothing is measured in the
  -- background unless you set `trusted = true`.
  settings = { trusted = false },
  -- Called as on_attach(client, bufnr) when the server attaches to a buffer.
  on_attach = nil,
}

M.config = vim.deepcopy(M.defaults)

-- Clients of the 0.7 path, by root directory.
local clients_by_root = {}

local function exists(path)
  return vim.loop.fs_stat(path) ~= nil
end

--- The project root of `path`: the nearest folder above it holding one of
--- `markers`, else the file's own folder.
function M.root_dir(path, markers)
  markers = markers or M.config.root_markers
  local dir = vim.fn.fnamemodify(path, ":p:h")
  local cur = dir
  while cur and cur ~= "" do
    for _, m in ipairs(markers) do
      if exists(cur .. "/" .. m) then
        return cur
      end
    end
    local parent = vim.fn.fnamemodify(cur, ":h")
    if parent == cur then
      break
    end
    cur = parent
  end
  return dir
end

--- The client configuration for a buffer of `path`.
function M.client_config(path)
  local c = M.config
  local root = M.root_dir(path)
  return {
    name = "gemmscope",
    cmd = c.cmd,
    cmd_env = c.cmd_env,
    root_dir = root,
    workspace_folders = {
      { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") },
    },
    init_options = c.settings,
    settings = { gemmscope = c.settings },
    on_attach = c.on_attach,
  }
end

local function is_file_buffer(bufnr)
  return vim.api.nvim_buf_get_option(bufnr, "buftype") == ""
    and vim.api.nvim_buf_get_name(bufnr) ~= ""
end

--- Starts (or reuses) the server for `bufnr` and attaches it; returns the
--- client id, or nil for a buffer that is not a file.
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not is_file_buffer(bufnr) then
    return nil
  end
  local path = vim.api.nvim_buf_get_name(bufnr)
  local cfg = M.client_config(path)
  if vim.fn.executable(cfg.cmd[1]) ~= 1 then
    vim.notify(
      "gemmscope: `" .. cfg.cmd[1] .. "` is not an executable; install gemmscope or set cmd in setup{}",
      vim.log.levels.WARN
    )
    return nil
  end
  if vim.lsp.start then
    return vim.lsp.start(cfg, { bufnr = bufnr })
  end
  -- Neovim 0.7: one client per root, reused while it runs.
  local id = clients_by_root[cfg.root_dir]
  if id == nil or vim.lsp.get_client_by_id(id) == nil then
    id = vim.lsp.start_client(cfg)
    if id == nil then
      vim.notify("gemmscope: the server did not start (" .. table.concat(cfg.cmd, " ") .. ")", vim.log.levels.ERROR)
      return nil
    end
    clients_by_root[cfg.root_dir] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

--- The gemmscope client attached to `bufnr`, if any.
function M.client(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local cs = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr })
    or vim.lsp.buf_get_clients(bufnr)
  for _, c in pairs(cs) do
    if c.name == "gemmscope" then
      return c
    end
  end
  return nil
end

local function lsp_part(d)
  -- 0.7 keeps code/codeDescription/data under user_data.lsp; later versions
  -- keep the whole LSP diagnostic there.
  return (d.user_data and d.user_data.lsp) or {}
end

--- The gemmscope diagnostics of `bufnr` (vim.diagnostic form).
function M.diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.source == "gemmscope" then
      table.insert(out, d)
    end
  end
  return out
end

--- The innermost gemmscope diagnostic whose range holds the 0-based
--- (row, col), or nil.
function M.diagnostic_at(bufnr, row, col)
  local best, best_size
  for _, d in ipairs(M.diagnostics(bufnr)) do
    local er, ec = d.end_lnum or d.lnum, d.end_col or d.col
    local after_start = row > d.lnum or (row == d.lnum and col >= d.col)
    local before_end = row < er or (row == er and col <= ec)
    if after_start and before_end then
      local size = (er - d.lnum) * 100000 + (ec - d.col)
      if best == nil or size < best_size then
        best, best_size = d, size
      end
    end
  end
  return best
end

--- The `gemmscope bench` command line for a diagnostic (its `data` carries
--- the problem's bench arguments), or nil and the reason it cannot be
--- benchmarked.
function M.bench_command(d)
  local data = lsp_part(d).data
  if type(data) ~= "table" then
    return nil, "this diagnostic carries no problem to benchmark (a server older than data.benchArgs?)"
  end
  if data.noBench then
    return nil, data.noBench
  end
  if type(data.benchArgs) ~= "table" then
    return nil, "this diagnostic carries no bench arguments"
  end
  local argv = { M.config.cmd[1] }
  vim.list_extend(argv, data.benchArgs)
  local s = M.config.settings or {}
  if type(s.budget) == "number" then
    vim.list_extend(argv, { "--budget", tostring(s.budget) })
  end
  if type(s.timeout) == "number" then
    vim.list_extend(argv, { "--timeout", tostring(s.timeout) })
  end
  if type(s.candidates) == "table" and #s.candidates > 0 then
    vim.list_extend(argv, { "--candidates", table.concat(s.candidates, ",") })
  end
  return argv
end

--- `:GemmscopeBench`: benchmark the finding under the cursor in a terminal
--- split. You ask for it, so it runs whatever the `trusted` setting says.
function M.bench()
  local bufnr = vim.api.nvim_get_current_buf()
  local pos = vim.api.nvim_win_get_cursor(0)
  local d = M.diagnostic_at(bufnr, pos[1] - 1, pos[2])
  if d == nil then
    vim.notify("gemmscope: no finding under the cursor", vim.log.levels.WARN)
    return nil
  end
  local argv, why = M.bench_command(d)
  if argv == nil then
    vim.notify("gemmscope: cannot benchmark this finding: " .. why, vim.log.levels.WARN)
    return nil
  end
  vim.cmd("botright 15new")
  local env = M.config.cmd_env
  vim.fn.termopen(argv, env and { env = env } or vim.empty_dict())
  vim.cmd("startinsert")
  return argv
end

--- setup{ cmd = ..., settings = ..., filetypes = ..., root_markers = ...,
--- cmd_env = ..., on_attach = ... }
function M.setup(opts)
  opts = opts or {}
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  -- Lists replace, not merge.
  for _, k in ipairs({ "cmd", "filetypes", "root_markers" }) do
    if opts[k] then
      M.config[k] = opts[k]
    end
  end
  if opts.settings and opts.settings.candidates then
    M.config.settings.candidates = opts.settings.candidates
  end

  local group = vim.api.nvim_create_augroup("gemmscope", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(ev)
      M.start(ev.buf)
    end,
  })
  vim.api.nvim_create_user_command("GemmscopeBench", function()
    M.bench()
  end, { desc = "gemmscope: benchmark the finding under the cursor" })

  -- Buffers already open when setup runs.
  local fts = {}
  for _, ft in ipairs(M.config.filetypes) do
    fts[ft] = true
  end
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and fts[vim.api.nvim_buf_get_option(b, "filetype")] then
      M.start(b)
    end
  end
end

return M
