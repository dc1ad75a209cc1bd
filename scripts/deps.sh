#!/usr/bin/env bash
# Installs the Debian packages Kyso needs when they are missing.
#   scripts/deps.sh run    what `make run` needs
#   scripts/deps.sh test   what `make test` needs (also the bench tools)
set -euo pipefail
want=${1:-run}

# command-or-path -> Debian package
declare -A need=(
  [softhsm2-util]=softhsm2
  [pkcs11-tool]=opensc
  [openssl]=openssl
)
if [ "$want" = test ] || [ "$want" = bench ]; then
  need[pdfsig]=poppler-utils
  need[certutil]=libnss3-tools
  need[initdb]=postgresql
  need[chromium]=chromium
  need[zbarimg]=zbar-tools
  need[qpdf]=qpdf
  need[systemd-analyze]=systemd
  need[haproxy]=haproxy
  need[curl]=curl
  need[p11-kit]=p11-kit
  need[pyjwt]=python3-jwt
fi

has() {
  case "$1" in
    initdb) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ;;
    pyjwt) /usr/bin/python3 -c 'import jwt' >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for c in "${!need[@]}"; do
  has "$c" || missing+=("${need[$c]}")
done
# p11-kit's client module (the replicas test reaches the HSM through it).
if [ "$want" = test ] && ! ls /usr/lib/*/pkcs11/p11-kit-client.so >/dev/null 2>&1; then
  missing+=(p11-kit-modules)
fi
# SoftHSM2's PKCS#11 module itself.
if ! ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so >/dev/null 2>&1; then
  missing+=(softhsm2)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" != 0 ]; then
  echo "Kyso needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
