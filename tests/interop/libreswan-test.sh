#!/bin/bash
# tests/interop/libreswan-test.sh [--sanitized] BUILD SCENARIO...: meson's
# entry for the rekeyd <-> Libreswan 4.10 scenarios (interop/libreswan). On
# the host it first makes sure Libreswan is unpacked
# (interop/libreswan/fetch.sh: apt-get download + dpkg-deb -x into
# ~/.cache/rekeyd/libreswan, nothing installed, so strongSwan stays), then
# runs the scenarios in one User-Mode Linux boot with interop/run. Skips (77,
# loudly) when not root, in a sanitizer build (ASan cannot run in UML), or
# without linux.uml or Libreswan; with REKEYD_UML_REQUIRED=1 (tests/run as
# root) a missing linux.uml or a failed Libreswan fetch is a failure.
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
skip() { echo "SKIP: Libreswan interop scenarios: $*"; exit 77; }
required=${REKEYD_UML_REQUIRED:-0}
need() {
    if [ "$required" = 1 ]; then echo "FAIL: $* (REKEYD_UML_REQUIRED=1)"; exit 1; fi
    skip "$*"
}

sanitized=0
if [ "${1:-}" = --sanitized ]; then sanitized=1; shift; fi
build=${1:?usage: libreswan-test.sh [--sanitized] BUILD SCENARIO...}; shift
[ "$sanitized" = 0 ] || skip "sanitizer build (ASan cannot run in UML); tests/run runs them from the plain build"
[ "$(id -u)" = 0 ] || skip "needs root (namespaces and XFRM inside the guest)"
command -v "${UML_KERNEL:-linux.uml}" >/dev/null 2>&1 ||
    need "linux.uml not found (install the Debian package user-mode-linux)"
"$src/interop/libreswan/fetch.sh" || need "could not unpack Libreswan (interop/libreswan/fetch.sh failed)"
exec "$src/interop/run" --build "$build" --timeout "${REKEYD_INTEROP_TIMEOUT:-1100}" "$@"
