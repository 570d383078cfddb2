#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into $FAAS_CACHE_DIR/kube-<k8s>-etcd-<etcd>/bin.
# Idempotent: a binary that is already there (and reports the pinned version) is not rebuilt.
#
#   scripts/test-env/kube/build-binaries.sh            build what is missing
#   scripts/test-env/kube/build-binaries.sh --print    print the cache dir and exit
#
# kube-apiserver: k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/apiserver, ...)
# at the fake version v0.0.0 and maps them to ./staging with replace directives, which only apply in
# the kubernetes repository itself. A wrapper module therefore requires k8s.io/kubernetes v1.X.Y and
# replaces every staging module that the downloaded go.mod lists as v0.0.0 with k8s.io/<m> v0.X.Y.
# The list is generated from that go.mod (it changes between releases). See NOTES.md §4.3.
# etcd: go.etcd.io/etcd/server/v3 at a release tag requires real versions, so a wrapper module that
# requires it is enough (Debian's etcd-server is 3.4, older than what kube-apiserver 1.37 is tested with).
set -euo pipefail

K8S_VERSION="${FAAS_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${FAAS_ETCD_VERSION:-v3.7.3}"
FAAS_CACHE_DIR="${FAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faas-deploy}"
cache="$FAAS_CACHE_DIR/kube-$K8S_VERSION-etcd-$ETCD_VERSION"
if [ "${1:-}" = "--print" ]; then
  echo "$cache"
  exit 0
fi
mkdir -p "$cache/bin" "$cache/src"
# Two cores: keep the build from starving everything else on the machine.
jobs="${FAAS_GO_BUILD_JOBS:-2}"
export GOFLAGS="-buildvcs=false -mod=mod"
export CGO_ENABLED=0

staging_minor="v0.${K8S_VERSION#v1.}" # v1.37.2 -> v0.37.2

build_apiserver() {
  local out="$cache/bin/kube-apiserver"
  if [ -x "$out" ] && "$out" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION"; then
    echo "kube-apiserver $K8S_VERSION: cached at $out"
    return 0
  fi
  local src="$cache/src/kube-apiserver"
  rm -rf "$src" && mkdir -p "$src"
  echo "kube-apiserver $K8S_VERSION: downloading k8s.io/kubernetes go.mod"
  (cd "$src" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >download.json)
  local upstream_mod
  upstream_mod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\?$/\1/p' "$src/download.json")"
  [ -f "$upstream_mod" ] || { echo "cannot find go.mod of k8s.io/kubernetes@$K8S_VERSION" >&2; return 1; }
  local go_directive
  go_directive="$(awk '$1 == "go" {print $2; exit}' "$upstream_mod")"
  {
    echo "module faas-deploy.test/kube-apiserver-build"
    echo
    echo "go $go_directive"
    echo
    # Same runtime defaults as the upstream binary.
    grep '^godebug ' "$upstream_mod" || true
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # Every k8s.io/<m> required at v0.0.0 (a staging module) -> k8s.io/<m> v0.X.Y.
    awk '/^require \(/ {inreq=1; next} inreq && /^\)/ {inreq=0} inreq && $1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' \
      "$upstream_mod" | sort -u | while read -r m; do
      printf '\t%s => %s %s\n' "$m" "$m" "$staging_minor"
    done
    echo ")"
  } >"$src/go.mod"
  echo "kube-apiserver: wrapper go.mod with $(grep -c '=>' "$src/go.mod") staging replaces"
  local pkg=k8s.io/kubernetes/cmd/kube-apiserver
  (cd "$src" && go get "$pkg@$K8S_VERSION")
  local major minor
  major="$(echo "$K8S_VERSION" | sed 's/^v\([0-9]*\)\..*/\1/')"
  minor="$(echo "$K8S_VERSION" | sed 's/^v[0-9]*\.\([0-9]*\)\..*/\1/')"
  local v=k8s.io/component-base/version
  local ldflags="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=$major -X $v.gitMinor=$minor"
  ldflags+=" -X $v.gitTreeState=clean -X $v.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "kube-apiserver: go build -p $jobs (several minutes)"
  (cd "$src" && go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  "$out" --version
}

build_etcd() {
  local out="$cache/bin/etcd"
  if [ -x "$out" ] && "$out" --version 2>/dev/null | grep -q "^etcd Version: ${ETCD_VERSION#v}$"; then
    echo "etcd $ETCD_VERSION: cached at $out"
    return 0
  fi
  local src="$cache/src/etcd"
  rm -rf "$src" && mkdir -p "$src"
  printf 'module faas-deploy.test/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
    "$ETCD_VERSION" >"$src/go.mod"
  (cd "$src" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  echo "etcd: go build -p $jobs"
  (cd "$src" && go build -p "$jobs" -trimpath -ldflags "-s -w" -o "$out.tmp" go.etcd.io/etcd/server/v3)
  mv "$out.tmp" "$out"
  "$out" --version
}

build_apiserver
build_etcd
echo "binaries in $cache/bin"
