#!/bin/bash
# tests/uml/esp-baseline.sh: proves the UML guest has working ESP before any
# rekeyd code is involved. iproute2 (`ip xfrm`) installs an AES-GCM SA pair
# and policies in transport mode between the two namespaces of lib.sh; ping
# must fail before and pass after, and the SA byte counters must rise.
# Runs inside the guest only (interop/uml/run); it must not touch the host.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

if [ "$(cat /proc/sys/kernel/osrelease 2>/dev/null)" = "$(uname -r)" ] &&
    ! grep -q '^esp4 ' /proc/modules; then
    echo "FAIL: esp4 is not loaded: run this under interop/uml/run"
    exit 1
fi

echo "== baseline: ESP transport mode installed by iproute2"
check "namespaces, veth and filters come up" netns_up
check "plain ICMP is dropped before any SA" ping_fails "$L" "$L_OUT" "$R_OUT"

key_lr=0x$(printf '%072x' 1 | sed 's/0/a/g')   # 36 octets: 32 key + 4 salt
key_rl=0x$(printf '%072x' 2 | sed 's/0/b/g')
aead="rfc4106(gcm(aes))"
ok=1
for ns in "$L" "$R"; do
    ip -n "$ns" xfrm state add src "$L_OUT" dst "$R_OUT" proto esp spi 0x1001 \
        reqid 1 mode transport aead "$aead" "$key_lr" 128 || ok=0
    ip -n "$ns" xfrm state add src "$R_OUT" dst "$L_OUT" proto esp spi 0x2001 \
        reqid 1 mode transport aead "$aead" "$key_rl" 128 || ok=0
done
for pair in "$L $L_OUT $R_OUT" "$R $R_OUT $L_OUT"; do
    # shellcheck disable=SC2086 # split the pair into ns, src, dst
    set -- $pair
    ip -n "$1" xfrm policy add src "$2/32" dst "$3/32" dir out \
        tmpl src "$2" dst "$3" proto esp reqid 1 mode transport || ok=0
    ip -n "$1" xfrm policy add src "$3/32" dst "$2/32" dir in \
        tmpl src "$3" dst "$2" proto esp reqid 1 mode transport || ok=0
done
check "ip xfrm state/policy add (rfc4106 gcm aes, transport)" [ $ok = 1 ]

xfrm_bytes before "$L" 0x1001
check "ping left -> right through ESP" ping_ok "$L" "$L_OUT" "$R_OUT" 5
xfrm_counters "$L"
out_l=${BYTES[0x00001001]:-} in_l=${BYTES[0x00002001]:-}
pk_out=${PACKETS[0x00001001]:-0} pk_in=${PACKETS[0x00002001]:-0}
xfrm_counters "$R"
in_r=${BYTES[0x00001001]:-} out_r=${BYTES[0x00002001]:-}
echo "   bytes: left out ${before:-?} -> ${out_l:-?}, right in ${in_r:-?}, right out ${out_r:-?}, left in ${in_l:-?}"
check "ESP byte counters rose on all four SAs" \
    [ "${out_l:-0}" -gt "${before:-0}" -a "${in_r:-0}" -gt 0 -a "${out_r:-0}" -gt 0 -a "${in_l:-0}" -gt 0 ]
check "5 packets each way counted (left: $pk_out out, $pk_in in)" \
    [ "$pk_out" -ge 5 -a "$pk_in" -ge 5 ]

ip -n "$L" xfrm state flush; ip -n "$L" xfrm policy flush
ip -n "$R" xfrm state flush; ip -n "$R" xfrm policy flush
check "flush leaves no SA or policy" eval 'xfrm_empty "$L" && xfrm_empty "$R"'
netns_down
summary esp-baseline
