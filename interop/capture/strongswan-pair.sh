#!/usr/bin/env bash
# strongswan-pair.sh: capture real IKEv2 datagrams between two strongSwan
# charon instances and write them, with the keys charon derived, as test
# data under tests/data/strongswan/<case>/ (see the README.md there).
#
# Each charon runs in its own network namespace (rkcap-i / rkcap-r, joined
# by a veth pair 10.99.0.1 <-> 10.99.0.2) and its own mount namespace (a
# tmpfs on /run for the pid file); all config, sockets and logs live in a
# temporary work directory. No traffic leaves these namespaces. Child SAs go
# to kernel-libipsec (userspace ESP), because the host kernel has no ESP.
#
# Needs root, iproute2, util-linux unshare, tcpdump, tshark, strongswan-
# charon, strongswan-swanctl and libcharon-extra-plugins (kernel-libipsec).
# Re-runnable: it overwrites the data. Exits non-zero on any failure.
#
# Usage: interop/capture/strongswan-pair.sh [case...]   (default: a b c)
#        KEEP=1 keeps the work directory (logs, pcaps) for inspection.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/tests/data/strongswan}
CHARON=${CHARON:-/usr/lib/ipsec/charon}
NS_I=rkcap-i
NS_R=rkcap-r
ADDR_I=10.99.0.1
ADDR_R=10.99.0.2
NET_I=10.99.1.0/24 # protected subnets (Child SA traffic selectors)
NET_R=10.99.2.0/24
ID_I=initiator.rekeyd.test
ID_R=responder.rekeyd.test
PSK=rekeyd-capture-psk-not-a-secret

WORK=$(mktemp -d /tmp/rkcap.XXXXXX)
PIDS=()

die() {
    echo "strongswan-pair: $*" >&2
    exit 1
}

stop_all() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    PIDS=()
    ip netns del "$NS_I" 2>/dev/null || true
    ip netns del "$NS_R" 2>/dev/null || true
}

cleanup() {
    stop_all
    if [ "${KEEP:-0}" = 1 ]; then
        echo "work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

check_tools() {
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
    local t
    for t in ip unshare tcpdump tshark swanctl "$CHARON"; do
        command -v "$t" >/dev/null || die "missing tool: $t"
    done
    [ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
        die "kernel-libipsec plugin missing: apt-get install libcharon-extra-plugins"
    [ -c /dev/net/tun ] || die "/dev/net/tun missing (kernel-libipsec needs it)"
}

# Two namespaces joined by a veth pair; IPv6 off so no address appears in
# the middle of a run (that would make MOBIKE send an address update).
setup_net() {
    ip netns del "$NS_I" 2>/dev/null || true
    ip netns del "$NS_R" 2>/dev/null || true
    ip netns add "$NS_I"
    ip netns add "$NS_R"
    local n
    for n in "$NS_I" "$NS_R"; do
        ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ip netns exec "$n" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
        ip -n "$n" link set lo up
    done
    ip -n "$NS_I" link add veth-i type veth peer name veth-r netns "$NS_R"
    ip -n "$NS_I" addr add "$ADDR_I/24" dev veth-i
    ip -n "$NS_R" addr add "$ADDR_R/24" dev veth-r
    # A host address inside each protected subnet: libipsec routes the
    # remote subnet through its TUN device with this source address.
    ip -n "$NS_I" addr add 10.99.1.1/32 dev lo
    ip -n "$NS_R" addr add 10.99.2.1/32 dev lo
    ip -n "$NS_I" link set veth-i up
    ip -n "$NS_R" link set veth-r up
}

# gen_conf DIR LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS IKE ESP MOBIKE
gen_conf() {
    local d=$1
    mkdir -p "$d"
    sed -e "s|@DIR@|$d|g" "$HERE/strongswan.conf.in" >"$d/strongswan.conf"
    sed -e "s|@LOCAL@|$2|g; s|@REMOTE@|$3|g" \
        -e "s|@LOCAL_ID@|$4|g; s|@REMOTE_ID@|$5|g" \
        -e "s|@LOCAL_TS@|$6|g; s|@REMOTE_TS@|$7|g" \
        -e "s|@IKE@|$8|g; s|@ESP@|$9|g; s|@MOBIKE@|${10}|g" \
        -e "s|@ID_I@|$ID_I|g; s|@ID_R@|$ID_R|g; s|@PSK@|$PSK|g" \
        "$HERE/swanctl.conf.in" >"$d/swanctl.conf"
}

swan() { # swan SIDE swanctl-args...
    local s=$1
    shift
    STRONGSWAN_CONF="$WORK/$s/strongswan.conf" swanctl "$@" >>"$WORK/$s/swanctl.out" 2>&1
}

start_charon() { # start_charon SIDE NS
    local s=$1 ns=$2 i
    ip netns exec "$ns" unshare -m --propagation private sh -c \
        "mount -t tmpfs rkcap /run && STRONGSWAN_CONF='$WORK/$s/strongswan.conf' exec '$CHARON'" \
        >"$WORK/$s/charon.out" 2>&1 &
    PIDS+=($!)
    for i in $(seq 50); do
        [ -S "$WORK/$s/vici" ] && return 0
        sleep 0.1
    done
    die "charon $s did not open its vici socket (see $WORK/$s/charon.log)"
}

start_capture() { # start_capture PCAP
    ip netns exec "$NS_I" tcpdump -i veth-i -U -n -w "$1" 'udp port 500 or udp port 4500' \
        2>"$WORK/tcpdump.err" &
    PIDS+=($!)
    local i
    for i in $(seq 50); do
        grep -q listening "$WORK/tcpdump.err" 2>/dev/null && return 0
        sleep 0.1
    done
    die "tcpdump did not start"
}

# Wait until the initiator's log says a message was processed (by a grep
# pattern), so the next action starts from a quiet state.
wait_log() { # wait_log SIDE PATTERN COUNT
    local i
    for i in $(seq 100); do
        [ "$(grep -c -E "$2" "$WORK/$1/charon.log" || true)" -ge "$3" ] && return 0
        sleep 0.1
    done
    die "timeout waiting for '$2' x$3 in $1/charon.log"
}

. "$HERE/extract.sh"

# run_case NAME IKE_I IKE_R ESP MOBIKE ACTIONS...
# ACTIONS: child (rekey the Child SA), ike (rekey the IKE SA), term (delete).
run_case() {
    local name=$1 ike_i=$2 ike_r=$3 esp=$4 mobike=$5
    shift 5
    echo "== case $name: ike=$ike_i (responder $ike_r) esp=$esp mobike=$mobike: $*" >&2
    rm -rf "$WORK/i" "$WORK/r"
    gen_conf "$WORK/i" "$ADDR_I" "$ADDR_R" "$ID_I" "$ID_R" "$NET_I" "$NET_R" "$ike_i" "$esp" "$mobike"
    gen_conf "$WORK/r" "$ADDR_R" "$ADDR_I" "$ID_R" "$ID_I" "$NET_R" "$NET_I" "$ike_r" "$esp" "$mobike"
    setup_net
    start_capture "$WORK/$name.pcap"
    start_charon i "$NS_I"
    start_charon r "$NS_R"
    swan i --load-all --file "$WORK/i/swanctl.conf" || die "swanctl load (i) failed"
    swan r --load-all --file "$WORK/r/swanctl.conf" || die "swanctl load (r) failed"
    swan i --initiate --ike cap --child cap --timeout 15 || die "initiate failed ($name)"
    wait_log r 'CHILD_SA cap\{1\} state change: INSTALLING => INSTALLED' 1
    # Counters of what the responder has logged so far, so each action
    # waits for its own exchange to finish.
    local a n_child=0 n_ike=0
    for a in "$@"; do
        sleep 0.5
        case $a in
        child)
            n_child=$((n_child + 1))
            swan i --rekey --child cap || die "child rekey failed ($name)"
            wait_log r 'received DELETE for ESP CHILD_SA' $n_child
            ;;
        ike)
            n_ike=$((n_ike + 1))
            swan i --rekey --ike cap || die "IKE rekey failed ($name)"
            wait_log r 'IKE_SA deleted' $n_ike
            ;;
        term)
            n_ike=$((n_ike + 1))
            swan i --terminate --ike cap --timeout 10 || die "terminate failed ($name)"
            wait_log r 'IKE_SA deleted' $n_ike
            ;;
        *) die "unknown action $a" ;;
        esac
    done
    sleep 1
    stop_all
    extract_case "$name"
}

main() {
    check_tools
    mkdir -p "$OUT"
    local cases=("$@")
    [ ${#cases[@]} -gt 0 ] || cases=(a b c)
    local c
    for c in "${cases[@]}"; do
        case $c in
        a) run_case a aes256gcm16-prfsha256-x25519 aes256gcm16-prfsha256-x25519 \
            aes256gcm16-x25519 yes child ike term ;;
        b) run_case b aes256-sha256-modp2048 aes256-sha256-modp2048 \
            aes256-sha256 no child term ;;
        # The initiator offers MODP-2048 and ECP-256 in one proposal and
        # sends its KE for MODP-2048; the responder accepts only ECP-256
        # and answers INVALID_KE_PAYLOAD, so the initiator retries.
        c) run_case c aes128-sha256-modp2048-ecp256 aes128-sha256-ecp256 \
            aes128-sha256 yes ike term ;;
        *) die "unknown case $c" ;;
        esac
    done
    write_versions
}

main "$@"
