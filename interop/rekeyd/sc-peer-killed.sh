#!/bin/bash
# rekeyd <-> rekeyd (XFRM), the peer killed for good (kill -9, its host drops everything incl. ESP): DPD declares it dead, diagnose says dead peer word for word, dpdaction=clear leaves our kernel with no SA and no policy.
# Runs inside the UML guest (interop/run). Issue 8: "after a dead peer,
# the configured action runs and the kernel holds no orphan SAs or
# policies". Left "a" is our side (auto=start, dpddelay=2s,
# dpdaction=clear, and a short retransmit budget: retransmit_timeout=500ms,
# retransmit_tries=3, about 6 s instead of the default 165 s, so the
# scenario stays short); right "b" is the peer. Once traffic flows, b is
# killed with SIGKILL and its namespace drops every packet both ways
# (iptables-legacy DROP on INPUT and OUTPUT, ESP included): the host is
# gone, though its kernel still holds the SAs b left behind. a's DPD goes
# unanswered, no ESP arrives either, and a declares the peer dead: the IKE
# SA goes, `rekeyctl diagnose` says so word for word, and with
# dpdaction=clear a's kernel holds no SA and no policy, and a does not
# initiate again.
. "$(dirname "$0")/../lib.sh"

diag_has() { rk_ctl "$1" diagnose t | grep -qxF -- "    $2"; }
# no_xfrm NS: NS's kernel holds no XFRM state and no policy (prints them).
no_xfrm() {
    local st pol
    st=$(ip -n "$1" xfrm state list) pol=$(ip -n "$1" xfrm policy list)
    echo "    kernel $1: $(grep -c '^src' <<<"$st") states, $(grep -c '^src' <<<"$pol") policies"
    [ -z "$st" ] && [ -z "$pol" ]
}

scenario_begin rekeyd/peer-killed "rekeyd <-> rekeyd (XFRM): peer killed for good, dead peer named, dpdaction=clear leaves no kernel state"
p=("ike=aes256gcm16-prfsha256-x25519" "esp=aes256gcm16" "lifetime=1h" "ikelifetime=2h" "rekeymargin=5m")
rk_write_conf a left start "${p[@]}" dpddelay=2s dpdaction=clear retransmit_timeout=500ms retransmit_tries=3
rk_write_conf b right add "${p[@]}"
check "peer b starts" rk_start b "$R"
check "our side a starts (auto=start, dpddelay=2s, dpdaction=clear)" rk_start a "$L"
check "tunnel established on both sides" wait_for 30 eval 'rk_established a && rk_established b'
settle 15 rk_agree a b
check "both sides agree on the SAs" [ "$SET_AGREE" = 1 ]
check "each kernel holds exactly the two ESP SAs" [ "$SET_KERNEL" = 1 ]
check "traffic flows through the tunnel" traffic_start

note "kill -9 b; b's namespace drops everything (ESP too)"
eval "bpid=\$RK_PID_b"
kill -KILL "$bpid"; wait "$bpid" 2>/dev/null
check "b's host gone: DROP all in $R" eval 'in_ns "$R" iptables-legacy -I INPUT -j DROP && in_ns "$R" iptables-legacy -I OUTPUT -j DROP'
t0=$SECONDS
check "a declares the peer dead (no IKE SA left)" wait_for 40 eval 'rk_state a && [ "$RK_N_IKE" = 0 ]'
note "declared dead $((SECONDS - t0)) s after the kill"
traffic_stop
check "traffic had flowed before the kill ($TR_RECEIVED answered)" [ "$TR_RECEIVED" -gt 0 ]
# Lost by definition once b is gone: left out of the report's lost total.
note "datagrams lost after the kill: $TR_LOST (expected, not in the report's lost total)"
SC_LOST=$((SC_LOST - TR_LOST))
CAUSE="cause: Liveness check (DPD) failed: no answer to our IKE request after 3 retransmits and no ESP from the peer either: the peer is down or unreachable."
FIX="fix: Check that the peer $R_OUT is running and reachable from $L_OUT (UDP 500, 4500 and ESP)."
check "diagnose on a: $CAUSE" diag_has a "$CAUSE"
check "and the fix: $FIX" diag_has a "$FIX"
rk_ctl a diagnose t >"$SC_DIR/diagnose.txt"
sed 's/^/    | /' "$SC_DIR/diagnose.txt"
check "diagnose --json names the cause dead_peer" eval 'rk_ctl a diagnose t --json | grep -q "\"cause\":\"dead_peer\""'
check "dpdaction=clear: a's kernel holds no SA and no policy" no_xfrm "$L"
nap 2
check "and a does not initiate again (clear, not restart)" eval 'rk_state a && [ "$RK_N_IKE" = 0 ] && ! grep -q "re-establishing" "$SC_DIR/a.log"'
check "a exits 0 on SIGTERM" rk_stop a
scenario_end
