#!/usr/bin/env bash
# make test: every Go test, with a throwaway PostgreSQL for the store suite.
set -euo pipefail
cd "$(dirname "$0")/.."
pgdir=$(mktemp -d /tmp/kyso-testpg.XXXXXX)
cleanup() { scripts/testpg.sh stop "$pgdir"; rm -rf "$pgdir"; }
trap cleanup EXIT
KYSO_TEST_POSTGRES_DSN=$(scripts/testpg.sh start "$pgdir")
export KYSO_TEST_POSTGRES_DSN
export KYSO_TEST_ARTIFACTS=${KYSO_TEST_ARTIFACTS:-$PWD/var/test-artifacts}
mkdir -p "$KYSO_TEST_ARTIFACTS"
go vet ./...
go test -count=1 -timeout 40m ${GOTESTFLAGS:-} ./...

# The replicas fault test in its short form (make replicas-test runs the
# longer one): three replicas, PostgreSQL, a p11-kit-served HSM, HAProxy.
if command -v haproxy >/dev/null && command -v p11-kit >/dev/null && ls /usr/lib/*/pkcs11/p11-kit-client.so >/dev/null 2>&1; then
  REPLICAS_SHORT=1 scripts/replicas-test.sh
elif [ "${CI:-}" = true ]; then
  echo "test: the replicas test needs haproxy, p11-kit and p11-kit-modules (scripts/deps.sh test installs them)" >&2
  exit 1
else
  echo "test: skipping the replicas test: haproxy, p11-kit or p11-kit-modules is missing (scripts/deps.sh test installs them)" >&2
fi
