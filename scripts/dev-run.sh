#!/usr/bin/env bash
# make run: a local SoftHSM2 token under ./var, the dev key ceremony, demo
# principals, then the server on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
var=$PWD/var
mkdir -p "$var/hsm/tokens"
chmod 700 "$var" "$var/hsm"
if [ ! -f "$var/hsm/softhsm2.conf" ]; then
  cat >"$var/hsm/softhsm2.conf" <<CONF
directories.tokendir = $var/hsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
fi
export SOFTHSM2_CONF=$var/hsm/softhsm2.conf
# The local server runs in development mode: SoftHSM2, the dev CSCA and the
# demo data. kyso serve is in production mode otherwise and refuses them.
export KYSO_MODE=development
./bin/kyso-dev dev setup
# A local OpenID provider standing in for VNeID; it writes the configuration
# that makes this Kyso its relying party (unless KYSO_CONFIG names another).
rm -f "$var/dev-oidc.yaml"
./bin/kyso-dev oidc-provider --listen 127.0.0.1:8081 &
oidc_pid=$!
trap 'kill "$oidc_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -f "$var/dev-oidc.yaml" ] && break; sleep 0.2; done
if [ -f "$var/dev-oidc.yaml" ]; then
  export KYSO_CONFIG=${KYSO_CONFIG:-$var/dev-oidc.yaml}
else
  echo "the development OpenID provider did not start; sign-in with VNeID is off" >&2
fi
echo
echo "Kyso is starting on http://127.0.0.1:8080"
echo "  health:        http://127.0.0.1:8080/readyz"
echo "  verify a file: http://127.0.0.1:8080/verify"
echo "  API:           http://127.0.0.1:8080/openapi.json"
echo "  demo tokens:   var/dev-credentials.json"
echo "  dashboard:     http://127.0.0.1:8080/dashboard"
echo "  VNeID sign-in: http://127.0.0.1:8080/v1/identity/oidc/vneid/start?redirect_uri=http://127.0.0.1:8081/portal"
echo "                 (development provider: user mai, password vneid-dev)"
echo
./bin/kyso serve
