#!/usr/bin/env bash
# Runs actionlint (pinned, built from the Go module proxy into the cache) over .github/workflows and
# examples/workflows.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.7.12
bin="${FAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faas-deploy}/actionlint-$version/actionlint"
if [ ! -x "$bin" ]; then
  GOBIN="$(dirname "$bin")" go install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
fi
"$bin" -no-color .github/workflows/*.yml examples/workflows/*.yml
