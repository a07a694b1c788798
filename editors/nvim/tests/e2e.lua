-- End-to-end test of the Neovim plugin against the real server, in a real
-- (headless) Neovim. Run from the repository root:
--
--   GEMMSCOPE_BIN=target/debug/gemmscope nvim --headless -u NONE \
--     --cmd 'set rtp+=editors/nvim' -c 'luafile editors/nvim/tests/e2e.lua'
--
-- (editors/nvim/tests/run does exactly that.) Opens a copy of
-- fixtures/matmul.c, waits for the GS101 diagnostic, checks its range and
-- message, the hover, the :GemmscopeBench command line, requests the code
-- actions at the diagnostic, applies the quick fix and checks the buffer
-- now calls cblas_sgemm and the diagnostic is gone. Exits 0 on success,
-- 1 with a message on stderr on any failure.

local TIMEOUT_MS = tonumber(os.getenv("GEMMSCOPE_NVIM_TIMEOUT_MS") or "30000")

local function log(msg)
  io.stdout:write("nvim-e2e: " .. msg .. "\n")
end

local function fail(msg)
  error("FAILED: " .. msg, 0)
end

local function check(cond, msg)
  if not cond then
    fail(msg)
  end
end

local function wait_for(what, pred)
  local ok = vim.wait(TIMEOUT_MS, pred, 50)
  if not ok then
    fail("timed out after " .. TIMEOUT_MS .. " ms waiting for " .. what)
  end
end

local function script_dir()
  local src = debug.getinfo(1, "S").source:sub(2)
  return vim.fn.fnamemodify(src, ":p:h")
end

-- GEMMSCOPE_NVIM_NATIVE=1: start the server through lsp/gemmscope.lua
-- (vim.lsp.config + vim.lsp.enable, Neovim 0.11+) instead of setup{}.
local native = os.getenv("GEMMSCOPE_NVIM_NATIVE") == "1"

local function run()
  local v = vim.version()
  log(string.format("Neovim %d.%d.%d, API path: %s", v.major, v.minor, v.patch,
    native and "vim.lsp.config + vim.lsp.enable"
      or (vim.lsp.start and "vim.lsp.start" or "vim.lsp.start_client + buf_attach_client")))
  if native then
    check(vim.lsp.config ~= nil and vim.lsp.enable ~= nil,
      "GEMMSCOPE_NVIM_NATIVE=1 needs Neovim 0.11+ (vim.lsp.config, vim.lsp.enable)")
  end

  local bin = os.getenv("GEMMSCOPE_BIN") or "target/debug/gemmscope"
  bin = vim.fn.fnamemodify(bin, ":p")
  check(vim.fn.executable(bin) == 1, "no gemmscope binary at " .. bin .. " (build it: cargo build -p gemmscope, or set GEMMSCOPE_BIN)")

  -- A fresh project folder (so the server scans nothing else) and result
  -- store (so no earlier measurement changes the message).
  local tmp = vim.fn.tempname()
  vim.fn.mkdir(tmp .. "/proj", "p")
  vim.fn.mkdir(tmp .. "/cache", "p")
  vim.fn.writefile({}, tmp .. "/proj/gemmscope.toml")
  local src = script_dir() .. "/fixtures/matmul.c"
  local file = tmp .. "/proj/matmul.c"
  vim.fn.writefile(vim.fn.readfile(src), file)

  vim.cmd("filetype on")
  local gs = require("gemmscope")
  -- Untrusted: nothing is measured, so the test is quick and the message
  -- comes from the analysis alone.
  local settings = { trusted = false, budget = 1 }
  if native then
    -- Neovim 0.11+: lsp/gemmscope.lua from 'runtimepath', as a user's
    -- vim.lsp.enable("gemmscope") finds it; only the binary and the cache
    -- differ from the shipped file.
    local shipped = dofile(script_dir() .. "/../lsp/gemmscope.lua")
    vim.lsp.config("gemmscope", {
      cmd = { bin, "serve" },
      cmd_env = { GEMMSCOPE_CACHE_DIR = tmp .. "/cache" },
      settings = { gemmscope = settings },
    })
    vim.lsp.enable("gemmscope")
    local merged = vim.lsp.config.gemmscope
    check(vim.deep_equal(merged.filetypes, shipped.filetypes),
      "vim.lsp.config did not read lsp/gemmscope.lua: filetypes " .. vim.inspect(merged.filetypes))
    check(vim.deep_equal(merged.root_markers, shipped.root_markers),
      "root_markers " .. vim.inspect(merged.root_markers))
    log("vim.lsp.config('gemmscope') from lsp/gemmscope.lua; vim.lsp.enable('gemmscope')")
  else
    gs.setup({
      cmd = { bin, "serve" },
      cmd_env = { GEMMSCOPE_CACHE_DIR = tmp .. "/cache" },
      settings = settings,
    })
  end
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  check(vim.bo[buf].filetype == "c", "filetype is '" .. vim.bo[buf].filetype .. "', expected c")

  wait_for("the server to attach", function()
    return gs.client(buf) ~= nil
  end)
  local client = gs.client(buf)
  check(client.config.root_dir == tmp .. "/proj", "root_dir " .. tostring(client.config.root_dir))
  log("attached: client " .. client.id .. ", root " .. client.config.root_dir)

  wait_for("a gemmscope diagnostic", function()
    return #gs.diagnostics(buf) > 0
  end)
  local ds = gs.diagnostics(buf)
  check(#ds == 1, "expected 1 diagnostic, got " .. #ds)
  local d = ds[1]
  local lsp = (d.user_data and d.user_data.lsp) or {}
  local code = d.code or lsp.code
  log(string.format("diagnostic %s at %d:%d-%d:%d: %s", tostring(code), d.lnum, d.col, d.end_lnum, d.end_col, d.message))
  check(code == "GS101", "code " .. tostring(code) .. ", expected GS101")
  -- The whole nest: from `for (int i` (line 7, col 4) to the end of the
  -- multiply-accumulate statement (line 10).
  check(d.lnum == 7 and d.col == 4, string.format("range starts at %d:%d, expected 7:4", d.lnum, d.col))
  check(d.end_lnum == 10 and d.end_col == 45,
    string.format("range ends at %d:%d, expected 10:45", d.end_lnum, d.end_col))
  check(d.message:find("hand-written GEMM 64×64×64", 1, true) ~= nil, "message: " .. d.message)
  check(d.message:find("sgemm", 1, true) ~= nil, "message does not name sgemm: " .. d.message)

  -- Hover on the nest.
  local pos = { line = d.lnum, character = d.col + 1 }
  local uri = vim.uri_from_bufnr(buf)
  local hover = client.request_sync("textDocument/hover", { textDocument = { uri = uri }, position = pos }, TIMEOUT_MS, buf)
  check(hover and hover.result and hover.result.contents, "no hover: " .. vim.inspect(hover))
  local hv = hover.result.contents
  local htext = type(hv) == "string" and hv or hv.value or vim.inspect(hv)
  check(htext:find("GEMM", 1, true) ~= nil, "hover does not mention the GEMM: " .. htext)
  log("hover: " .. (htext:gsub("\n.*", "") or ""))

  -- :GemmscopeBench's command line for the finding under the cursor.
  vim.api.nvim_win_set_cursor(0, { 10, 20 })
  local under = gs.diagnostic_at(buf, 9, 20)
  check(under ~= nil, "diagnostic_at found nothing at 9:20")
  local argv, why = gs.bench_command(under)
  check(argv ~= nil, "no bench command: " .. tostring(why))
  local line = table.concat(argv, " ")
  check(line == bin .. " bench gemm --m 64 --n 64 --k 64 --batch 1 --dtype f32 --layout nn --order ijk --budget 1",
    "bench command: " .. line)
  check(vim.fn.exists(":GemmscopeBench") == 2, ":GemmscopeBench is not defined")
  log("bench command: " .. line)

  -- Code actions at the diagnostic, with it in the context.
  local range = { start = { line = d.lnum, character = d.col }, ["end"] = { line = d.end_lnum, character = d.end_col } }
  local lspdiag = {
    range = range,
    message = d.message,
    code = code,
    source = d.source,
    severity = d.severity,
    data = lsp.data,
  }
  local resp = client.request_sync("textDocument/codeAction", {
    textDocument = { uri = uri },
    range = range,
    context = { diagnostics = { lspdiag }, only = { "quickfix" } },
  }, TIMEOUT_MS, buf)
  check(resp and resp.result, "codeAction request failed: " .. vim.inspect(resp))
  local fix
  for _, a in ipairs(resp.result) do
    if a.kind == "quickfix" and a.edit and not a.disabled then
      fix = fix or a
      if a.isPreferred then
        fix = a
      end
    end
  end
  check(fix ~= nil, "no quick fix with an edit among " .. vim.inspect(resp.result))
  log("quick fix: " .. fix.title)
  vim.lsp.util.apply_workspace_edit(fix.edit, client.offset_encoding or "utf-16")

  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  check(text:find("cblas_sgemm(", 1, true) ~= nil, "buffer has no cblas_sgemm call after the fix:\n" .. text)
  check(text:find("#include <cblas.h>", 1, true) ~= nil, "buffer has no #include <cblas.h>:\n" .. text)
  check(text:find("for (int k", 1, true) == nil, "the loop nest is still there:\n" .. text)
  log("buffer now calls cblas_sgemm")

  -- The server re-analyses the edited text: the finding is gone.
  wait_for("the diagnostic to go away after the fix", function()
    return #gs.diagnostics(buf) == 0
  end)
  log("diagnostic cleared after the fix")
end

local ok, err = xpcall(run, debug.traceback)
if ok then
  log("ok")
  vim.cmd("qall!")
else
  io.stderr:write("nvim-e2e: " .. tostring(err) .. "\n")
  vim.cmd("cquit 1")
end
