#!/bin/bash
# tests/uml/uml-test.sh: meson's entry for the UML suite. Decides whether the
# UML tests can run here and, if so, boots the guest with interop/uml/run to
# run one guest script (the arguments: all.sh and the test scripts). It
# skips (exit 77, meson's skip code) loudly when not root, when linux.uml
# is missing, or in a sanitizer build (ASan's shadow memory does not fit a
# UML process's address space; tests/run runs this suite from the plain
# build). With REKEYD_UML_REQUIRED=1 (set by
# tests/run when it is root) a missing linux.uml is a failure, not a skip.
#
#   uml-test.sh [--sanitized] SCRIPT [ARGS...]
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

skip() {
    echo "SKIP: UML test $(basename "${script:-?}"): $*"
    exit 77
}

sanitized=0
if [ "${1:-}" = --sanitized ]; then sanitized=1; shift; fi
script=${1:?usage: uml-test.sh [--sanitized] SCRIPT [ARGS...]}

[ "$sanitized" = 0 ] || skip "sanitizer build (ASan cannot run in UML); run it from a plain build: meson test -C <plain build> --suite uml"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces and XFRM in the guest are set up as root)"
if ! command -v "${UML_KERNEL:-linux.uml}" >/dev/null 2>&1; then
    if [ "${REKEYD_UML_REQUIRED:-0}" = 1 ]; then
        echo "FAIL: linux.uml not found but REKEYD_UML_REQUIRED=1 (install user-mode-linux)"
        exit 1
    fi
    skip "linux.uml not found (install the Debian package user-mode-linux)"
fi
exec "$src/interop/uml/run" --timeout "${REKEYD_UML_TIMEOUT:-580}" "$@"
