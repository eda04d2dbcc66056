#!/bin/bash
# interop/demo-guest.sh BUILD DURATION PEER: the guest side of interop/demo.
# Inside the UML guest: rekeyd in the left namespace initiates a tunnel to
# PEER (strongswan or rekeyd) in the right one, with short equal lifetimes
# (Child SA rekey every 10 s, IKE SA every 30 s, no fuzz: rekeys collide),
# UDP traffic with sequence numbers flowing through ESP only, and prints a
# live timeline of the rekeys (SPIs, who started them, packets lost so far)
# read from rekeyd's log, then a summary. Exit 0 when nothing was lost and
# the kernels hold only the current SAs at the end. Guest only.
IX_BUILD=${1:?usage: demo-guest.sh BUILD DURATION PEER}
DURATION=${2:-90} PEER=${3:-strongswan}
here=$(cd "$(dirname "$0")" && pwd)
export IX_BUILD
. "$here/lib.sh"
. "$here/strongswan/swan.sh"
IKE=aes256gcm16-prfsha256-x25519 ESP=aes256gcm16-x25519
[ "$PEER" = strongswan ] && ! sw_available && { echo "strongSwan is not installed: using --peer rekeyd"; PEER=rekeyd; }

scenario_begin demo "rekeyd <-> $PEER, rekeys under traffic for ${DURATION}s" >/dev/null
if [ "$PEER" = strongswan ]; then
    peer_name="$("$CHARON" --version 2>/dev/null | grep -o "strongSwan [0-9.]*") (charon)"
else
    peer_name="a second rekeyd"
fi
cat <<EOT

  left  rekeyd (initiator)      192.0.2.1  inner 10.1.0.0/24
  right $peer_name   192.0.2.2  inner 10.2.0.0/24
  IKE $IKE, ESP $ESP (PFS on every Child rekey), PSK
  Child SA rekey every 10 s, IKE SA rekey every 30 s, the same on both sides
  and no random fuzz, so both sides often start the same rekey at once.
  Traffic: UDP echo, 20 datagrams/s with sequence numbers, from 10.1.0.1 to
  10.2.0.1 and back; plaintext from the other subnet is dropped, so every
  datagram answered went through ESP both ways.

EOT
rk_write_conf a left start "ike=$IKE" "esp=$ESP" lifetime=15s ikelifetime=35s rekeymargin=5s rekeyfuzz=0%
if [ "$PEER" = strongswan ]; then
    sw_write_conf s right none "$IKE" "$ESP" 30 10 15
    sw_start s "$R" || { echo "charon did not start"; exit 1; }
    at_end 'sw_stop s'
else
    rk_write_conf b right add "ike=$IKE" "esp=$ESP" lifetime=15s ikelifetime=35s rekeymargin=5s rekeyfuzz=0%
    rk_start b "$R" || { echo "rekeyd (right) did not start"; exit 1; }
fi
rk_start a "$L" || { echo "rekeyd (left) did not start"; exit 1; }
if ! wait_for 40 rk_established a; then
    echo "the tunnel did not come up; rekeyd's log:"; tail -20 "$SC_DIR/a.log"; exit 1
fi
traffic_start || { echo "no traffic through the tunnel"; exit 1; }
T0=$SECONDS
printf '  %6s  %-34s %-40s %s\n' time event "SPIs (rekeyd's view: in/out)" "traffic so far"
row() { # row EVENT SPIS
    traffic_live
    printf '  %5ss  %-34s %-40s %s sent, %s lost\n' "$((SECONDS - T0))" "$1" "$2" "$TR_SENT" "$TR_LOST"
}
rk_state a
row "tunnel up" "IKE ${RK_IKE%%/*}.. Child $RK_CHILD"

# Follow rekeyd's log (lib.sh starts it with -d -f into SC_DIR/a.log).
exec {LOG}<"$SC_DIR/a.log"
n_child=0 n_ike=0 n_coll=0 n_fail=0 ours_child=0 ours_ike=0 next_tick=$((T0 + 15))
re_ev='event ([A-Z_]+) conn=t ike=([0-9a-f]+)/([0-9a-f]+) child=([0-9a-f]+)/([0-9a-f]+) old=([0-9a-f]+) err=(.*)'
while [ $((SECONDS - T0)) -lt "$DURATION" ]; do
    while read -r -u "$LOG" line; do
        if [[ $line == *'Child SA'*'(rekey started)'* ]]; then ours_child=1
        elif [[ $line == *'IKE SA'*'(rekey started)'* ]]; then ours_ike=1
        elif [[ $line == *'rekey collision'* ]]; then
            n_coll=$((n_coll + 1))
            [[ $line == *'IKE SA'* ]] && what=IKE || what=Child
            row "  $what rekey collision" "both sides started; lowest nonce loses"
        elif [[ $line =~ $re_ev ]]; then
            case ${BASH_REMATCH[1]} in
            CHILD_REKEYED)
                n_child=$((n_child + 1))
                by=peer; [ $ours_child = 1 ] && by=rekeyd; ours_child=0
                row "Child SA rekeyed (#$n_child, by $by)" "${BASH_REMATCH[4]}/${BASH_REMATCH[5]} (old in ${BASH_REMATCH[6]})" ;;
            IKE_REKEYED)
                n_ike=$((n_ike + 1))
                by=peer; [ $ours_ike = 1 ] && by=rekeyd; ours_ike=0
                row "IKE SA rekeyed (#$n_ike, by $by)" "IKE ${BASH_REMATCH[2]}/${BASH_REMATCH[3]}" ;;
            REKEY_FAILED | CHILD_FAILED)
                n_fail=$((n_fail + 1))
                row "${BASH_REMATCH[1]}" "err=${BASH_REMATCH[7]}" ;;
            IKE_DOWN) # an old or redundant IKE SA going is normal; with an error it is not
                if [ "${BASH_REMATCH[7]}" != none ]; then
                    n_fail=$((n_fail + 1))
                    row "IKE_DOWN" "err=${BASH_REMATCH[7]}"
                fi ;;
            esac
        fi
    done
    if [ $SECONDS -ge $next_tick ]; then
        row "(traffic)" ""
        next_tick=$((next_tick + 15))
    fi
    nap 0.5
done
traffic_stop >/dev/null
rk_state a
ok=1
wait_for 15 eval 'rk_established a && kernels_hold "$RK_CHILD" >/dev/null' || ok=0
kern_l= kern_r=
xfrm_spis kern_l "$L"; xfrm_spis kern_r "$R"
cat <<EOT

  Summary after $((SECONDS - T0)) s
    Child SA rekeys   $n_child (rekeyd's lineage counter: ${RK_CHILD_REKEYS:-?}), collisions resolved: $n_coll
    IKE SA rekeys     $n_ike (counter: ${RK_IKE_REKEYS:-?})
    failures          $n_fail
    traffic           $TR_SENT datagrams sent, $TR_RECEIVED answered, $TR_LOST lost
    kernels now       left: $kern_l  right: $kern_r (only the current Child SA: $([ $ok = 1 ] && echo yes || echo NO))
    logs              $SC_DIR
EOT
[ "$TR_LOST" = 0 ] && [ $ok = 1 ] && [ $n_fail = 0 ] || ok=0
pass demo >/dev/null
scenario_end >/dev/null
[ $ok = 1 ]
