#!/bin/bash
# rekeyd <-> rekeyd (XFRM), the peer restarted: killed -9 and its kernel flushed (a reboot), it comes back (auto=start) with INITIAL_CONTACT; our side drops the stale SAs, each kernel holds exactly the new ones, traffic flows again, diagnose says the peer restarted.
# Runs inside the UML guest (interop/run). Issue 8: "after a peer restart,
# INITIAL_CONTACT clears the stale SAs". Right "b" is the peer that
# restarts: a branch gateway with auto=start, which is what comes back on
# its own after a reboot and initiates at once (a responder-only peer would
# leave it to our DPD or traffic to find out, minutes later). Left "a" is
# our side (auto=add, the responder both times). Once traffic flows, b is
# killed with SIGKILL (no DELETE goes out) and its namespace's XFRM state
# and policies are flushed, as a reboot would leave them; a still holds the
# old IKE and Child SAs. b starts again, its IKE_AUTH carries
# INITIAL_CONTACT (it holds no IKE SA with a), and a deletes the stale SAs:
# each kernel then holds exactly the new Child SA's two ESP SAs and the
# same number of policies as before, traffic flows without loss, and
# `rekeyctl diagnose` on a names the restart and the stale SAs word for
# word. Datagrams sent while b was down are lost by definition: only the
# traffic after the restart must lose none.
. "$(dirname "$0")/../lib.sh"

diag_has() { rk_ctl "$1" diagnose t | grep -qxF -- "    $2"; }
# npol VAR NS: the number of XFRM policies in NS's kernel.
npol() {
    local _l _n=0
    while read -r _l; do [[ $_l == src\ * ]] && _n=$((_n + 1)); done < <(ip -n "$2" xfrm policy list)
    printf -v "$1" '%s' "$_n"
}

scenario_begin rekeyd/peer-restart "rekeyd <-> rekeyd (XFRM): peer killed -9 and rebooted, INITIAL_CONTACT clears the stale SAs"
p=("ike=aes256gcm16-prfsha256-x25519" "esp=aes256gcm16" "lifetime=1h" "ikelifetime=2h" "rekeymargin=5m")
rk_write_conf a left add "${p[@]}"
rk_write_conf b right start "${p[@]}"
check "our side a starts (responder)" rk_start a "$L"
check "peer b starts (auto=start)" rk_start b "$R"
check "tunnel established on both sides" wait_for 30 eval 'rk_established a && rk_established b'
settle 15 rk_agree a b
check "both sides agree on the SAs" [ "$SET_AGREE" = 1 ]
check "each kernel holds exactly the two ESP SAs" [ "$SET_KERNEL" = 1 ]
old_child=$AG_CHILD old_ike=$AG_IKE
npol pol_l "$L"; npol pol_r "$R"
note "policies: $L $pol_l, $R $pol_r"
check "traffic flows through the tunnel" traffic_start

note "kill -9 b, flush its kernel (a reboot)"
eval "bpid=\$RK_PID_b"
kill -KILL "$bpid"; wait "$bpid" 2>/dev/null
check "b's kernel flushed" eval 'in_ns "$R" ip xfrm state flush && in_ns "$R" ip xfrm policy flush && xfrm_only "$R"'
check "a still holds the stale Child SA (nothing told it)" eval 'rk_state a && [ "$RK_CHILD" = "$old_child" ]'
traffic_live
r_down=$TR_RECEIVED
rm -f "$SC_RUN/b.ctl"
t0=$SECONDS
check "b starts again" rk_start b "$R"
check "b re-establishes the tunnel" wait_for 30 eval 'rk_established b'
up_ms=${EPOCHREALTIME/./} up_ms=${up_ms:0:-3}   # when b was seen up, in ms
check "a is left with one IKE SA (stale one deleted)" wait_for 15 eval 'rk_state a && [ "$RK_N_IKE" = 1 ] && rk_established a'
note "re-established $((SECONDS - t0)) s after b's restart"
settle 15 rk_agree a b
check "both sides agree on the new SAs" [ "$SET_AGREE" = 1 ]
check "each kernel holds exactly the new Child SA's two ESP SAs, no orphan" [ "$SET_KERNEL" = 1 ]
check "new IKE and Child SPIs" [ "$AG_IKE" != "$old_ike" -a "$AG_CHILD" != "$old_child" ]
npol n "$L"
check "a's kernel holds as many policies as before ($n, was $pol_l)" [ "$n" = "$pol_l" ]
npol n "$R"
check "b's kernel holds as many policies as before ($n, was $pol_r)" [ "$n" = "$pol_r" ]

CAUSE="cause: The peer restarted: its new IKE SA carried INITIAL_CONTACT, so we deleted the stale IKE SA ${old_ike%/*}_${old_ike#*/} and its Child SA $old_child."
FIX="fix: Nothing to fix here: the tunnel was set up again; if the restart was not planned, look in the logs of $R_OUT for why it restarted."
check "diagnose on a: $CAUSE" diag_has a "$CAUSE"
check "and the fix: $FIX" diag_has a "$FIX"
rk_ctl a diagnose t >"$SC_DIR/diagnose.txt"
sed 's/^/    | /' "$SC_DIR/diagnose.txt"
check "diagnose --json names the cause peer_restarted" eval 'rk_ctl a diagnose t --json | grep -q "\"cause\":\"peer_restarted\""'

# The traffic ran throughout: what b's absence lost was sent before the
# new tunnel was up; nothing sent after may be lost.
nap 2
traffic_stop
check "traffic flows again ($TR_RECEIVED answered, $r_down before the restart)" \
    [ "$TR_RECEIVED" -gt $((r_down + 10)) ]
late=0
for t in ${TR_LOST_AT//,/ }; do [ "${t/./}" -le "$up_ms" ] || late=$((late + 1)); done
check "no datagram lost once the new tunnel was up ($TR_LOST lost, $late of them sent after)" [ "$late" = 0 ]
# Lost by definition while b was down: left out of the report's totals,
# which count only the traffic that must not lose a datagram.
SC_LOST=$((SC_LOST - TR_LOST + late))
check "no error in b's log" rk_log_clean b
scenario_end
