# shellcheck shell=bash
# tests/uml/lib.sh: helpers for the ESP tests that run inside the User-Mode
# Linux guest (interop/uml/run). Sourced, not executed.
#
# Topology made by netns_up, all inside the guest:
#   left  [dummy0 10.1.0.1/24]  veth "vl" 192.0.2.1/24
#          <------ veth ------>
#   right [dummy0 10.2.0.1/24]  veth "vr" 192.0.2.2/24
# Each side routes the other's inner subnet over the veth, and iptables-legacy
# drops every ICMP packet that arrives without IPsec (policy match "none"),
# so a ping answers only when it went through ESP both ways. UML has no
# nf_tables for ip/inet, hence iptables-legacy.
# These helpers must only touch the guest (namespaces, tmpfs), never the host.

L=left R=right
L_OUT=192.0.2.1 R_OUT=192.0.2.2
L_IN=10.1.0.1 R_IN=10.2.0.1
L_NET=10.1.0.0/24 R_NET=10.2.0.0/24

n_pass=0 n_fail=0
pass() { n_pass=$((n_pass + 1)); echo "PASS: $*"; }
fail() { n_fail=$((n_fail + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: run the command, PASS or FAIL the check.
check() {
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# summary NAME: last line of a test script; exit status 1 on any failure.
# The totals line has Check's format so tests/run counts these checks too.
summary() {
    echo "$1: $n_pass checks passed, $n_fail failed"
    echo "$1: Checks: $((n_pass + n_fail)), Failures: $n_fail, Errors: 0"
    [ "$n_fail" = 0 ] && [ "$n_pass" -gt 0 ]
}

# in_ns NS CMD...: run CMD in the network namespace NS. nsenter is a bit
# cheaper than `ip netns exec`, which also remounts /sys.
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

netns_up() {
    netns_down
    ip netns add "$L" && ip netns add "$R" || return 1
    ip link add vl netns "$L" type veth peer name vr netns "$R" || return 1
    # One `ip -batch` per side: every process start costs ~0.15 s in UML.
    netns_side "$L" vl "$L_OUT" "$L_IN" "$R_NET" || return 1
    netns_side "$R" vr "$R_OUT" "$R_IN" "$L_NET" || return 1
}

# netns_side NS DEV OUTER_ADDR INNER_ADDR PEER_INNER_NET
netns_side() {
    ip -n "$1" -batch - <<EOB || return 1
link set lo up
addr add $3/24 dev $2
link set $2 up
link add dummy0 type dummy
addr add $4/24 dev dummy0
link set dummy0 up
route add $5 dev $2 src $4
EOB
    # The route above is needed for the lookup that precedes the policy
    # lookup; this filter keeps plaintext ICMP from using it.
    in_ns "$1" iptables-legacy -A INPUT -p icmp \
        -m policy --dir in --pol none -j DROP
}

netns_down() {
    ip netns del "$L" 2>/dev/null
    ip netns del "$R" 2>/dev/null
    return 0
}

# ping_ok NS SRC DST [COUNT]: COUNT echo requests all answered.
ping_ok() {
    in_ns "$1" ping -q -n -c "${4:-3}" -i 0.1 -W 1 -I "$2" "$3" >/dev/null 2>&1
}
# ping_fails NS SRC DST: no answer to 2 requests.
ping_fails() {
    ! in_ns "$1" ping -q -n -c 2 -i 0.1 -W 1 -w 2 -I "$2" "$3" >/dev/null 2>&1
}

# Every process start costs 0.1-0.3 s in UML (more when the host is busy),
# so the helpers below parse with bash builtins instead of awk and $(...).

# xfrm_counters NS: read `ip -s xfrm state` of NS once into BYTES[spi] and
# PACKETS[spi], keyed by the SPI as 0x%08x, and KEYED[spi]=1 for SAs that
# hold keys (a larval SA the kernel makes for an ACQUIRE has none).
declare -A BYTES PACKETS KEYED
xfrm_counters() {
    local f=/tmp/.xfrm-counters.$1 line spi='' kspi=''
    BYTES=() PACKETS=() KEYED=()
    ip -n "$1" -s xfrm state list >"$f" 2>/dev/null || return 1
    while read -r line; do
        if [[ $line =~ proto\ esp\ spi\ (0x[0-9a-f]+) ]]; then
            spi=${BASH_REMATCH[1]} kspi=$spi
        elif [[ -n $kspi && $line =~ ^(aead|enc|auth|auth-trunc)\  ]]; then
            KEYED[$kspi]=1
        elif [[ -n $spi && $line =~ ^([0-9]+)\(bytes\),\ *([0-9]+)\(packets\) ]]; then
            BYTES[$spi]=${BASH_REMATCH[1]} PACKETS[$spi]=${BASH_REMATCH[2]}
            spi=
        fi
    done <"$f"
}

# hexspi VAR N: VAR=N as 0x%08x, the way ip prints SPIs (no fork).
hexspi() { printf -v "$1" '0x%08x' "$2"; }

# xfrm_bytes VAR NS SPI / xfrm_packets VAR NS SPI: one SA's counter into
# VAR; empty when the SA does not exist.
xfrm_bytes() {
    local k; hexspi k "$3"; xfrm_counters "$2"; printf -v "$1" '%s' "${BYTES[$k]:-}"
}
xfrm_packets() {
    local k; hexspi k "$3"; xfrm_counters "$2"; printf -v "$1" '%s' "${PACKETS[$k]:-}"
}

# xfrm_empty NS: no SA and no policy left in that namespace (one process).
xfrm_empty() {
    local f=/tmp/.xfrm-empty.$1
    printf 'xfrm state list\nxfrm policy list\n' | ip -n "$1" -batch - >"$f" && [ ! -s "$f" ]
}

# nap SECONDS: sleep without starting a process (read times out on a pipe
# that never delivers).
exec {NAP_FD}<> <(:)
nap() { read -r -t "$1" -u "$NAP_FD" _nap; return 0; }
