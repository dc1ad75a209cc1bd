#!/usr/bin/env bash
# make replicas-test: three kyso serve replicas on one PostgreSQL behind
# HAProxy on loopback. The service token (issuing CAs, OCSP, TSA, identity
# and seal keys) is served over a socket by `p11-kit server` (SoftHSM2
# behind it) and reached through p11-kit's client module, as a network HSM
# would be; the citizen-key token and the audit log key, whose mechanisms
# (AES key wrap, key derivation, EdDSA) p11-kit's RPC does not forward, are
# reached through SoftHSM2 loaded directly on the same token directory
# (hsm.citizen_module, hsm.audit_module; see docs/operations.md).
#
# `kyso-dev replicas load` drives a mixed load through the balancer
# (identity, remote-key and CSR enrolment, revocation, CSC signHash, JWS,
# PDF seals, the five dossier steps) while this script SIGKILLs and
# restarts one replica and restarts the HSM server. Afterwards `kyso audit
# verify` runs and `kyso-dev replicas check` looks every acknowledged record
# up in PostgreSQL, asks each replica directly for the OCSP status and CRL
# shard of every revoked certificate, and writes var/replicas/report.json
# and report.txt. Exits non-zero when a record was lost, a revocation is
# not visible on a replica, an operation failed outside the fault windows,
# the audit log does not verify, or a kind of record was never acknowledged.
#
# Knobs: REPLICAS_SHORT=1 (the short form make test runs), REPLICAS_DURATION
# (seconds of load, default 60, short 24), REPLICAS_WORKERS (default 3,
# short 2), REPLICAS_PORT (balancer; replicas the next 3; default: a free
# block of loopback ports), REPLICAS_OUT (default var/replicas).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
root=$PWD
out=${REPLICAS_OUT:-$root/var/replicas}
if [ "${REPLICAS_SHORT:-}" = 1 ]; then
  duration=${REPLICAS_DURATION:-24}; workers=${REPLICAS_WORKERS:-2}
else
  duration=${REPLICAS_DURATION:-60}; workers=${REPLICAS_WORKERS:-3}
fi
client_module=$(ls /usr/lib/*/pkcs11/p11-kit-client.so 2>/dev/null | head -1 || true)
softhsm=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1 || true)
for tool in p11-kit haproxy curl; do
  command -v $tool >/dev/null || { echo "replicas-test: $tool is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
done
[ -n "$client_module" ] || { echo "replicas-test: p11-kit-client.so missing (apt-get install p11-kit-modules)" >&2; exit 1; }
[ -n "$softhsm" ] || { echo "replicas-test: SoftHSM2 missing (apt-get install softhsm2)" >&2; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
lb_port=${REPLICAS_PORT:-}
if [ -z "$lb_port" ]; then
  # A block of four free loopback ports, starting at a random place so
  # that concurrent runs do not pick the same one.
  for _ in $(seq 1 50); do
    p=$((20000 + (RANDOM % 2000) * 4))
    if port_free $p && port_free $((p + 1)) && port_free $((p + 2)) && port_free $((p + 3)); then lb_port=$p; break; fi
  done
  [ -n "$lb_port" ] || { echo "replicas-test: no free block of loopback ports" >&2; exit 1; }
fi
lb=http://127.0.0.1:$lb_port

rm -rf "$out"
mkdir -p "$out/hsm/tokens" "$out/data" "$out/logs"
chmod 700 "$out/hsm"
declare -A rpid
hsm_pid= lb_pid= load_pid= pgdir=
cleanup() {
  local code=$?
  [ -n "$hsm_pid" ] && kill -TERM -- -"$hsm_pid" 2>/dev/null
  for p in "${rpid[@]}" $hsm_pid $lb_pid $load_pid; do kill "$p" 2>/dev/null || true; done
  for p in "${rpid[@]}" $hsm_pid $lb_pid $load_pid; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pgdir" ]; then scripts/testpg.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"; fi
  exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s.%N; }
log() { echo "replicas-test: $*" >&2; }

make -s build
pgdir=$(mktemp -d /tmp/kyso-replicas-pg.XXXXXX)
dsn=$(scripts/testpg.sh start "$pgdir")
cat >"$out/hsm/softhsm2.conf" <<CONF
directories.tokendir = $out/hsm/tokens
objectstore.backend = file
log.level = ERROR
CONF
export SOFTHSM2_CONF=$out/hsm/softhsm2.conf
# Development mode: the synthetic cards' test CSCA is trusted. The HSM
# modules are explicit, as in production.
export KYSO_MODE=development KYSO_DATA_DIR=$out/data KYSO_DATABASE_DSN=$dsn KYSO_PUBLIC_URL=$lb
export KYSO_HSM_PIN_FILE=$out/hsm/user.pin KYSO_HSM_CITIZEN_PIN_FILE=$out/hsm/citizen.pin KYSO_HSM_ROOT_PIN_FILE=$out/hsm/root.pin
export KYSO_IDENTITY_CSCA_DIR=$out/data/trust/csca KYSO_CA_PEM_DIR=$out/data/pki KYSO_CA_ISSUANCE_PER_DAY=100000
export KYSO_LOG_LEVEL=warn
# The whole load comes from one loopback address through the balancer: the
# per-client rate limits (tested on their own) would refuse most of it.
for class in IDENTITY TSA OCSP_SIGNED CRL VERIFY ENROL; do export "KYSO_HTTP_RATE_LIMITS_${class}_RATE=0"; done
# The key ceremony opens every token directly, as a ceremony machine would.
KYSO_HSM_MODULE=$softhsm bin/kyso-dev dev setup >"$out/logs/setup.log" 2>&1 || { cat "$out/logs/setup.log" >&2; exit 1; }

sock=$out/hsm/p11-kit.sock
# p11-kit server forks a process per client connection, which outlives the
# listening process: it runs in a process group of its own, and the HSM
# restart ends the whole group, connections included.
start_hsm() {
  rm -f "$sock"
  setsid p11-kit server --provider "$softhsm" -f -n "$sock" "pkcs11:token=kyso-dev" >>"$out/logs/p11-kit.log" 2>&1 &
  hsm_pid=$!
  for _ in $(seq 1 100); do
    if [ -S "$sock" ]; then
      kill -0 -- -"$hsm_pid" 2>/dev/null && return 0
      log "p11-kit server does not lead a process group of its own"; exit 1
    fi
    sleep 0.1
  done
  log "p11-kit server did not start"; exit 1
}
stop_hsm() {
  kill -TERM -- -"$hsm_pid" 2>/dev/null || true
  wait "$hsm_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 -- -"$hsm_pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- -"$hsm_pid" 2>/dev/null || true
}
start_hsm
export P11_KIT_SERVER_ADDRESS=unix:path=$sock KYSO_HSM_MODULE=$client_module
export KYSO_HSM_CITIZEN_MODULE=$softhsm KYSO_HSM_AUDIT_MODULE=$softhsm

start_replica() {
  KYSO_LISTEN=127.0.0.1:$((lb_port + $1)) bin/kyso serve >>"$out/logs/replica-$1.log" 2>&1 &
  rpid[$1]=$!
}
ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz" 2>/dev/null; }
wait_ready() {
  for _ in $(seq 1 240); do ready "$1" && return 0; sleep 0.25; done
  log "127.0.0.1:$1 never became ready"; return 1
}
# One after the other: their migrations and HSM sessions start in turn.
for i in 1 2 3; do start_replica $i; wait_ready $((lb_port + i)); done

cat >"$out/haproxy.cfg" <<CFG
global
  maxconn 256
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout check 5s
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout
frontend kyso
  bind 127.0.0.1:$lb_port
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 500ms fall 3 rise 2
  server r1 127.0.0.1:$((lb_port + 1)) check
  server r2 127.0.0.1:$((lb_port + 2)) check
  server r3 127.0.0.1:$((lb_port + 3)) check
CFG
haproxy -f "$out/haproxy.cfg" -db >"$out/logs/haproxy.log" 2>&1 &
lb_pid=$!
wait_ready "$lb_port"
# Every replica in rotation before the load starts.
sleep 1.5

faults=$out/faults.tsv
: >"$faults"
log "load for ${duration}s with $workers citizens through $lb (replicas on ports $((lb_port + 1))-$((lb_port + 3)))"
bin/kyso-dev replicas load --url "$lb" --credentials "$out/data/dev-credentials.json" --workers "$workers" \
  --duration "${duration}s" --out "$out/ops.json" >"$out/logs/load.log" 2>&1 &
load_pid=$!

# A fault window runs from the fault until the service is whole again and
# the balancer has every replica back in rotation (rise 2 x 500 ms).
all_ready() { for i in 1 2 3; do ready $((lb_port + i)) || return 1; done; }
wait_all_ready() {
  for _ in $(seq 1 240); do all_ready && return 0; sleep 0.25; done
  log "the replicas did not all become ready"; return 1
}
sleep "$(awk "BEGIN{print $duration * 0.2}")"
# Fault 1: SIGKILL replica 2 under load and start it again. What it served
# until then (API requests, health checks aside) shows it was in the load.
served=$(curl -fsS --max-time 5 "http://127.0.0.1:$((lb_port + 2))/metrics" |
  awk '/^kyso_http_requests_total/ && !/readyz|healthz|metrics/ {s += $NF} END {print s + 0}')
f0=$(now)
kill -KILL "${rpid[2]}"; wait "${rpid[2]}" 2>/dev/null || true
log "replica 2 killed after serving $served API requests"
sleep 1
start_replica 2
wait_all_ready; sleep 2
printf 'replica-kill\t%s\t%s\n' "$f0" "$(now)" >>"$faults"
sleep "$(awk "BEGIN{print $duration * 0.2}")"
# Fault 2: restart the HSM server under load.
f0=$(now)
stop_hsm
log "HSM server stopped"
sleep 1
start_hsm
wait_all_ready; sleep 2
printf 'hsm-restart\t%s\t%s\n' "$f0" "$(now)" >>"$faults"

wait "$load_pid" || { cat "$out/logs/load.log" >&2; exit 1; }
load_pid=
# The replicas noticed the HSM restart: each one's session pool recovered.
recoveries=0
for i in 1 2 3; do
  n=$(curl -fsS --max-time 5 "http://127.0.0.1:$((lb_port + i))/metrics" | awk '/^kyso_hsm_recoveries_total/ {s += $2} END {print s + 0}')
  recoveries=$((recoveries + ${n%.*}))
done
log "HSM session pool recoveries on the replicas: $recoveries"

audit_ok=false
bin/kyso audit verify >"$out/logs/audit-verify.log" 2>&1 && audit_ok=true
code=0
bin/kyso-dev replicas check --ops "$out/ops.json" --faults "$faults" --out "$out" --audit-verified="$audit_ok" \
  --hsm-recoveries "$recoveries" --killed-replica-requests "${served%.*}" \
  --replica "http://127.0.0.1:$((lb_port + 1))" --replica "http://127.0.0.1:$((lb_port + 2))" --replica "http://127.0.0.1:$((lb_port + 3))" || code=$?
[ "$audit_ok" = true ] || cat "$out/logs/audit-verify.log" >&2
[ $code = 0 ] || log "failed; report in $out/report.json, logs in $out/logs"
exit $code
