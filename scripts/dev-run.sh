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
echo
echo "Kyso is starting on http://127.0.0.1:8080"
echo "  health:        http://127.0.0.1:8080/readyz"
echo "  verify a file: http://127.0.0.1:8080/verify"
echo "  API:           http://127.0.0.1:8080/openapi.json"
echo "  demo tokens:   var/dev-credentials.json"
echo
exec ./bin/kyso serve
