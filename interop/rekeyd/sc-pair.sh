#!/bin/bash
# rekeyd <-> rekeyd with --kernel xfrm: manual and colliding automatic rekeys under traffic.
# Runs inside the UML guest (interop/run). Two phases, each with its own
# pair of daemons (left "a" initiates, right "b" responds):
#  1. AES-GCM-16 + X25519 IKE, Child with PFS (esp=aes256gcm16-x25519),
#     long lifetimes: `rekeyctl rekey --child` from a then from b, `rekey
#     --ike` from a then from b, then a Child rekey from both at once with
#     IKE held back so the requests cross (a collision for certain). After
#     each: the counters moved by exactly one on both sides, SPIs changed
#     and agree, the old SAs are gone from both kernels. Then SIGTERM to
#     both: exit 0, kernels empty.
#  2. AES-CBC-256 + HMAC-SHA2-256 + MODP-2048 IKE, Child without PFS, equal
#     short lifetimes and no fuzz on both sides (Child rekey every 10 s, IKE
#     every 25 s) for AUTO_S seconds, so rekeys may collide: the lineage
#     counters match the elapsed time on both sides and agree.
# UDP traffic with sequence numbers flows through the tunnel in both phases;
# a single lost datagram fails the scenario. No error in either log.
. "$(dirname "$0")/../lib.sh"
AUTO_S=${AUTO_S:-30}

scenario_begin rekeyd/pair "rekeyd <-> rekeyd (XFRM): manual rekeys both sides, colliding automatic rekeys"

p1=("ike=aes256gcm16-prfsha256-x25519" "esp=aes256gcm16-x25519" "lifetime=1h" "ikelifetime=2h" "rekeymargin=5m")
rk_write_conf a left start "${p1[@]}"
rk_write_conf b right add "${p1[@]}"
echo "-- phase 1: aes256gcm16-prfsha256-x25519, Child PFS x25519, manual rekeys"
check "responder b starts" rk_start b "$R"
check "initiator a starts" rk_start a "$L"
check "tunnel established on both sides" wait_for 30 eval 'rk_established a && rk_established b'
settle 15 rk_agree a b
check "both sides agree on the SAs" [ $SET_AGREE = 1 ]
check "each kernel holds exactly the two ESP SAs" [ $SET_KERNEL = 1 ]
check "traffic flows through the tunnel" traffic_start

n=0
for step in "a child" "b child" "a ike" "b ike"; do
    set -- $step
    before_child=$AG_CHILD before_ike=$AG_IKE
    if [ "$2" = child ]; then n=$((n + 1)); want="$n -"; else want="- $((${ike_n:-0} + 1))"; ike_n=$((${ike_n:-0} + 1)); fi
    note "rekeyctl rekey t --$2 on $1"
    check "rekey --$2 from $1 accepted" rk_ctl "$1" rekey t --"$2" >/dev/null
    check "$1's $2 rekey done: counters child=$n ike=${ike_n:-0} on both sides" \
        eval "rk_wait_rekeys a $n ${ike_n:-0} && rk_wait_rekeys b $n ${ike_n:-0}"
    # The old SAs go with the DELETE exchange that follows the rekey.
    settle 15 rk_agree a b
    check "both sides agree after the $2 rekey" [ $SET_AGREE = 1 ]
    if [ "$2" = child ]; then
        check "Child SPIs changed" [ "$AG_CHILD" != "$before_child" ]
    else
        check "IKE SPIs changed, Child SPIs kept" [ "$AG_IKE" != "$before_ike" -a "$AG_CHILD" = "$before_child" ]
    fi
    check "old SAs gone from both kernels" [ $SET_KERNEL = 1 ]
done
# Crossing rekeys for certain (RFC 7296 2.8.1): with IKE dropped on the
# path, both sides start a Child rekey of the same SA and neither request
# gets through until the rules go. Which 2.8.1 case follows depends on
# which retransmission arrives first (they are as far apart as the two
# rekeyctl calls): a side whose own request is still outstanding when the
# peer's arrives resolves a collision by the nonces; a request that
# arrives after the other side's exchange and DELETE finished gets
# CHILD_SA_NOT_FOUND. Either way exactly one new Child SA must remain.
before_child=$AG_CHILD n=$((n + 1))
check "collision: IKE dropped on the path (ESP passes)" ike_block -A
check "collision: rekey --child from a and b at once" \
    eval 'rk_ctl a rekey t --child >/dev/null && rk_ctl b rekey t --child >/dev/null'
nap 1
check "collision: IKE let through again" ike_block -D
check "collision: both sides count one Child rekey more (child=$n ike=$ike_n)" \
    eval "rk_wait_rekeys a $n $ike_n && rk_wait_rekeys b $n $ike_n"
check "collision: the crossing rekeys were resolved as 2.8.1 says (a side's log shows which case)" \
    eval 'cat "$SC_DIR/a.log" "$SC_DIR/b.log" | grep -qE "rekey collision|rekey with CHILD_SA_NOT_FOUND"'
settle 15 rk_agree a b
check "collision: both sides agree on one new Child SA" [ $SET_AGREE = 1 ]
check "collision: Child SPIs changed" [ "$AG_CHILD" != "$before_child" ]
check "collision: the redundant and old SAs are gone from both kernels" [ $SET_KERNEL = 1 ]
traffic_stop
check_traffic
check "SIGTERM: a exits 0" rk_stop a
check "SIGTERM: b exits 0" rk_stop b
check "both kernels empty after SIGTERM" eval 'xfrm_only "$L" && xfrm_only "$R"'
mv "$SC_DIR/a.log" "$SC_DIR/a-phase1.log"; mv "$SC_DIR/b.log" "$SC_DIR/b-phase1.log"
p1_child=$n p1_ike=$ike_n

p2=("ike=aes256-sha256-modp2048" "esp=aes256-sha256" "lifetime=15s" "ikelifetime=30s"
    "rekeymargin=5s" "rekeyfuzz=0%")
rk_write_conf a left start "${p2[@]}"
rk_write_conf b right add "${p2[@]}"
echo "-- phase 2: aes256-sha256-modp2048, no Child PFS, Child rekey every 10 s, IKE every 25 s, no fuzz, ${AUTO_S}s"
check "phase 2: both daemons start" eval 'rk_start b "$R" && rk_start a "$L"'
check "phase 2: tunnel established" wait_for 30 eval 'rk_established a && rk_established b'
t_up=$SECONDS
check "phase 2: traffic flows" traffic_start
nap $((AUTO_S - (SECONDS - t_up)))
traffic_stop
# Read the counters where each side holds one IKE SA and one Child SA
# (rk_counts: not while a collision's redundant SA waits for its DELETE).
rk_counts a; a_child=$RK_CHILD_REKEYS a_ike=$RK_IKE_REKEYS
rk_counts b; b_child=$RK_CHILD_REKEYS b_ike=$RK_IKE_REKEYS
elapsed=$((SECONDS - t_up))
exp_child=$((elapsed / 10)) exp_ike=$((elapsed / 25))
note "after ${elapsed}s: a child=$a_child ike=$a_ike, b child=$b_child ike=$b_ike (expected about $exp_child and $exp_ike)"
in_range() { [ -n "$1" ] && [ "$1" -ge $(($2 - 1)) ] && [ "$1" -le $(($2 + 1)) ]; }
check "Child rekeys on a match the time ($a_child, expected $exp_child+-1)" in_range "$a_child" $exp_child
check "IKE rekeys on a match the time ($a_ike, expected $exp_ike+-1)" in_range "$a_ike" $exp_ike
check "b counted the same rekeys" [ "$a_child/$a_ike" = "$b_child/$b_ike" ]
# Whether equal timers collide here depends on which side's timer fires
# first by how many milliseconds (the lineage counters above are what
# must hold); phase 1 makes a collision for certain.
coll=$(cat "$SC_DIR/a.log" "$SC_DIR/b.log" | grep -c 'rekey collision')
note "rekey collisions logged in phase 2: $coll"
# Rekeys go on: find a quiet moment between two (Child rekeys are 10 s apart).
settle 40 rk_agree a b
check "both sides agree at the end" [ $SET_AGREE = 1 ]
check "old SAs gone from both kernels" [ $SET_KERNEL = 1 ]
check_traffic
check "no error in a's log" rk_log_clean a
check "no error in b's log" rk_log_clean b
SC_CHILD_REKEYS=$((p1_child + ${a_child:-0})) SC_IKE_REKEYS=$((p1_ike + ${a_ike:-0}))
scenario_end
