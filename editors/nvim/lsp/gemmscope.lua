-- gemmscope for Neovim 0.11+'s built-in LSP configuration: with this
-- folder on 'runtimepath' (any plugin manager does that), two lines start
-- the server on C, C++, CUDA and Python buffers:
--
--   vim.lsp.enable("gemmscope")
--   -- optional: vim.lsp.config("gemmscope", { settings = { gemmscope = { trusted = true } } })
--
-- The settings are the server's (docs/lsp.md "Settings"); `trusted = true`
-- lets it compile and run benchmarks of this project's code. Neovim 0.7 to
-- 0.10: require("gemmscope").setup{} (lua/gemmscope/init.lua) instead.
return {
  cmd = { "gemmscope", "serve" },
  filetypes = { "c", "cpp", "cuda", "python" },
  -- The same markers as require("gemmscope").setup{}; without one the
  -- server runs on the single file.
  root_markers = { "gemmscope.toml", "compile_commands.json", "pyproject.toml", ".git" },
  settings = { gemmscope = { trusted = false } },
  -- :GemmscopeBench (benchmark the finding under the cursor), run with
  -- this client's binary, environment and budget.
  on_attach = function(client)
    local gs = require("gemmscope")
    if type(client.config.cmd) == "table" then
      gs.config.cmd = client.config.cmd
    end
    gs.config.cmd_env = client.config.cmd_env
    local s = client.config.settings and client.config.settings.gemmscope
    if type(s) == "table" then
      gs.config.settings = s
    end
    vim.api.nvim_create_user_command("GemmscopeBench", function()
      gs.bench()
    end, { desc = "gemmscope: benchmark the finding under the cursor" })
  end,
}
