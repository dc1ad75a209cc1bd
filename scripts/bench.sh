#!/usr/bin/env bash
# make bench: Go benchmarks (raw HSM sign rates and the packages above the
# HSM), then load tests against a bench server with its own SoftHSM2 token,
# key ceremony and data under ./var/bench/run, then `kyso verify` against
# poppler's pdfsig on the same files. Everything targets 127.0.0.1 and every
# loop is bounded. Results: var/bench/results.json and var/bench/summary.txt.
#
# Knobs (environment): BENCH_DURATION (per load scenario, default 10s),
# BENCH_WORKERS (default 4), BENCH_BENCHTIME and BENCH_COUNT (Go benchmarks,
# default 1s, 3 times; the summary takes the median),
# BENCH_PORT (default 8091), BENCH_VERIFY_RUNS (CLI comparison, default 20),
# BENCH_AUDIT_DURATION (each phase of the audit log benchmark, default 5s).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
root=$PWD
out=$root/var/bench
run=$out/run
port=${BENCH_PORT:-8091}
url=http://127.0.0.1:$port
duration=${BENCH_DURATION:-10s}
workers=${BENCH_WORKERS:-4}
benchtime=${BENCH_BENCHTIME:-1s}
count=${BENCH_COUNT:-3}
verify_runs=${BENCH_VERIFY_RUNS:-20}
kyso=$root/bin/kyso
kysodev=$root/bin/kyso-dev

step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

scripts/deps.sh bench
# hyperfine times `kyso verify` against pdfsig; without it a timed loop does.
if ! command -v hyperfine >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hyperfine >/dev/null 2>&1 ||
    echo "hyperfine not installable; timing the verifiers with a loop" >&2
fi
[ -x "$kyso" ] || go build -o bin/kyso ./cmd/kyso
[ -x "$kysodev" ] || go build -o bin/kyso-dev ./cmd/kyso-dev

rm -rf "$run"
mkdir -p "$out" "$run/hsm/tokens" "$run/data" "$run/docs"
chmod 700 "$run" "$run/hsm"

step "Go benchmarks (benchtime $benchtime, $count times)"
gobench=$out/gobench.txt
: >"$gobench"
gob() { # package, benchmark regexp
  go test -run '^$' -bench "$2" -benchtime "$benchtime" -count "$count" -benchmem "$1" 2>&1 | tee -a "$gobench" | grep -E '^(Benchmark|ok|FAIL|---)' || true
}
gob ./hsm '^Benchmark(SignRSA2048|SignP256)$'
gob ./ca '^Benchmark(IssuingKeySign|IssueCertificate)$'
gob ./identity '^BenchmarkVerifyCard$'
gob ./signer '^Benchmark(SignPDF_RSA2048|SignPDF_P256)$'
# One signature per run is enough to read the peak memory of the 50 MB document.
go test -run '^$' -bench '^BenchmarkSignLargePDF$' -benchtime 1x -count "$count" -benchmem ./signer 2>&1 | tee -a "$gobench" | grep -E '^(Benchmark|ok|FAIL|---)' || true
gob ./verifier '^Benchmark(VerifyPDF|Conformance)$'
step "audit log: 16 writers with and without the log, SQLite and PostgreSQL"
# Committed state changes per second with each change's audit entry written
# in its transaction and the sequencer running, against the same changes
# without the log (goal: ratio >= 0.8), and the p99 time from a commit to
# the signed checkpoint covering it (goal: < 2 s). PostgreSQL runs durable
# (fsync on) as in production; a second run on a cluster with fsync off,
# where the machine's CPU is the only bound, gives the log's cost at its
# largest.
# The clusters live under var/bench: a durable one in a tmpfs /tmp would
# not be.
auditpg=$out/pg-audit
rm -rf "$auditpg"
: >"$out/audit-log-fsync-off.txt"
audit_pg=none
if auditdsn=$(KYSO_TEST_PG_FSYNC=on scripts/testpg.sh start "$auditpg"); then
  audit_pg=durable
  KYSO_TEST_POSTGRES_DSN=$auditdsn BENCH_AUDIT_DURATION=${BENCH_AUDIT_DURATION:-5s} \
    go test -run '^$' -bench '^BenchmarkAuditLog$' -benchtime 1x -timeout 30m ./audit 2>&1 | tee "$out/audit-log.txt" | grep -E '^(Benchmark|ok|FAIL|---)' || true
  scripts/testpg.sh stop "$auditpg" || true
  rm -rf "$auditpg"
  echo "PostgreSQL with fsync off:"
  if auditdsn=$(scripts/testpg.sh start "$auditpg"); then
    audit_pg=both
    KYSO_TEST_POSTGRES_DSN=$auditdsn BENCH_AUDIT_DURATION=${BENCH_AUDIT_DURATION:-5s} \
      go test -run '^$' -bench '^BenchmarkAuditLog$/postgres' -benchtime 1x -timeout 30m ./audit 2>&1 | tee "$out/audit-log-fsync-off.txt" | grep -E '^(Benchmark|ok|FAIL|---)' || true
    scripts/testpg.sh stop "$auditpg" || true
  else
    echo "PostgreSQL with fsync off did not start; skipped" >&2
  fi
else
  echo "PostgreSQL not available; the audit log benchmark runs on SQLite only" >&2
  CI= go test -run '^$' -bench '^BenchmarkAuditLog$/sqlite' -benchtime 1x -timeout 30m ./audit 2>&1 | tee "$out/audit-log.txt" | grep -E '^(Benchmark|ok|FAIL|---)' || true
fi
rm -rf "$auditpg"
if grep -q '^FAIL' "$out/audit-log.txt" "$out/audit-log-fsync-off.txt"; then
  echo "the audit log benchmark failed; see $out/audit-log.txt" >&2
  exit 1
fi
if grep -q '^FAIL' "$gobench"; then
  echo "a Go benchmark failed; see $gobench" >&2
  exit 1
fi

step "bench server: token, ceremony, principals"
cat >"$run/hsm/softhsm2.conf" <<CONF
directories.tokendir = $run/hsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF=$run/hsm/softhsm2.conf
cat >"$run/kyso.yaml" <<YAML
# SoftHSM2 and the synthetic cards' test CSCA: development mode.
mode: development
listen: 127.0.0.1:$port
public_url: $url
data_dir: $run/data
hsm:
  token_label: kyso-bench
  pin_file: $run/hsm/user.pin
  pin_env: KYSO_BENCH_HSM_PIN
  citizen_token_label: kyso-bench-citizen
  citizen_pin_file: $run/hsm/citizen.pin
  citizen_pin_env: KYSO_BENCH_HSM_CITIZEN_PIN
  root_token_label: kyso-bench-root
  root_pin_file: $run/hsm/root.pin
  root_pin_env: KYSO_BENCH_HSM_ROOT_PIN
ca:
  pem_dir: $run/data/pki
  # one synthetic citizen may be issued many certificates in a bench run
  issuance_per_day: 1000000
identity:
  csca_dir: $run/data/trust/csca
verifier:
  allowed_hosts: [127.0.0.1]
http:
  # The whole load comes from one loopback client: the per-client rate
  # limits (tested on their own) would refuse most of it.
  rate_limits:
    identity: {rate: 0}
    tsa: {rate: 0}
    ocsp_signed: {rate: 0}
    crl: {rate: 0}
    verify: {rate: 0}
    enrol: {rate: 0}
log:
  level: warn
YAML
cat >"$run/ceremony.yaml" <<YAML
base_url: $url
output_dir: $run/data/pki
agencies:
  - code: BENCH-RSA
    name: Bench agency (RSA-2048 seal)
    mns: "1000001"
    key_type: RSA2048
  - code: BENCH-EC
    name: Bench agency (P-256 seal)
    mns: "1000002"
    key_type: ECP256
YAML
export KYSO_CONFIG=$run/kyso.yaml
unset KYSO_HSM_PIN KYSO_HSM_CITIZEN_PIN KYSO_HSM_ROOT_PIN KYSO_DATABASE_DSN
"$kyso" token init --config "$run/kyso.yaml"
"$kyso" ceremony init --config "$run/ceremony.yaml" >"$run/ceremony.log"
# The synthetic cards of the load test share the CSCA of issuer seed kyso-dev.
"$kysodev" testdata chip --id 001099000000 --issuer-seed kyso-dev --out "$run/chip" >/dev/null
mkdir -p "$run/data/trust/csca"
cp "$run/chip/csca.pem" "$run/data/trust/csca/kyso-dev-csca.pem"
rsa=$("$kyso" principal add --config "$run/kyso.yaml" --role agency --agency BENCH-RSA --name "bench RSA" --json)
ec=$("$kyso" principal add --config "$run/kyso.yaml" --role agency --agency BENCH-EC --name "bench EC" --json)
cat >"$run/credentials.json" <<JSON
{
  "base_url": "$url",
  "agencies": [
    {"code": "BENCH-RSA", "key_type": "RSA2048", "token": $(jq .token <<<"$rsa")},
    {"code": "BENCH-EC", "key_type": "ECP256", "token": $(jq .token <<<"$ec")}
  ]
}
JSON
chmod 600 "$run/credentials.json"

step "bench server on $url"
"$kyso" serve --config "$run/kyso.yaml" >"$run/server.log" 2>&1 &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill "$server" && wait "$server" 2>/dev/null || true
  fi
}
trap stop_server EXIT
for _ in $(seq 1 120); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "the bench server exited; see $run/server.log" >&2; tail -20 "$run/server.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "$url/readyz" >/dev/null || { echo "bench server not ready after 60 s" >&2; exit 1; }

step "load tests ($duration per scenario, $workers workers)"
load_status=0
"$kysodev" bench --url "$url" --credentials "$run/credentials.json" --duration "$duration" --workers "$workers" \
  --docs "$run/docs" --out "$out/load.json" | tee "$out/load.txt" || load_status=$?

step "kyso verify vs pdfsig ($verify_runs runs per file)"
# The server stays up: the verifiers fetch OCSP responses from it.
cli=$out/verify-cli.json
files=("$run/docs"/signed-*-B-T.pdf)
# Both verifiers trust the bench root and nothing else.
trust=$run/data/pki/root.pem
mkdir -p "$run/nss"
certutil -N -d "sql:$run/nss" --empty-password
certutil -A -d "sql:$run/nss" -n kyso-bench-root -t CT,C,C -i "$trust"
[ -e "${files[0]}" ] || { echo "the load test wrote no signed documents to $run/docs" >&2; exit 1; }
if command -v hyperfine >/dev/null 2>&1; then
  # The first pair is process start alone (kyso version, pdfsig -v).
  args=(-n "kyso verify [process start]" "$kyso version" -n "pdfsig [process start]" "pdfsig -v")
  for f in "${files[@]}"; do
    n=$(basename "$f" .pdf)
    args+=(-n "kyso verify $n" "$kyso verify --config $run/kyso.yaml --trust $trust --format json $f")
    args+=(-n "pdfsig $n" "pdfsig -nssdir sql:$run/nss $f")
  done
  hyperfine -N -i --style basic --runs "$verify_runs" --warmup 2 --export-json "$cli" "${args[@]}" | tee "$out/verify-cli.txt"
else
  # The same JSON shape as hyperfine's export: mean seconds per command.
  entries=()
  for f in "${files[@]}"; do
    n=$(basename "$f" .pdf)
    for tool in kyso pdfsig; do
      if [ $tool = kyso ]; then
        cmd=("$kyso" verify --config "$run/kyso.yaml" --trust "$trust" --format json "$f")
        label="kyso verify $n"
      else
        cmd=(pdfsig -nssdir "sql:$run/nss" "$f")
        label="pdfsig $n"
      fi
      t0=$(date +%s%N)
      for _ in $(seq 1 "$verify_runs"); do "${cmd[@]}" >/dev/null 2>&1 || true; done
      t1=$(date +%s%N)
      entries+=("{\"command\": \"$label\", \"mean\": $(awk -v a="$t0" -v b="$t1" -v n="$verify_runs" 'BEGIN{printf "%.6f", (b-a)/1e9/n}')}")
    done
  done
  (IFS=,; echo "{\"results\": [${entries[*]}]}") >"$cli"
fi
# What each tool concluded about the files (for the record, not timed).
for f in "${files[@]}"; do
  echo "--- $(basename "$f")"
  "$kyso" verify --config "$run/kyso.yaml" --trust "$trust" --format text "$f" 2>&1 | grep -E '^Result' || true
  pdfsig -nssdir "sql:$run/nss" "$f" 2>&1 | grep -E 'Signature Validation|Certificate Validation' || true
done >"$out/verify-cli-verdicts.txt"

stop_server
trap - EXIT

step "summary"
"$kysodev" bench report --load "$out/load.json" --gobench "$gobench" --cli "$cli" \
  --machine "$(nproc) cores, $(uname -m), SoftHSM2 $(dpkg-query -W -f '${Version}' softhsm2 2>/dev/null || echo '?')" \
  --out "$out/results.json" | tee "$out/summary.txt" || load_status=1
echo
echo
if [ "$audit_pg" = none ]; then
  echo "audit log (changes/s with and without the log, ratio, checkpoint p99; SQLite only):"
else
  echo "audit log (changes/s with and without the log, ratio, checkpoint p99; PostgreSQL with fsync on):"
fi
grep -E '^BenchmarkAuditLog' "$out/audit-log.txt" || true
if [ "$audit_pg" = both ]; then
  echo "audit log on PostgreSQL with fsync off (bound by CPU only):"
  grep -E '^BenchmarkAuditLog' "$out/audit-log-fsync-off.txt" || true
fi
echo "results: $out/results.json, $out/summary.txt, $out/audit-log.txt (server log: $run/server.log)"
exit "$load_status"
