# shellcheck shell=bash
# shellcheck disable=SC2016,SC2153,SC2034 # eval strings expand later; RK_*/LSW_* come from lib.sh/lsw.sh, SC_* go to it
# interop/libreswan/scenario.sh: the body shared by the rekeyd <-> Libreswan
# scenarios (sc-*.sh set the parameters and call lsw_scenario). rekeyd "a"
# runs in the left namespace, pluto "l" in the right one.
#
#   lsw_scenario NAME ROLE IKE ESP1 ESP2     (proposals in strongSwan syntax,
#                                            translated for pluto)
#     ROLE    initiator|responder: rekeyd's role in the initial exchange
#     ESP1    ESP proposal of phase 1 (manual rekeys); PFS when it has a group
#     ESP2    ESP proposal of phase 2 (automatic rekeys)
#
# Phase 1, long lifetimes: rekeyctl rekey --child, whack --rekey-ipsec,
#   rekeyctl rekey --ike, whack --rekey-ike; after each the SPIs changed as
#   expected and both sides list the same Child SA; at the end the old SAs
#   are gone from both kernels and pluto's log counts the same rekeys;
#   SIGTERM to rekeyd: exit 0, both kernels empty.
# Phase 2: equal lifetimes and no fuzz on both sides (Child SAs 12 s, IKE
#   SAs 24 s; rekeyd's margin 4 s, pluto's 2 s unless LSW_COLLIDE=1, see
#   LSW_MARGIN) for AUTO_S seconds: rekeyd's lineage
#   counters match the elapsed time, pluto's log counts the same rekeys,
#   both sides end on the same Child SA, old SAs gone from both kernels.
# Traffic flows through both phases. A lost datagram fails the scenario
# unless early.py shows from the kernel's timeline that it is Libreswan's
# early switch as Child rekey responder (DESIGN.md section 7): the left
# kernel counted packets on an SA it did not hold yet, and the datagram was
# sent within a second before rekeyd installed the inbound SA of a rekey it
# initiated. Such losses are reported separately ("early"). No error in
# either log. Sourced after lib.sh and lsw.sh.
AUTO_S=${AUTO_S:-30}
# pluto's rekeymargin in phase 2. Equal margins (LSW_COLLIDE=1: 4s, like
# rekeyd's) make both sides rekey at the same instant whenever pluto created
# the current Child SA; Libreswan 4.10 then breaks itself often enough to
# fail the run: its own rekey of a Child SA that our rekey just replaced
# ends in "Child SA to rekey #N vanished abort this exchange" / "state
# transition function ... had internal error", after which its Message ID
# windows are inconsistent ("EXPECTATION FAILED: ... responder.recv ==
# ... responder.sent") and it never answers a colliding IKE SA rekey, so the
# IKE SAs diverge and the tunnel lapses until pluto re-establishes it
# (seen 2026-11-29, build/interop-logs/libreswan/rekeyd-responder). rekeyd's
# side of both collisions follows RFC 7296 2.8.1/2.8.2. By default pluto's
# margin is 2 s (pluto halves it as responder), so rekeyd always rekeys
# first and collisions are left to the opt-in run.
if [ "${LSW_COLLIDE:-0}" = 1 ]; then LSW_MARGIN=4s; else LSW_MARGIN=2s; fi
LSW_EARLY=0

# xfrm_early VAR NS: packets NS's kernel dropped because their SPI had no
# usable SA (no state, or a larval one): XfrmInNoStates + XfrmInStateInvalid.
xfrm_early() {
    local k v n=0
    while read -r k v; do
        case $k in XfrmInNoStates | XfrmInStateInvalid) n=$((n + v)) ;; esac
    done < <(in_ns "$2" cat /proc/net/xfrm_stat)
    printf -v "$1" '%s' "$n"
}

lsw_up() { # lsw_up ROLE: establish (rekeyd auto=start, or whack --initiate)
    if [ "$1" = responder ]; then
        lsw_whack l --initiate --name t --asynchronous >>"$SC_DIR/l/whack.out" 2>&1 || return 1
    fi
    wait_for 40 rk_established a && wait_for 10 eval 'lsw_state l; [ -n "$LSW_CHILD" ]'
}

# rk_lsw_agree A L: rekeyd shows one established IKE SA with one installed
# Child SA, pluto one IKE SA and one Child SA with the same SPIs. Sets
# AG_CHILD and AG_IKE (rekeyd's).
rk_lsw_agree() {
    rk_established "$1" || { echo "    $1: not established ($RK_IKE / $RK_CHILD)"; return 1; }
    AG_CHILD=$RK_CHILD AG_IKE=$RK_IKE
    lsw_state "$2"
    echo "    $1: IKE $RK_IKE Child $RK_CHILD; pluto: $LSW_N_IKE IKE SA, Child ${LSW_CHILD:-none}"
    [ "$LSW_N_IKE" = 1 ] && [ "$LSW_N_CHILD" = 1 ] && [ "$LSW_CHILD" = "$RK_CHILD" ]
}

# lsw_counted FILE: pluto's rekeys in its log, as LSW_RK_CHILD LSW_RK_IKE.
lsw_counted() {
    LSW_RK_CHILD=$(grep -c 'rekeyed Child SA' "$1")
    LSW_RK_IKE=$(grep -c 'rekeyed IKE SA' "$1")
}

# lsw_check_traffic EARLY_BEFORE: after traffic_stop, zero lost datagrams,
# or only losses early.py explains as the peer's early switch.
lsw_check_traffic() {
    local e0=$1 e1 out
    check "traffic flowed ($TR_SENT sent)" [ "$TR_SENT" -gt 10 ]
    if [ "$TR_LOST" = 0 ]; then
        pass "zero datagrams lost (0 of $TR_SENT)"
        return
    fi
    xfrm_early e1 "$L"
    out=$("$PY" "$IX_ROOT/interop/libreswan/early.py" --rekeyd-log "$SC_DIR/a.log" \
        --xfrm-monitor "$SC_DIR/xfrm-$L.out" --kernel-early $((e1 - e0)) \
        --lost-at "$TR_LOST_AT")
    echo "    ${out//$'\n'/$'\n'    }"
    local explained=0 re='(^|'$'\n'')explained=([0-9]+) '
    [[ $out =~ $re ]] && explained=${BASH_REMATCH[2]}
    LSW_EARLY=$((LSW_EARLY + ${explained:-0}))
    check "$TR_LOST of $TR_SENT lost, all explained by Libreswan's early switch (kernel timeline)" \
        [ "${explained:-0}" = "$TR_LOST" ]
}

lsw_phase1() {
    local role=$1 ike=$2 esp=$3 auto=add pfs=no step who kind before_ch before_ike e0
    [ "$role" = initiator ] && auto=start
    [[ $esp == *-x25519 || $esp == *-modp* ]] && pfs=yes
    echo "-- phase 1: rekeyd $role, ike=$ike esp=$esp, manual rekeys from both sides"
    rk_write_conf a left $auto "ike=$ike" "esp=$esp" lifetime=1h ikelifetime=2h rekeymargin=5m
    lsw_write_conf l right add "$(lsw_ike "$ike")" "$(lsw_esp "$esp")" $pfs \
        salifetime=1h ikelifetime=2h rekeymargin=5m
    check "pluto starts and loads conn t" lsw_start l "$R"
    check "rekeyd starts" rk_start a "$L"
    check "tunnel established (rekeyd $role)" lsw_up "$role"
    check "both sides list the same SAs" rk_lsw_agree a l
    xfrm_early e0 "$L"
    check "traffic flows through the tunnel" traffic_start
    P1_CHILD=0 P1_IKE=0
    for step in "a child" "l child" "a ike" "l ike"; do
        read -r who kind <<<"$step"
        before_ch=$AG_CHILD before_ike=$AG_IKE
        if [ "$who" = a ]; then
            note "rekeyctl rekey t --$kind"
            check "rekeyctl rekey --$kind accepted" rk_ctl a rekey t --"$kind" >/dev/null
        else
            local w=--rekey-ipsec
            [ "$kind" = ike ] && w=--rekey-ike
            note "whack $w --name t"
            check "whack $w accepted" lsw_whack l $w --name t >>"$SC_DIR/l/whack.out" 2>&1
        fi
        if [ "$kind" = child ]; then P1_CHILD=$((P1_CHILD + 1)); else P1_IKE=$((P1_IKE + 1)); fi
        check "rekeyd counted it (child=$P1_CHILD ike=$P1_IKE)" rk_wait_rekeys a $P1_CHILD $P1_IKE 30
        wait_for 15 eval 'rk_lsw_agree a l >/dev/null'
        check "both sides list the same SAs after the $kind rekey by $who" rk_lsw_agree a l
        if [ "$kind" = child ]; then
            check "Child SPIs changed" [ "$AG_CHILD" != "$before_ch" ]
        else
            check "IKE SPIs changed, Child SPIs kept" [ "$AG_IKE" != "$before_ike" -a "$AG_CHILD" = "$before_ch" ]
        fi
    done
    wait_for 20 kernels_hold "$AG_CHILD" >/dev/null
    check "old SAs gone from both kernels" kernels_hold "$AG_CHILD"
    traffic_stop
    lsw_check_traffic "$e0"
    lsw_counted "$SC_DIR/l/pluto.log"
    check "pluto's log counts the same rekeys (child=$LSW_RK_CHILD ike=$LSW_RK_IKE)" \
        [ "$LSW_RK_CHILD" = $P1_CHILD -a "$LSW_RK_IKE" = $P1_IKE ]
    check "SIGTERM: rekeyd exits 0" rk_stop a
    check "both kernels empty afterwards (pluto took our DELETEs)" \
        wait_for 15 eval 'xfrm_only "$L" >/dev/null && xfrm_only "$R" >/dev/null'
    xfrm_only "$L"; xfrm_only "$R"
    lsw_stop l
    mv "$SC_DIR/a.log" "$SC_DIR/a-phase1.log"
    mv "$SC_DIR/l/pluto.log" "$SC_DIR/l/pluto-phase1.log"
}

lsw_phase2() {
    local role=$1 ike=$2 esp=$3 auto=add pfs=no t_up elapsed a_child a_ike exp_child exp_ike coll e0
    [ "$role" = initiator ] && auto=start
    [[ $esp == *-x25519 || $esp == *-modp* ]] && pfs=yes
    echo "-- phase 2: rekeyd $role, ike=$ike esp=$esp, equal lifetimes without fuzz (rekeyd: Child 8 s, IKE 20 s; pluto margin $LSW_MARGIN), ${AUTO_S}s"
    rk_write_conf a left $auto "ike=$ike" "esp=$esp" lifetime=12s ikelifetime=24s rekeymargin=4s rekeyfuzz=0%
    lsw_write_conf l right add "$(lsw_ike "$ike")" "$(lsw_esp "$esp")" $pfs \
        salifetime=12s ikelifetime=24s rekeymargin=$LSW_MARGIN rekeyfuzz=0%
    check "phase 2: pluto and rekeyd start" eval 'lsw_start l "$R" && rk_start a "$L"'
    check "phase 2: tunnel established" lsw_up "$role"
    t_up=$SECONDS
    xfrm_early e0 "$L"
    check "phase 2: traffic flows" traffic_start
    nap $((AUTO_S - (SECONDS - t_up)))
    traffic_stop
    elapsed=$((SECONDS - t_up))
    rk_state a; a_child=${RK_CHILD_REKEYS%% *} a_ike=${RK_IKE_REKEYS%% *}
    [ "$RK_N_IKE" = 1 ] || note "rekeyd lists $RK_N_IKE IKE SAs (ESTABLISHED: ${RK_IKE:-none})"
    exp_child=$((elapsed / 8)) exp_ike=$((elapsed / 20))
    lsw_counted "$SC_DIR/l/pluto.log"
    coll=$(grep -c 'rekey collision' "$SC_DIR/a.log")
    note "after ${elapsed}s: rekeyd child=$a_child ike=$a_ike (expected about $exp_child and $exp_ike);" \
        "pluto rekeyed child=$LSW_RK_CHILD ike=$LSW_RK_IKE; collisions in rekeyd's log: $coll"
    check "Child rekeys match the time ($a_child, expected $exp_child+-1)" in_range "$a_child" $exp_child
    check "IKE rekeys match the time ($a_ike, expected $exp_ike+-1)" in_range "$a_ike" $exp_ike
    # A collision makes two new Child SAs of which one is deleted at once,
    # so pluto may count one more per collision.
    # (pluto's log is read a moment after rekeyd's status: one more
    # automatic rekey may fall in between.)
    check "pluto's log counts the same Child rekeys ($LSW_RK_CHILD)" \
        [ "$LSW_RK_CHILD" -ge "${a_child:-0}" -a "$LSW_RK_CHILD" -le $((${a_child:-0} + coll + 1)) ]
    # Rekeys go on while we look (every 8 s) and a read costs 0.3-1 s in
    # UML: look right after a rekey, in one quick snapshot of both sides and
    # both kernels, and retry a few rekeys.
    check "both sides list the same SAs and only they are in both kernels" snap_after_rekey
    lsw_check_traffic "$e0"
    P2_CHILD=${a_child:-0} P2_IKE=${a_ike:-0}
}

# snap_after_rekey: up to 4 times, wait for rekeyd's next Child rekey, let
# its DELETE finish, then read both kernels and pluto at once; they must
# list the Child SA rekeyd showed and nothing else.
snap_after_rekey() {
    local try c0 kl kr want
    for try in 1 2 3 4; do
        rk_state a; c0=$RK_CHILD_REKEYS
        # rekeyd's status at the moment its counter moved is the reference;
        # after that only three reads (0.3-1 s each under load), kernels
        # first, so the whole look fits well inside the 8 s between rekeys.
        wait_for 12 eval 'rk_established a && [ "$RK_CHILD_REKEYS" != "$c0" ]' || continue
        nap 0.5
        xfrm_spis kl "$L"; xfrm_spis kr "$R"
        lsw_state l
        want="0x${RK_CHILD%/*} 0x${RK_CHILD#*/}"
        echo "    rekeyd Child $RK_CHILD; pluto $LSW_N_IKE IKE SA, Child ${LSW_CHILD:-none};" \
            "kernel left: $kl; right: $kr"
        [ "$LSW_N_IKE" = 1 ] && [ "$LSW_N_CHILD" = 1 ] && [ "$LSW_CHILD" = "$RK_CHILD" ] &&
            same_pair "$kl" "$want" && same_pair "$kr" "$want" && return 0
    done
    return 1
}
# same_pair "A B" "C D": the same two words in any order.
same_pair() {
    local a b extra c d
    read -r a b extra <<<"$1"; read -r c d <<<"$2"
    [ -z "$extra" ] || return 1
    { [ "$a" = "$c" ] && [ "$b" = "$d" ]; } || { [ "$a" = "$d" ] && [ "$b" = "$c" ]; }
}

in_range() { [ -n "$1" ] && [ "$1" -ge $(($2 - 1)) ] && [ "$1" -le $(($2 + 1)) ]; }

lsw_scenario() {
    local name=$1 role=$2 ike=$3 esp1=$4 esp2=$5
    scenario_begin "$name" "rekeyd $role <-> Libreswan: $ike"
    if ! lsw_available; then
        fail "Libreswan not unpacked in $LSW_TREE (run interop/libreswan/fetch.sh on the host)"
        scenario_end; return
    fi
    echo "  (Libreswan $LSW_VERSION from $LSW_TREE)"
    at_end 'lsw_stop l 2>/dev/null'
    P1_CHILD=0 P1_IKE=0 P2_CHILD=0 P2_IKE=0
    lsw_phase1 "$role" "$ike" "$esp1"
    lsw_phase2 "$role" "$ike" "$esp2"
    check "no error in rekeyd's logs" eval 'rk_log_clean a && log_errors "$SC_DIR/a-phase1.log" " warn "'
    check "no error in pluto's logs" eval 'lsw_log_clean l && LSW_LOG=pluto-phase1.log lsw_log_clean l'
    SC_CHILD_REKEYS=$((P1_CHILD + P2_CHILD)) SC_IKE_REKEYS=$((P1_IKE + P2_IKE))
    echo "  early-switch losses (Libreswan as Child rekey responder): $LSW_EARLY"
    [ "$LSW_EARLY" = 0 ] || SC_LOST="$SC_LOST(early:$LSW_EARLY)"
    scenario_end
}
