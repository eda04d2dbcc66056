#!/bin/sh
# Fails the build when a pure layer (src/wire, src/core and their headers)
# includes OpenSSL, libev, libmnl, a socket header or the clock. The pure
# layers must stay testable byte-in/byte-out (DESIGN.md section 2).
# Usage: check-pure.sh SOURCE_ROOT STAMP_FILE
set -eu
root=$1
stamp=$2
bad=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](openssl/|ev\.h|libmnl/|sys/socket\.h|netinet/|arpa/inet\.h|linux/|time\.h|sys/time\.h)' \
    "$root/src/wire" "$root/src/core" 2>/dev/null || true)
if [ -n "$bad" ]; then
    echo "check-pure: a pure layer includes an I/O, clock or crypto header:" >&2
    echo "$bad" >&2
    exit 1
fi
: > "$stamp"
