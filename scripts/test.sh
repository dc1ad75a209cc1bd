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
