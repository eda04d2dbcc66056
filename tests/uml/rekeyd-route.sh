#!/bin/bash
# tests/uml/rekeyd-route.sh REKEYD REKEYCTL: two rekeyd over real XFRM and
# ESP in the UML guest, left with auto=route, right with auto=add, on the
# namespaces of lib.sh (tunnel mode 10.1.0.0/24 <-> 10.2.0.0/24). Checks that
# the trap policy alone is installed at start, that a ping starts the tunnel
# through the kernel's ACQUIRE, that `rekeyctl down` puts the trap back (and
# the next ping brings the tunnel up again), that a Child rekey keeps the
# ping answering, and that SIGTERM leaves no SA and no policy in either
# kernel. Runs inside the guest only (interop/uml/run).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
REKEYD=${1:?usage: rekeyd-route.sh REKEYD REKEYCTL}
REKEYCTL=${2:?usage: rekeyd-route.sh REKEYD REKEYCTL}
T=/tmp/route
mkdir -p "$T"

conf() { # NAME ME PEER MYNET PEERNET AUTO
    cat >"$T/$1.conf" <<EOC
conn t
    left=$2
    leftid=@$1
    leftsubnet=$4
    right=$3
    rightid=@$7
    rightsubnet=$5
    authby=secret
    ike=aes256gcm16-prfsha256-x25519
    esp=aes256gcm16
    auto=$6
EOC
    echo "@left @right : PSK \"uml-route-test-secret\"" >"$T/$1.secrets"
    chmod 600 "$T/$1.secrets"
}
conf left "$L_OUT" "$R_OUT" "$L_NET" "$R_NET" route right
conf right "$R_OUT" "$L_OUT" "$R_NET" "$L_NET" add left

start() { # NS
    # nsenter itself, not the in_ns function: a function in the background
    # is a subshell, and SIGTERM must reach rekeyd (nsenter execs it).
    nsenter --net="/run/netns/$1" "$REKEYD" -f -d -c "$T/$1.conf" -s "$T/$1.secrets" \
        -S "$T/$1.ctl" --kernel xfrm >"$T/$1.log" 2>&1 &
    eval "PID_$1=$!"
}
ctl() { local ns=$1; shift; in_ns "$ns" "$REKEYCTL" -S "$T/$ns.ctl" "$@"; }
# wait_until SECONDS CMD...: poll every 0.2 s.
wait_until() {
    local n=$(($1 * 5)); shift
    while [ "$n" -gt 0 ]; do "$@" && return 0; nap 0.2; n=$((n - 1)); done
    return 1
}
# count_lines VAR NS WHAT PATTERN: lines of `ip xfrm WHAT list` matching.
count_xfrm() {
    local f=/tmp/.route-count line c=0
    ip -n "$2" xfrm "$3" list >"$f" 2>/dev/null
    while read -r line; do [[ $line =~ $4 ]] && c=$((c + 1)); done <"$f"
    printf -v "$1" '%s' "$c"
}
trap_only() { # NS: one out policy, with no SA in the kernel
    local pol sa out
    count_xfrm pol "$1" policy '^src '
    count_xfrm out "$1" policy 'dir out'
    count_xfrm sa "$1" state '^src '
    [ "$pol" = 1 ] && [ "$out" = 1 ] && [ "$sa" = 0 ]
}
tunnel_up() { # NS: out/in/fwd policies and an SA pair
    local pol sa
    count_xfrm pol "$1" policy '^src '
    count_xfrm sa "$1" state '^src '
    [ "$pol" = 3 ] && [ "$sa" = 2 ]
}
# show: both kernels' SAs and policies, for a failure's context.
show() {
    local ns
    for ns in "$L" "$R"; do
        echo "--- ip xfrm in $ns (t=${SECONDS}s)"
        ip -n "$ns" xfrm policy list
        ip -n "$ns" xfrm state list | grep -E '^src|proto'
    done
}
# The first failed check shows the kernels' state once.
shown=0
check() {
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; [ $shown = 1 ] || show; shown=1; fi
}
nothing_at() { local pol sa; count_xfrm pol "$1" policy '^src '; count_xfrm sa "$1" state '^src '; [ "$pol" = 0 ] && [ "$sa" = 0 ]; }
# A ping that may lose its first packets while the tunnel is made.
ping_through() {
    local n=30 # one ping a second: the first ones die in the larval SA
    while [ $n -gt 0 ]; do
        in_ns "$L" ping -q -n -c 1 -W 1 -I "$L_IN" "$R_IN" >/dev/null 2>&1 && return 0
        n=$((n - 1))
    done
    return 1
}

echo "== auto=route: trap policy, ACQUIRE, down/up, SIGTERM cleanup"
check "namespaces, veth and filters come up" netns_up
start "$L"
start "$R"
check "both control sockets answer" wait_until 20 ctl "$R" status
wait_until 20 ctl "$L" status >/dev/null
check "left has the trap policy only (no SA) before any traffic" wait_until 10 trap_only "$L"
check "right (auto=add) has nothing in its kernel" nothing_at "$R"
check "a ping from 10.1.0.1 to 10.2.0.1 starts the tunnel (ACQUIRE)" ping_through
check "left has out/in/fwd policies and an SA pair" wait_until 10 tunnel_up "$L"
check "right has out/in/fwd policies and an SA pair" wait_until 10 tunnel_up "$R"
check "pings are answered through ESP" ping_ok "$L" "$L_IN" "$R_IN" 5
check "left logged the ACQUIRE" grep -q "kernel ACQUIRE (traffic hit the trap policy)" "$T/left.log"
check "a Child rekey from the routed side succeeds" ctl "$L" rekey t --child
nap 2
check "pings still answered after the rekey" ping_ok "$L" "$L_IN" "$R_IN" 5
check "rekeyctl down on the routed side" ctl "$L" down t
check "left is back to the trap policy alone" wait_until 10 trap_only "$L"
check "right removed its SAs and policies" wait_until 10 nothing_at "$R"
check "the next ping brings the tunnel up again" ping_through
check "left has the tunnel again" wait_until 10 tunnel_up "$L"
check "rekeyctl down on the peer's side" ctl "$R" down t
check "left is back to the trap policy after the peer's DELETE" wait_until 10 trap_only "$L"
check "and traffic brings it back once more" ping_through
kill -TERM "$PID_left" "$PID_right"
check "rekeyd (left) exits 0 on SIGTERM" wait "$PID_left"
check "rekeyd (right) exits 0 on SIGTERM" wait "$PID_right"
check "no SA and no policy left in left's kernel" xfrm_empty "$L"
check "no SA and no policy left in right's kernel" xfrm_empty "$R"
if [ "$n_fail" != 0 ]; then
    for f in "$T"/left.log "$T"/right.log; do echo "--- $f"; cat "$f"; done
fi
netns_down
summary rekeyd-route
