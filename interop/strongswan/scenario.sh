# shellcheck shell=bash
# interop/strongswan/scenario.sh: the body shared by the rekeyd <-> strongSwan
# scenarios (sc-*.sh set the parameters and call sw_scenario). rekeyd "a"
# runs in the left namespace, charon "s" in the right one.
#
#   sw_scenario NAME ROLE IKE ESP1 ESP2
#     ROLE    initiator|responder: rekeyd's role in the initial exchange
#     IKE     IKE proposal (same syntax for both)
#     ESP1    ESP proposal of phase 1 (manual rekeys)
#     ESP2    ESP proposal of phase 2 (automatic colliding rekeys)
#
# Phase 1, long lifetimes: rekeyctl rekey --child, swanctl --rekey --child,
#   rekeyctl rekey --ike, swanctl --rekey --ike; after each the SPIs changed
#   as expected, both sides list the same SAs and the old SAs are gone
#   from both kernels; SIGTERM to rekeyd: exit 0, both kernels empty
#   (charon deleted its side on our DELETEs).
# Phase 2: equal lifetimes and no fuzz on both sides (Child rekey at 10 s,
#   IKE at 25 s) for AUTO_S seconds: rekeyd's lineage counters match the
#   elapsed time, both sides end on the same SAs, old SAs gone.
# Traffic flows through both phases: zero lost datagrams. No error in either
# log. Sourced after lib.sh and swan.sh.
AUTO_S=${AUTO_S:-40}

sw_up() { # sw_up ROLE: establish (rekeyd auto=start, or swanctl --initiate)
    if [ "$1" = responder ]; then
        sw_ctl s --initiate --child t --timeout 30 >>"$SC_DIR/s/swanctl.out" 2>&1 || return 1
    fi
    wait_for 30 eval 'rk_established a' && wait_for 10 eval 'sw_state s; [ -n "$SW_CHILD" ]'
}

sw_phase1() {
    local role=$1 ike=$2 esp=$3 auto=add step who kind before_ch before_ike ag
    [ "$role" = initiator ] && auto=start
    echo "-- phase 1: rekeyd $role, ike=$ike esp=$esp, manual rekeys from both sides"
    rk_write_conf a left $auto "ike=$ike" "esp=$esp" lifetime=1h ikelifetime=2h rekeymargin=5m
    sw_write_conf s right none "$ike" "$esp" 7200 3600 5400
    check "charon starts and loads its config" sw_start s "$R"
    check "rekeyd starts" rk_start a "$L"
    check "tunnel established (rekeyd $role)" sw_up "$role"
    settle 15 rk_sw_agree a s
    check "both sides list the same SAs" [ $SET_AGREE = 1 ]
    check "traffic flows through the tunnel" traffic_start
    P1_CHILD=0 P1_IKE=0
    for step in "a child" "s child" "a ike" "s ike"; do
        read -r who kind <<<"$step"
        before_ch=$AG_CHILD before_ike=$AG_IKE
        if [ "$who" = a ]; then
            note "rekeyctl rekey t --$kind"
            check "rekeyctl rekey --$kind accepted" rk_ctl a rekey t --"$kind" >/dev/null
        else
            note "swanctl --rekey --$kind t"
            check "swanctl --rekey --$kind accepted" sw_ctl s --rekey --"$kind" t >>"$SC_DIR/s/swanctl.out" 2>&1
        fi
        if [ "$kind" = child ]; then P1_CHILD=$((P1_CHILD + 1)); else P1_IKE=$((P1_IKE + 1)); fi
        check "rekeyd counted it (child=$P1_CHILD ike=$P1_IKE)" rk_wait_rekeys a $P1_CHILD $P1_IKE 30
        # Wait for the old SAs to leave both kernels too before the next
        # step: charon keeps a rekeyed Child SA's inbound SA for its
        # delete_rekeyed_delay (5 s), and an IKE rekey inside that delay
        # made charon 5.9.8 lose the job that removes it ("CHILD_SA {2}
        # not found for delete"; the SA stayed in its kernel) when a loaded
        # host stretched the steps.
        settle 25 rk_sw_agree a s >/dev/null
        note "rekeyd: IKE $AG_IKE Child $AG_CHILD; charon: IKE $SW_IKE Child $SW_CHILD"
        check "both sides list the same SAs after the $kind rekey by $who" [ $SET_AGREE = 1 ]
        check "old SAs gone from both kernels after the $kind rekey by $who" [ $SET_KERNEL = 1 ]
        if [ "$kind" = child ]; then
            check "Child SPIs changed" [ "$AG_CHILD" != "$before_ch" ]
        else
            check "IKE SPIs changed, Child SPIs kept" [ "$AG_IKE" != "$before_ike" -a "$AG_CHILD" = "$before_ch" ]
        fi
    done
    traffic_stop
    check_traffic
    check "SIGTERM: rekeyd exits 0" rk_stop a
    check "both kernels empty afterwards (charon took our DELETEs)" \
        wait_for 15 eval 'xfrm_only "$L" >/dev/null && xfrm_only "$R" >/dev/null'
    xfrm_only "$L"; xfrm_only "$R"
    sw_stop s
}

sw_phase2() {
    local role=$1 ike=$2 esp=$3 auto=add t_up elapsed a_child a_ike exp_child exp_ike sw_new coll
    [ "$role" = initiator ] && auto=start
    echo "-- phase 2: rekeyd $role, ike=$ike esp=$esp, equal lifetimes without fuzz (Child 10 s, IKE 25 s), ${AUTO_S}s"
    mv "$SC_DIR/s/charon.log" "$SC_DIR/s/charon-phase1.log"
    rk_write_conf a left $auto "ike=$ike" "esp=$esp" lifetime=15s ikelifetime=30s rekeymargin=5s rekeyfuzz=0%
    sw_write_conf s right none "$ike" "$esp" 25 10 15
    check "phase 2: charon and rekeyd start" eval 'sw_start s "$R" && rk_start a "$L"'
    check "phase 2: tunnel established" sw_up "$role"
    t_up=$SECONDS
    check "phase 2: traffic flows" traffic_start
    nap $((AUTO_S - (SECONDS - t_up)))
    traffic_stop
    # The nap ends on a Child rekey (both sides at 30 s): read the
    # counters once the collision's redundant SA is gone (rk_counts).
    rk_counts a; a_child=$RK_CHILD_REKEYS a_ike=$RK_IKE_REKEYS
    elapsed=$((SECONDS - t_up))
    exp_child=$((elapsed / 10)) exp_ike=$((elapsed / 25))
    sw_new=$(grep -c 'CHILD_SA t{[0-9]*} established' "$SC_DIR/s/charon.log")
    coll=$(grep -c 'rekey collision' "$SC_DIR/a.log")
    note "after ${elapsed}s: rekeyd child=$a_child ike=$a_ike (expected about $exp_child and $exp_ike);" \
        "charon established $sw_new Child SAs; collisions in rekeyd's log: $coll"
    check "Child rekeys match the time ($a_child, expected $exp_child+-1)" in_range "$a_child" $exp_child
    check "IKE rekeys match the time ($a_ike, expected $exp_ike+-1)" in_range "$a_ike" $exp_ike
    check "charon made at least as many Child SAs" [ "$sw_new" -ge "$((a_child + 1))" ]
    # Rekeys go on: find a quiet moment between two (charon keeps an old
    # inbound SA about 5 s, Child rekeys are 10 s apart).
    settle 40 rk_sw_agree a s
    check "both sides list the same SAs at the end" [ $SET_AGREE = 1 ]
    check "old SAs gone from both kernels" [ $SET_KERNEL = 1 ]
    check_traffic
    P2_CHILD=${a_child:-0} P2_IKE=${a_ike:-0}
}

in_range() { [ -n "$1" ] && [ "$1" -ge $(($2 - 1)) ] && [ "$1" -le $(($2 + 1)) ]; }

sw_scenario() {
    local name=$1 role=$2 ike=$3 esp1=$4 esp2=$5
    scenario_begin "$name" "rekeyd $role <-> $("$CHARON" --version 2>/dev/null | grep -o "strongSwan [0-9.]*"): $ike"
    if ! sw_available; then
        fail "strongSwan charon/swanctl not installed (apt-get install strongswan-charon strongswan-swanctl)"
        scenario_end; return
    fi
    at_end 'sw_stop s 2>/dev/null'
    sw_phase1 "$role" "$ike" "$esp1"
    sw_phase2 "$role" "$ike" "$esp2"
    check "no error in rekeyd's log" rk_log_clean a
    check "no error in charon's logs" eval 'sw_log_clean s && sw_log_clean s "$SC_DIR/s/charon-phase1.log"'
    SC_CHILD_REKEYS=$((P1_CHILD + P2_CHILD)) SC_IKE_REKEYS=$((P1_IKE + P2_IKE))
    scenario_end
}
