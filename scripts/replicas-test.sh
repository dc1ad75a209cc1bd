#!/usr/bin/env bash
# make replicas-test: three kyso serve replicas on one PostgreSQL and one
# HSM served over a socket by p11-kit server (SoftHSM2 behind it, reached
# through p11-kit's client module as a network HSM would be), behind HAProxy
# on loopback. A bounded load of demo journeys (identity with a chip card,
# enrolment, remote JWS signing, the five dossier steps with the agency's
# PDF seal, verification) runs through the balancer while one replica is
# SIGKILLed and restarted and the HSM server is restarted. Afterwards every
# acknowledged dossier must be in the database in its acknowledged state and
# the audit log must verify. Writes var/replicas/report.json and report.txt;
# exits non-zero when an acknowledged record was lost, the audit log does
# not verify, or no journey was acknowledged at all.
#
# Knobs: REPLICAS_RUNS (least journeys per worker, default 6; workers go on
# until the faults are over), REPLICAS_WORKERS
# (default 2), REPLICAS_PORT (balancer, default 18480; replicas the next 3).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
root=$PWD
out=$root/var/replicas
runs=${REPLICAS_RUNS:-6}
workers=${REPLICAS_WORKERS:-2}
lb_port=${REPLICAS_PORT:-18480}
lb=http://127.0.0.1:$lb_port
client_module=$(ls /usr/lib/*/pkcs11/p11-kit-client.so 2>/dev/null | head -1)
softhsm=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
for tool in p11-kit haproxy psql; do
  command -v $tool >/dev/null || { echo "replicas-test: $tool is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
done
[ -n "$client_module" ] || { echo "replicas-test: p11-kit-client.so missing (apt-get install p11-kit-modules)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/hsm/tokens" "$out/data" "$out/logs"
chmod 700 "$out" "$out/hsm"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${hsm_pid:-}" ] && kill "$hsm_pid" 2>/dev/null || true
  [ -n "${lb_pid:-}" ] && kill "$lb_pid" 2>/dev/null || true
  if [ -n "${pgdir:-}" ]; then scripts/testpg.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"; fi
}
trap cleanup EXIT
now() { date +%s.%N; }

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
# module is explicit for the replicas, as in production.
export KYSO_MODE=development KYSO_DATA_DIR=$out/data KYSO_DATABASE_DSN=$dsn KYSO_PUBLIC_URL=$lb
export KYSO_HSM_PIN_FILE=$out/hsm/user.pin KYSO_HSM_CITIZEN_PIN_FILE=$out/hsm/citizen.pin KYSO_HSM_ROOT_PIN_FILE=$out/hsm/root.pin
export KYSO_IDENTITY_CSCA_DIR=$out/data/trust/csca KYSO_CA_PEM_DIR=$out/data/pki KYSO_CA_ISSUANCE_PER_DAY=100000
export KYSO_LOG_LEVEL=warn
# The whole load comes from one loopback address through the balancer: the
# per-client rate limits (tested on their own) would refuse most of it.
for class in IDENTITY TSA OCSP_SIGNED CRL VERIFY ENROL; do export "KYSO_HTTP_RATE_LIMITS_${class}_RATE=0"; done
KYSO_HSM_MODULE=$softhsm bin/kyso-dev dev setup >"$out/logs/setup.log" 2>&1 || { cat "$out/logs/setup.log" >&2; exit 1; }

sock=$out/hsm/p11-kit.sock
start_hsm() {
  rm -f "$sock"
  p11-kit server --provider "$softhsm" -f -n "$sock" "pkcs11:token=kyso-dev" "pkcs11:token=kyso-dev-citizen" >>"$out/logs/p11-kit.log" 2>&1 &
  hsm_pid=$!
  for _ in $(seq 1 50); do [ -S "$sock" ] && return 0; sleep 0.1; done
  echo "replicas-test: p11-kit server did not start" >&2; exit 1
}
start_hsm
export P11_KIT_SERVER_ADDRESS=unix:path=$sock KYSO_HSM_MODULE=$client_module

declare -A rpid
start_replica() {
  local i=$1
  KYSO_LISTEN=127.0.0.1:$((lb_port + i)) bin/kyso serve >>"$out/logs/replica-$i.log" 2>&1 &
  rpid[$i]=$!
  pids+=("$!")
}
wait_ready() {
  for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "replicas-test: 127.0.0.1:$1 never became ready" >&2; return 1
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
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout
frontend kyso
  bind 127.0.0.1:$lb_port
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 500ms fall 2 rise 2
  server r1 127.0.0.1:$((lb_port + 1)) check
  server r2 127.0.0.1:$((lb_port + 2)) check
  server r3 127.0.0.1:$((lb_port + 3)) check
CFG
haproxy -f "$out/haproxy.cfg" -db >"$out/logs/haproxy.log" 2>&1 &
lb_pid=$!
wait_ready "$lb_port"

# The load: each worker walks demo journeys through the balancer and records
# start, end, outcome and the acknowledged dossier of each.
creds=$out/data/dev-credentials.json
journeys=$out/journeys.tsv
: >"$journeys"
worker() {
  local w=$1 n=0
  while [ ! -e "$out/stop" ] || [ "$n" -lt "$runs" ]; do
    n=$((n + 1))
    local t0 t1 log=$out/logs/journey-$w-$n.log
    t0=$(now)
    if bin/kyso-dev demo --url "$lb" --credentials "$creds" --chip "$out/data/chip-$w" >"$log" 2>&1; then ok=1; else ok=0; fi
    t1=$(now)
    dossier=$(grep -o 'dossier dos_[A-Za-z0-9_-]*' "$log" | head -1 | cut -d' ' -f2 || true)
    printf '%s\t%s\t%s\t%s\t%s\n' "$w-$n" "$t0" "$t1" "$ok" "${dossier:-}" >>"$journeys"
  done
}
faults=$out/faults.tsv
: >"$faults"
start=$(now)
wpids=()
for w in $(seq 1 "$workers"); do worker "$w" & wpids+=("$!"); done
# Fault 1: SIGKILL replica 2 and restart it.
sleep 3
f0=$(now); kill -KILL "${rpid[2]}"; sleep 2; start_replica 2; wait_ready $((lb_port + 2)); sleep 2; f1=$(now)
printf 'replica-kill\t%s\t%s\n' "$f0" "$f1" >>"$faults"
# Fault 2: restart the HSM server.
sleep 3
f0=$(now); kill "$hsm_pid"; wait "$hsm_pid" 2>/dev/null || true; sleep 1; start_hsm; sleep 5; f1=$(now)
printf 'hsm-restart\t%s\t%s\n' "$f0" "$f1" >>"$faults"
# Load goes on after the faults, then stops (each worker finishes its
# journey and has made at least REPLICAS_RUNS).
sleep 5
touch "$out/stop"
wait "${wpids[@]}"
end=$(now)

# Every acknowledged journey's dossier is in the database, acknowledged.
lost=0
while IFS=$'\t' read -r id t0 t1 ok dossier; do
  [ "$ok" = 1 ] || continue
  state=$(psql "$dsn" -Atc "SELECT state FROM dossiers WHERE id = '$dossier'" 2>/dev/null || true)
  if [ "$state" != acknowledged ]; then lost=$((lost + 1)); echo "lost: journey $id dossier $dossier state '$state'" >&2; fi
done <"$journeys"
audit_ok=true
bin/kyso audit verify >"$out/logs/audit-verify.log" 2>&1 || audit_ok=false

python3 - "$journeys" "$faults" "$start" "$end" "$lost" "$audit_ok" "$out" <<'PY'
import json, sys
journeys_f, faults_f, start, end, lost, audit_ok, out = sys.argv[1:]
faults = [l.rstrip("\n").split("\t") for l in open(faults_f) if l.strip()]
windows = [(n, float(a), float(b)) for n, a, b in faults]
rows = [l.rstrip("\n").split("\t") for l in open(journeys_f) if l.strip()]
def window(t0, t1):
    for n, a, b in windows:
        if t0 <= b and t1 >= a:
            return n
    return "outside"
errors = {"outside": 0, **{n: 0 for n, _, _ in windows}}
lat, ok = [], 0
for jid, t0, t1, good, dossier in rows:
    t0, t1 = float(t0), float(t1)
    if good == "1":
        ok += 1
        lat.append(t1 - t0)
    else:
        errors[window(t0, t1)] += 1
lat.sort()
pct = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 3) if lat else None
report = {
    "scope": "demo journeys (chip identity, remote-key enrolment, JWS signing, five dossier steps with the agency's PDF seal, verification) through HAProxy to three replicas; faults: replica SIGKILL + restart, p11-kit HSM server restart",
    "acknowledged": {"journeys": ok, "dossiers_acknowledged": ok},
    "lost_acknowledged": int(lost),
    "errors_outside_faults": errors["outside"],
    "errors_by_window": errors,
    "fault_windows": [{"name": n, "start": a, "end": b} for n, a, b in windows],
    "journeys": len(rows),
    "latency_seconds": {"p50": pct(0.50), "p99": pct(0.99)},
    "audit_verifies": audit_ok == "true",
    "not_covered": ["CSR enrolment and revocation under load (OCSP from every replica, CRL shard)", "per-record acknowledgement of certificates and signatures (only dossiers are checked)"],
}
json.dump(report, open(out + "/report.json", "w"), indent=2)
with open(out + "/report.txt", "w") as f:
    f.write("replicas test: %d journeys, %d acknowledged, %d lost acknowledged, %d errors outside fault windows, errors by window %s, p50 %ss p99 %ss, audit log verifies: %s\n" % (
        len(rows), ok, int(lost), errors["outside"], errors, pct(0.5), pct(0.99), audit_ok))
print(open(out + "/report.txt").read(), end="")
PY
acked=$(awk -F'\t' '$4 == 1' "$journeys" | wc -l)
[ "$acked" -gt 0 ] || { echo "replicas-test: no journey was acknowledged; see $out/logs" >&2; exit 1; }
[ "$lost" = 0 ] && [ "$audit_ok" = true ]
