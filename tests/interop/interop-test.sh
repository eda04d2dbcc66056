#!/bin/bash
# tests/interop/interop-test.sh [--sanitized] BUILD SCENARIO...: meson's entry
# for the interop suite. Decides whether the scenarios can run here and, if
# so, runs them all in one User-Mode Linux boot with interop/run. Skips (77,
# loudly) when not root, in a sanitizer build (ASan cannot run in UML) or
# without linux.uml. Before the boot it makes sure Libreswan is unpacked on
# the host when a Libreswan scenario is listed (interop/libreswan/fetch.sh:
# apt-get download + dpkg-deb -x into ~/.cache/rekeyd/libreswan, nothing
# installed, so strongSwan stays). With REKEYD_UML_REQUIRED=1 (tests/run as
# root) a missing linux.uml, strongSwan or Libreswan is a failure; without
# it, the scenarios of a missing peer are left out (said loudly).
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
skip() { echo "SKIP: interop scenarios: $*"; exit 77; }
required=${REKEYD_UML_REQUIRED:-0}

sanitized=0
if [ "${1:-}" = --sanitized ]; then sanitized=1; shift; fi
build=${1:?usage: interop-test.sh [--sanitized] BUILD SCENARIO...}; shift
[ "$sanitized" = 0 ] || skip "sanitizer build (ASan cannot run in UML); tests/run runs them from the plain build"
[ "$(id -u)" = 0 ] || skip "needs root (namespaces and XFRM inside the guest)"
if ! command -v "${UML_KERNEL:-linux.uml}" >/dev/null 2>&1; then
    [ "$required" = 1 ] && { echo "FAIL: linux.uml not found but REKEYD_UML_REQUIRED=1"; exit 1; }
    skip "linux.uml not found (install the Debian package user-mode-linux)"
fi
lsw=unknown
scn=()
for s in "$@"; do
    if [[ $s == */strongswan/* ]] && { [ ! -x /usr/lib/ipsec/charon ] || ! command -v swanctl >/dev/null; }; then
        [ "$required" = 1 ] && { echo "FAIL: strongSwan (charon, swanctl) missing but REKEYD_UML_REQUIRED=1"; exit 1; }
        echo "SKIP: $s: strongSwan not installed (strongswan-charon, strongswan-swanctl)"
        continue
    fi
    if [[ $s == */libreswan/* ]]; then
        if [ $lsw = unknown ]; then
            lsw=ok
            "$src/interop/libreswan/fetch.sh" || lsw=missing
        fi
        if [ $lsw = missing ]; then
            [ "$required" = 1 ] && { echo "FAIL: could not unpack Libreswan (interop/libreswan/fetch.sh failed) but REKEYD_UML_REQUIRED=1"; exit 1; }
            echo "SKIP: $s: could not unpack Libreswan (interop/libreswan/fetch.sh failed)"
            continue
        fi
    fi
    scn+=("$s")
done
[ ${#scn[@]} -gt 0 ] || skip "no scenario can run here"
exec "$src/interop/run" --build "$build" --timeout "${REKEYD_INTEROP_TIMEOUT:-1900}" "${scn[@]}"
