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

in_l() { ip netns exec "$L" "$@"; }
in_r() { ip netns exec "$R" "$@"; }

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
    ip netns exec "$1" iptables-legacy -A INPUT -p icmp \
        -m policy --dir in --pol none -j DROP
}

netns_down() {
    ip netns del "$L" 2>/dev/null
    ip netns del "$R" 2>/dev/null
    return 0
}

# ping_ok NS SRC DST [COUNT]: COUNT echo requests all answered.
ping_ok() {
    ip netns exec "$1" ping -q -n -c "${4:-3}" -i 0.1 -W 1 -I "$2" "$3" >/dev/null 2>&1
}
# ping_fails NS SRC DST: no answer to 2 requests.
ping_fails() {
    ! ip netns exec "$1" ping -q -n -c 2 -i 0.1 -W 1 -w 2 -I "$2" "$3" >/dev/null 2>&1
}

# xfrm_bytes NS SPI: the kernel's byte counter of the ESP SA with that SPI
# (hex or decimal), from `ip -s xfrm state`; empty when no such SA.
xfrm_bytes() {
    local spi
    spi=$(printf '0x%08x' "$2")
    ip -n "$1" -s xfrm state list spi "$spi" 2>/dev/null |
        awk '/lifetime current:/ { cur = 1; next }
             cur && /\(bytes\)/ { sub(/\(bytes\).*/, ""); gsub(/[ \t]/, ""); print; exit }'
}
# xfrm_packets NS SPI: the same for the packet counter.
xfrm_packets() {
    local spi
    spi=$(printf '0x%08x' "$2")
    ip -n "$1" -s xfrm state list spi "$spi" 2>/dev/null |
        awk '/lifetime current:/ { cur = 1; next }
             cur && /\(packets\)/ { sub(/^.*\(bytes\), */, ""); sub(/\(packets\).*/, ""); gsub(/[ \t]/, ""); print; exit }'
}

# xfrm_empty NS: no SA and no policy left in that namespace.
xfrm_empty() {
    [ -z "$(ip -n "$1" xfrm state list)" ] && [ -z "$(ip -n "$1" xfrm policy list)" ]
}
