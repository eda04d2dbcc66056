#!/bin/bash
# tests/uml/xfrm-backend.sh: the XFRM backend (src/kernel/xfrm.c) against a
# kernel with real ESP, inside the UML guest (interop/uml/run). For each
# algorithm family and in tunnel and transport mode, the backend's CLI
# (tests/unit/kernel/xfrm-setup) installs a matching SA pair and policies in
# the two namespaces of lib.sh; then: ping answers only through ESP, the ESP
# counters rise both in `ip -s xfrm state` and in the backend's own GETSA
# (--show-stats), tiny byte limits make the kernel send soft then hard EXPIRE
# events that the backend parses (--watch-events), and --delete-all leaves
# no SA and no policy. One PASS/FAIL line per check; exit 1 on any failure.
#
#   xfrm-backend.sh XFRM_SETUP [ALG[,ALG...]|all] [tunnel|transport|all]
# Runs inside the guest only; it must not touch the host.
here=$(cd "$(dirname "$0")" && pwd)
[ -n "${XB_TRACE:-}" ] && { export PS4='+ $(cut -d" " -f1 /proc/uptime) '; set -x; }
. "$here/lib.sh"

tool=${1:?usage: xfrm-backend.sh XFRM_SETUP [ALGS] [MODES]}
algs=${2:-all} modes=${3:-all}
[ "$algs" = all ] && algs=aes-gcm16,aes-cbc-sha256,aes-cbc-sha1,aes-cbc-sha384,aes-cbc-sha512,chacha20poly1305
[ "$modes" = all ] && modes=tunnel,transport
if [ ! -x "$tool" ]; then
    echo "FAIL: no backend CLI at $tool"
    summary xfrm-backend
    exit 1
fi

# Byte limits: the first ping (3 echo requests, 64-84 octets each in the SA
# counter) stays under both; the burst that follows crosses soft, then hard.
SOFT=400 HARD=900
# The watchers run at most WATCH_S seconds and are stopped as soon as the
# expected events are in, or EVENT_WAIT_S after the burst.
WATCH_S=240 EVENT_WAIT_S=20
work=/tmp/xfrm-backend
mkdir -p "$work"

# stats_bytes VAR NS SPI: bytes that `xfrm-setup --show-stats SPI` reports
# ("bytes N", "bytes=N" or "bytes: N" anywhere in its output), or empty.
stats_bytes() {
    local line re='bytes[ =:]+([0-9]+)'
    printf -v "$1" '%s' ""
    in_ns "$2" "$tool" --show-stats "$3" >"$work/stats" 2>&1
    while read -r line; do
        if [[ ${line,,} =~ $re ]]; then
            printf -v "$1" '%s' "${BASH_REMATCH[1]}"
            return
        fi
    done <"$work/stats"
}

# expire_order VAR FILE SPI: the expiries --watch-events printed for SPI, in
# order ("soft,hard" is what we want). A line counts when it says "expire",
# names the SPI (0x%08x, 0x%x or decimal) and says "soft" or "hard".
expire_order() {
    local line l h8 hx dec out=
    printf -v h8 '0x%08x' "$3"; printf -v hx '0x%x' "$3"; dec=$(($3))
    while read -r line; do
        l=" ${line,,} "
        [[ $l == *expire* ]] || continue
        [[ $l == *"$h8"* || $l =~ [^0-9a-fx]($hx|$dec)[^0-9a-f] ]] || continue
        if [[ $l == *hard* ]]; then out+=${out:+,}hard
        elif [[ $l == *soft* ]]; then out+=${out:+,}soft
        fi
    done <"$2"
    printf -v "$1" '%s' "$out"
}

# one_case ALG MODE N: install, ping, counters, expiries, delete.
one_case() {
    local alg=$1 mode=$2 n=$3 tag="$1/$2"
    local spi_lr=$((0xc0de0000 + n * 16 + 1)) spi_rl=$((0xc0de0000 + n * 16 + 2))
    local lsrc=$L_OUT rdst=$R_OUT rsrc=$R_OUT ldst=$L_OUT largs=() rargs=()
    local h_lr h_rl t0=$SECONDS
    hexspi h_lr $spi_lr; hexspi h_rl $spi_rl
    if [ "$mode" = tunnel ]; then
        lsrc=$L_IN rdst=$R_IN rsrc=$R_IN ldst=$L_IN
        largs=(--local-subnet "$L_NET" --remote-subnet "$R_NET")
        rargs=(--local-subnet "$R_NET" --remote-subnet "$L_NET")
    fi
    echo "== $tag: SPIs $h_lr (left->right) $h_rl (right->left)"

    # The watchers subscribe before any SA exists: their first line
    # ("watching ...") comes once the event socket is open.
    : >"$work/ev-l"; : >"$work/ev-r"
    # (nsenter directly, not in_ns: $! must be the watcher itself for kill)
    nsenter --net="/run/netns/$L" "$tool" --watch-events $WATCH_S >"$work/ev-l" 2>&1 &
    local wl=$!
    nsenter --net="/run/netns/$R" "$tool" --watch-events $WATCH_S >"$work/ev-r" 2>&1 &
    local wr=$!
    local waited=0
    while [ ! -s "$work/ev-l" ] || [ ! -s "$work/ev-r" ]; do
        [ $waited -lt 100 ] || break
        nap 0.2; waited=$((waited + 1))
    done

    local ok=1
    in_ns "$L" "$tool" --src "$L_OUT" --dst "$R_OUT" --spi-out $spi_lr \
        --spi-in $spi_rl --alg "$alg" --mode "$mode" "${largs[@]}" \
        --soft-bytes $SOFT --hard-bytes $HARD >"$work/out" 2>&1 || ok=0
    in_ns "$R" "$tool" --src "$R_OUT" --dst "$L_OUT" --spi-out $spi_rl \
        --spi-in $spi_lr --alg "$alg" --mode "$mode" "${rargs[@]}" \
        --soft-bytes $SOFT --hard-bytes $HARD >>"$work/out" 2>&1 || ok=0
    [ $ok = 1 ] || while read -r l; do echo "   xfrm-setup: $l"; done <"$work/out"
    check "$tag: xfrm-setup installs the SA pair and policies on both sides" [ $ok = 1 ]

    check "$tag: ping $lsrc -> $rdst answers through ESP" ping_ok "$L" "$lsrc" "$rdst" 3

    local ip_out ip_in st_out st_in
    xfrm_counters "$L"
    ip_out=${BYTES[$h_lr]:-} ip_in=${BYTES[$h_rl]:-}
    stats_bytes st_out "$L" $spi_lr
    stats_bytes st_in "$L" $spi_rl
    echo "   left bytes: out ip=${ip_out:-?} getsa=${st_out:-?}, in ip=${ip_in:-?} getsa=${st_in:-?}"
    check "$tag: ESP counters rose in ip -s xfrm state (out and in)" \
        [ "${ip_out:-0}" -gt 0 -a "${ip_in:-0}" -gt 0 ]
    check "$tag: --show-stats (GETSA) bytes equal the kernel's (out and in)" \
        [ -n "$st_out" -a "$st_out" = "$ip_out" -a -n "$st_in" -a "$st_in" = "$ip_in" ]

    # A burst both ways crosses soft, then hard, on both outbound SAs (an
    # SA only expires when a packet meets it past the limit, so replies
    # alone would leave the right outbound SA short of its hard expiry).
    nsenter --net="/run/netns/$L" ping -q -n -c 16 -i 0.05 -W 0.5 -I "$lsrc" "$rdst" >/dev/null 2>&1 &
    local pl=$!
    in_ns "$R" ping -q -n -c 16 -i 0.05 -W 0.5 -I "$rsrc" "$ldst" >/dev/null 2>&1
    wait $pl
    local ev_l ev_r deadline=$((SECONDS + EVENT_WAIT_S))
    while :; do
        expire_order ev_l "$work/ev-l" $spi_lr
        expire_order ev_r "$work/ev-r" $spi_rl
        [ "$ev_l" = soft,hard ] && [ "$ev_r" = soft,hard ] && break
        [ $SECONDS -lt $deadline ] || break
        nap 0.3
    done
    kill $wl $wr 2>/dev/null
    wait $wl $wr 2>/dev/null
    expire_order ev_l "$work/ev-l" $spi_lr
    expire_order ev_r "$work/ev-r" $spi_rl
    echo "   expire events: left $h_lr: ${ev_l:-none}; right $h_rl: ${ev_r:-none}"
    if [ "$ev_l" != soft,hard ] || [ "$ev_r" != soft,hard ]; then
        while read -r l; do echo "   left events: $l"; done <"$work/ev-l"
        while read -r l; do echo "   right events: $l"; done <"$work/ev-r"
    fi
    check "$tag: EXPIRE soft then hard for the left outbound SA $h_lr" [ "$ev_l" = soft,hard ]
    check "$tag: EXPIRE soft then hard for the right outbound SA $h_rl" [ "$ev_r" = soft,hard ]
    # Pings from the right still arrive and the answers hit the outbound
    # policy pinned to the expired SPI: the kernel then shows a larval SA
    # (no keys) with that SPI for its ACQUIRE; the keyed SA must be gone.
    xfrm_counters "$L"
    check "$tag: the hard expiry removed the keyed SA $h_lr from the kernel" \
        [ -n "$ip_out" -a -z "${KEYED[$h_lr]:-}" -a -n "${KEYED[$h_rl]:-}" ]

    ok=1
    in_ns "$L" "$tool" --delete-all >"$work/out" 2>&1 || ok=0
    in_ns "$R" "$tool" --delete-all >>"$work/out" 2>&1 || ok=0
    [ $ok = 1 ] || while read -r l; do echo "   xfrm-setup: $l"; done <"$work/out"
    check "$tag: --delete-all leaves ip xfrm state and policy empty on both sides" \
        eval '[ $ok = 1 ] && xfrm_empty "$L" && xfrm_empty "$R"'
    echo "   ($tag took $((SECONDS - t0)) s)"
}

check "namespaces, veth and filters come up" netns_up
check "plain ICMP between the inner subnets is dropped" ping_fails "$L" "$L_IN" "$R_IN"
n=0
for mode in ${modes//,/ }; do
    for alg in ${algs//,/ }; do
        n=$((n + 1))
        one_case "$alg" "$mode" $n
        # Leave a clean kernel for the next case even if this one failed.
        xfrm_empty "$L" && xfrm_empty "$R" || {
            ip -n "$L" xfrm state flush; ip -n "$L" xfrm policy flush
            ip -n "$R" xfrm state flush; ip -n "$R" xfrm policy flush
        }
    done
done
netns_down
summary xfrm-backend
