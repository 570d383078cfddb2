#!/usr/bin/env bash
# The Kubernetes half of the test environment: etcd + a real kube-apiserver (both built from the Go
# module proxy, see kube/build-binaries.sh), the Knative Serving and Tekton CRDs, the faas-test
# namespace with the least-privilege deployer identity of docs/rbac.yaml, and the two controller
# STAND-INS (test/standins/*.ts) that play the Knative and Tekton controllers.
#
#   scripts/test-env/kube.sh up       start what is not running (idempotent); builds binaries if missing
#   scripts/test-env/kube.sh down     stop stand-ins, kube-apiserver, etcd by PID (data and certs stay)
#   scripts/test-env/kube.sh status   say what runs; exit 1 unless everything does
#   scripts/test-env/kube.sh env      print the KEY=VALUE lines of $FAAS_TEST_STATE/env.d/kube.env
#   scripts/test-env/kube.sh purge    down, then delete the state dir (etcd data, certs, logs)
#
# Everything listens on 127.0.0.1 only: etcd client 23790, etcd peer 23800, kube-apiserver 16443
# (FAAS_KUBE_ETCD_PORT, FAAS_KUBE_ETCD_PEER_PORT, FAAS_KUBE_APISERVER_PORT move them, e.g. for a second env).
# State (pids, logs, certs, etcd data, kubeconfigs): $FAAS_TEST_STATE/kube. docs/test-env-kube.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export FAAS_REPO_ROOT="${FAAS_REPO_ROOT:-$(cd "$here/../.." && pwd)}"
export FAAS_TEST_STATE="${FAAS_TEST_STATE:-/tmp/faas-deploy-test-env}"
export FAAS_CACHE_DIR="${FAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faas-deploy}"
PATH="$("$FAAS_REPO_ROOT/scripts/ensure-node24.sh"):$PATH"
export PATH

ETCD_CLIENT_PORT="${FAAS_KUBE_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${FAAS_KUBE_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${FAAS_KUBE_APISERVER_PORT:-16443}"
NAMESPACE=faas-test
DEPLOYER_SA=faas-deploy
SERVICE_CIDR=10.0.0.0/24
SA_ISSUER=https://kubernetes.default.svc.cluster.local
SHARED_DIR="${FAAS_SHARED_DIR:-$FAAS_REPO_ROOT/../shared}"
CRD_DIRS="${FAAS_CRD_DIRS:-$SHARED_DIR/fixtures/crds/knative-serving,$SHARED_DIR/fixtures/crds/tekton}"

state="$FAAS_TEST_STATE/kube"
pki="$state/pki"
admin_kubeconfig="$state/admin.kubeconfig"
deployer_kubeconfig="$state/deployer.kubeconfig"
env_file="$FAAS_TEST_STATE/env.d/kube.env"
standins=(knative-serving-standin tekton-standin)

say() { echo "kube: [${SECONDS}s] $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

# A pid file's process is ours only if it is alive and still runs the command we started (no PID reuse).
alive() {
  local name="$1" pid
  [ -f "$state/$name.pid" ] || return 1
  pid="$(cat "$state/$name.pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(cat "$state/$name.cmd" 2>/dev/null || echo '?')"
}

port_busy() { ss -Htln "sport = :$1" | grep -q .; }

stop() {
  local name="$1" grace="${2:-100}" pid i
  if alive "$name"; then
    pid="$(cat "$state/$name.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name ($pid) did not stop after $((grace / 10)) s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $name ($pid)"
  fi
  rm -f "$state/$name.pid" "$state/$name.cmd"
}

# start NAME MARKER CMD...: runs CMD in its own session, logs to $state/NAME.log, records its PID.
# MARKER is a string of its command line used by alive().
start() {
  local name="$1" marker="$2"
  shift 2
  echo "--- $(date -u +%FT%TZ) start" >>"$state/$name.log"
  setsid "$@" >>"$state/$name.log" 2>&1 </dev/null &
  echo $! >"$state/$name.pid"
  echo "$marker" >"$state/$name.cmd"
}

ensure_certs() {
  mkdir -p "$pki"
  chmod 700 "$pki"
  [ -f "$pki/ca.crt" ] && [ -f "$pki/apiserver.crt" ] && [ -f "$pki/admin.crt" ] && [ -f "$pki/sa.pub" ] && return 0
  say "generating CA, serving, admin and service-account keys in $pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=faas-test-env-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      "extendedKeyUsage=serverAuth" "keyUsage=digitalSignature,keyEncipherment" >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 3650 \
      -extfile apiserver.ext 2>/dev/null
    # The admin identity: a client certificate in group system:masters (cluster-admin without RBAC rules).
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=faas-test-admin" 2>/dev/null
    printf '%s\n' "extendedKeyUsage=clientAuth" "keyUsage=digitalSignature,keyEncipherment" >admin.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 3650 \
      -extfile admin.ext 2>/dev/null
    # Service-account token signing key pair (TokenRequest API).
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext
    chmod 600 ./*.key
  )
}

write_admin_kubeconfig() {
  local tmp="$admin_kubeconfig.tmp"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: faas-test-env
    cluster:
      server: https://127.0.0.1:$APISERVER_PORT
      certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
  - name: faas-test-admin
    user:
      client-certificate-data: $(base64 -w0 "$pki/admin.crt")
      client-key-data: $(base64 -w0 "$pki/admin.key")
contexts:
  - name: admin@faas-test-env
    context:
      cluster: faas-test-env
      user: faas-test-admin
      namespace: $NAMESPACE
current-context: admin@faas-test-env
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$admin_kubeconfig"
}

wait_http() { # wait_http WHAT SECONDS PIDNAME curl-args...
  local what="$1" secs="$2" pidname="$3" i
  shift 3
  for ((i = 0; i < secs * 10; i++)); do
    if curl -fsS -m 2 "$@" >/dev/null 2>&1; then return 0; fi
    alive "$pidname" || {
      tail -n 30 "$state/$pidname.log" >&2
      die "$what exited; log: $state/$pidname.log"
    }
    sleep 0.1
  done
  tail -n 30 "$state/$pidname.log" >&2
  die "$what not ready after ${secs}s; log: $state/$pidname.log"
}

start_etcd() {
  alive etcd && return 0
  port_busy "$ETCD_CLIENT_PORT" && die "port $ETCD_CLIENT_PORT is in use by another process (ss -ltnp)"
  port_busy "$ETCD_PEER_PORT" && die "port $ETCD_PEER_PORT is in use by another process (ss -ltnp)"
  mkdir -p "$state/etcd-data"
  chmod 700 "$state/etcd-data"
  say "starting etcd on 127.0.0.1:$ETCD_CLIENT_PORT"
  # --unsafe-no-fsync: a throwaway test store; fsync on every write makes the API server slow on CI disks.
  start etcd "$bin/etcd" "$bin/etcd" --name faas-test --data-dir "$state/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "faas-test=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  wait_http etcd 30 etcd "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
}

start_apiserver() {
  alive kube-apiserver && return 0
  port_busy "$APISERVER_PORT" && die "port $APISERVER_PORT is in use by another process (ss -ltnp)"
  say "starting kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
  start kube-apiserver "$bin/kube-apiserver" "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --authorization-mode RBAC \
    --service-account-issuer "$SA_ISSUER" --api-audiences "$SA_ISSUER" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --endpoint-reconciler-type none \
    --profiling=false \
    --cert-dir "$state/apiserver-certs"
  wait_http kube-apiserver 90 kube-apiserver --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz"
}

bootstrap() {
  # Skipped when nothing it depends on changed and the deployer token is less than 12 h old.
  local stamp
  stamp="$(cat "$FAAS_REPO_ROOT/docs/rbac.yaml" "$here/kube/bootstrap.ts" "$pki/ca.crt" \
    "${CRD_DIRS%%,*}"/*.yaml "${CRD_DIRS#*,}"/*.yaml | sha256sum | cut -c1-16)"
  if [ -f "$deployer_kubeconfig" ] && [ "$(cat "$state/bootstrap.stamp" 2>/dev/null)" = "$stamp" ] &&
    [ -n "$(find "$deployer_kubeconfig" -mmin -720)" ]; then
    return 0
  fi
  say "applying namespace $NAMESPACE, CRDs, RBAC; requesting the deployer token"
  node "$FAAS_REPO_ROOT/scripts/test-env/kube/bootstrap.ts" --admin-kubeconfig "$admin_kubeconfig" \
    --deployer-kubeconfig "$deployer_kubeconfig" --namespace "$NAMESPACE" --crds "$CRD_DIRS" \
    --rbac "$FAAS_REPO_ROOT/docs/rbac.yaml"
  echo "$stamp" >"$state/bootstrap.stamp"
}

# Starts a stand-in unless it runs the current source; records the log line count to wait from.
start_standin() {
  local name="$1" src="$FAAS_REPO_ROOT/test/standins/$1.ts" hash
  hash="$(cat "$FAAS_REPO_ROOT"/test/standins/*.ts | sha256sum | cut -c1-16)"
  rm -f "$state/$name.wait"
  if alive "$name"; then
    [ "$(cat "$state/$name.hash" 2>/dev/null)" = "$hash" ] && return 0
    say "$name: source changed; restarting"
    stop "$name"
  fi
  say "starting $name"
  local before=0
  [ -f "$state/$name.log" ] && before="$(wc -l <"$state/$name.log")"
  echo "$before" >"$state/$name.wait"
  local extra=()
  if [ "$name" = knative-serving-standin ]; then
    # Its ingress writes its address here. The port: FAAS_KNATIVE_INGRESS_PORT, else the previous
    # run's (a restart keeps INGRESS_ADDRESS for tests that already read it) if still free, else any.
    local prev=''
    [ -s "$state/knative-ingress.address" ] && prev="$(sed 's/.*://' "$state/knative-ingress.address")"
    rm -f "$state/knative-ingress.address"
    if [ -n "${FAAS_KNATIVE_INGRESS_PORT:-}" ]; then
      extra=(--ingress-port "$FAAS_KNATIVE_INGRESS_PORT")
    else
      extra=(--ingress-port "${prev:-0}" --ingress-port-fallback)
    fi
    extra+=(--ingress-address-file "$state/knative-ingress.address")
  fi
  start "$name" "$src" node "$src" --kubeconfig "$admin_kubeconfig" "${extra[@]}"
  echo "$hash" >"$state/$name.hash"
}

# Waits until a just-started stand-in has listed its objects (both start in parallel: ~3 s each).
wait_standin() {
  local name="$1" before i
  [ -f "$state/$name.wait" ] || return 0
  before="$(cat "$state/$name.wait")"
  for ((i = 0; i < 300; i++)); do
    if tail -n +"$((before + 1))" "$state/$name.log" | grep -q 'synced: initial list done'; then
      rm -f "$state/$name.wait"
      return 0
    fi
    alive "$name" || {
      tail -n 30 "$state/$name.log" >&2
      die "$name exited; log: $state/$name.log"
    }
    sleep 0.1
  done
  die "$name did not sync within 30 s; log: $state/$name.log"
}

up() {
  mkdir -p "$state" "$FAAS_TEST_STATE/env.d"
  [ -d "${CRD_DIRS%%,*}" ] || die "CRD directory ${CRD_DIRS%%,*} not found (set FAAS_SHARED_DIR or FAAS_CRD_DIRS)"
  local cache
  cache="$("$here/kube/build-binaries.sh" --print)"
  bin="$cache/bin"
  if ! [ -x "$bin/kube-apiserver" ] || ! [ -x "$bin/etcd" ]; then
    say "building kube-apiserver and etcd into $cache (first time: 25-50 minutes on 2 busy cores); log: $state/build.log"
    "$here/kube/build-binaries.sh" >"$state/build.log" 2>&1 || {
      tail -n 40 "$state/build.log" >&2
      die "building the binaries failed; log: $state/build.log"
    }
  fi
  ensure_certs
  write_admin_kubeconfig
  start_etcd
  start_apiserver
  bootstrap
  for s in "${standins[@]}"; do start_standin "$s"; done
  for s in "${standins[@]}"; do wait_standin "$s"; done
  local tmp="$env_file.tmp"
  {
    echo "KUBE_API_URL=https://127.0.0.1:$APISERVER_PORT"
    echo "KUBECONFIG_ADMIN=$admin_kubeconfig"
    echo "KUBECONFIG_DEPLOYER=$deployer_kubeconfig"
    echo "KUBE_NAMESPACE=$NAMESPACE"
    echo "KUBE_DEPLOYER_SA=$DEPLOYER_SA"
    # The Knative stand-in's ingress: curl -H "Host: <host of status.url>" http://$INGRESS_ADDRESS/
    if [ -s "$state/knative-ingress.address" ]; then echo "INGRESS_ADDRESS=$(cat "$state/knative-ingress.address")"; fi
  } >"$tmp"
  mv "$tmp" "$env_file"
  say "up: https://127.0.0.1:$APISERVER_PORT (namespace $NAMESPACE)"
}

# The Knative stand-in removes its revision containers on SIGTERM; this catches a stand-in that had to
# be killed. Only containers labelled with this state dir, in the containers component's engine.
remove_revision_containers() {
  local cenv="$FAAS_TEST_STATE/env.d/containers.env" host ids
  [ -f "$cenv" ] && command -v docker >/dev/null || return 0
  host="$(sed -n 's/^DOCKER_HOST=//p' "$cenv")"
  [ -n "$host" ] || return 0
  ids="$(DOCKER_HOST="$host" DOCKER_CONFIG="$state/knative-docker/cli" docker ps -aq \
    --filter label=faas-deploy.standin=knative-serving --filter "label=faas-deploy.standin.state=$FAAS_TEST_STATE" 2>/dev/null)" || return 0
  [ -n "$ids" ] || return 0
  say "removing $(echo "$ids" | wc -l) revision container(s) the Knative stand-in left"
  # shellcheck disable=SC2086
  DOCKER_HOST="$host" DOCKER_CONFIG="$state/knative-docker/cli" docker rm -f $ids >/dev/null 2>&1 || true
}

down() {
  mkdir -p "$state"
  rm -f "$env_file"
  for ((i = ${#standins[@]} - 1; i >= 0; i--)); do stop "${standins[$i]}"; done
  remove_revision_containers
  # It stops listening at once but often lingers ~10 s closing storage; nothing is lost by killing
  # it then (every write is in etcd, which is stopped gracefully after it).
  stop kube-apiserver 50
  stop etcd
}

status() {
  local rc=0 n
  for n in etcd kube-apiserver "${standins[@]}"; do
    if alive "$n"; then
      echo "kube: $n running (pid $(cat "$state/$n.pid"))"
    else
      echo "kube: $n stopped"
      rc=1
    fi
  done
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) cat "$env_file" 2>/dev/null || true ;;
  purge)
    down
    rm -rf "$state"
    ;;
  *)
    echo "usage: $0 up|down|status|env|purge" >&2
    exit 2
    ;;
esac
