#!/bin/sh
# capture.sh: record the netlink requests iproute2's `ip xfrm` sends, as
# the independent reference for the golden-byte tests of
# src/kernel/xfrm_msg.c (tests/unit/kernel/test_xfrm_msg.c).
#
# Each command runs in a throw-away network namespace under
#   strace -qq -e trace=sendmsg,sendto -e write=all
# and the hex dump strace prints of the one message sent is stored as
# NAME.hex (16 bytes a line, '#' lines are comments). The kernel may refuse
# the request (the host has no ESP): only the bytes sent matter.
#
# Usage (root): tests/data/xfrm/capture.sh [OUTDIR]
set -eu
out=${1:-$(dirname "$0")}
ns=xfrmcap$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT

# Keys: encryption key bytes 00 01 02 ..., integrity key bytes 80 81 82 ...
ekey() { i=0; s=0x; while [ $i -lt "$1" ]; do s=$s$(printf '%02x' $i); i=$((i + 1)); done; echo $s; }
akey() { i=0; s=0x; while [ $i -lt "$1" ]; do s=$s$(printf '%02x' $((128 + i))); i=$((i + 1)); done; echo $s; }

cap() { # name, ip xfrm arguments...
    name=$1; shift
    {
        echo "# ip xfrm $*"
        echo "# $(ip -V), captured $(date -u +%Y-%m-%d)"
        ip netns exec "$ns" strace -qq -e trace=sendmsg,sendto -e write=all ip xfrm "$@" 2>&1 >/dev/null |
            awk '/^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  /{ s = substr($0, 11, 49); gsub(/  +/, " ", s); sub(/^ /, "", s); sub(/ +$/, "", s); print s }'
    } > "$out/$name.hex"
    echo "captured $name ($(grep -vc '^#' "$out/$name.hex") lines)"
}

S4="src 192.0.2.1 dst 192.0.2.2"
S6="src 2001:db8::1 dst 2001:db8::2"
GCM="aead rfc4106(gcm(aes)) $(ekey 36) 128"
SPI="proto esp spi 0xc0000001 reqid 7"

cap sa_gcm16_tunnel state add $S4 $SPI mode tunnel replay-window 32 $GCM
cap sa_gcm8_transport state add $S4 $SPI mode transport aead 'rfc4106(gcm(aes))' $(ekey 20) 64
cap sa_gcm12_v6 state add $S6 $SPI mode tunnel replay-window 64 aead 'rfc4106(gcm(aes))' $(ekey 28) 96
cap sa_cbc_sha1 state add $S4 $SPI mode tunnel replay-window 32 enc 'cbc(aes)' $(ekey 16) auth-trunc 'hmac(sha1)' $(akey 20) 96
cap sa_cbc_sha256 state add $S4 $SPI mode transport enc 'cbc(aes)' $(ekey 32) auth-trunc 'hmac(sha256)' $(akey 32) 128
cap sa_cbc_sha384 state add $S4 $SPI mode tunnel enc 'cbc(aes)' $(ekey 24) auth-trunc 'hmac(sha384)' $(akey 48) 192
cap sa_cbc_sha512 state add $S4 $SPI mode tunnel enc 'cbc(aes)' $(ekey 32) auth-trunc 'hmac(sha512)' $(akey 64) 256
cap sa_chacha state add $S4 $SPI mode tunnel replay-window 32 aead 'rfc7539esp(chacha20,poly1305)' $(ekey 36) 128
cap sa_esn state add $S4 $SPI mode tunnel flag esn replay-window 128 $GCM
cap sa_natt state add $S4 $SPI mode tunnel replay-window 32 $GCM encap espinudp 4500 4500 0.0.0.0
cap sa_limits state add $S4 $SPI mode tunnel $GCM limit time-soft 100 limit time-hard 200 limit byte-soft 1000 limit byte-hard 2000 limit packet-soft 10 limit packet-hard 20
cap sa_mark_ifid state add $S4 $SPI mode tunnel $GCM mark 0x10 mask 0xff if_id 5
cap sa_sel state add $S4 $SPI mode transport $GCM sel src 10.1.0.0/16 dst 10.2.0.0/16 proto tcp dport 443
cap sa_update state update $S4 $SPI mode tunnel replay-window 32 $GCM
cap sa_delete state delete dst 192.0.2.2 proto esp spi 0xc0000001
cap sa_get state get dst 192.0.2.2 proto esp spi 0xc0000001
cap allocspi state allocspi $S4 proto esp min 0xc0000000 max 0xcfffffff

TM="tmpl $S4 proto esp reqid 7 mode tunnel"
PS="src 10.1.0.0/16 dst 10.2.0.0/16"
cap pol_out_tunnel policy add $PS dir out priority 100 $TM
cap pol_out_pinned policy add $PS dir out priority 100 tmpl $S4 proto esp spi 0xc0000001 reqid 7 mode tunnel
cap pol_in_tunnel policy add src 10.2.0.0/16 dst 10.1.0.0/16 dir in priority 100 tmpl src 192.0.2.2 dst 192.0.2.1 proto esp reqid 7 mode tunnel
cap pol_fwd_tunnel policy add src 10.2.0.0/16 dst 10.1.0.0/16 dir fwd priority 100 tmpl src 192.0.2.2 dst 192.0.2.1 proto esp reqid 7 mode tunnel
cap pol_transport policy add src 192.0.2.1/32 dst 192.0.2.2/32 proto tcp dport 443 dir out tmpl proto esp reqid 9 mode transport
cap pol_mark_ifid policy add $PS dir out mark 0x1 mask 0xff if_id 3 $TM
cap pol_v6 policy add src 2001:db8:1::/48 dst 2001:db8:2::/48 dir out tmpl $S6 proto esp reqid 7 mode tunnel
cap pol_block policy add $PS dir out action block
cap pol_update policy update $PS dir out priority 100 tmpl $S4 proto esp spi 0xc0000002 reqid 7 mode tunnel
cap pol_delete policy delete $PS dir out
cap pol_delete_mark policy delete $PS dir out mark 0x1 mask 0xff

# Requests for tests and tools: flush and dumps.
cap flush_sa state flush proto esp
cap flush_policy policy flush
cap dump_sa state list
cap dump_policy policy list
