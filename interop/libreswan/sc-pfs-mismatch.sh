#!/bin/bash
# rekeyd <-> Libreswan 4.10 with Child PFS on one side only, both ways: the rekey check names the mismatch word for word within a minute of set-up; the tunnel stays up, no packet lost.
# Runs inside the UML guest (interop/run). IKE_AUTH's Child SA carries no
# KE, so the tunnel comes up whatever the PFS settings (issue 8). Each
# case: pluto "l" on the right (auto=add), rekeyd "a" on the left
# initiating with rekeycheck=yes, long lifetimes, traffic; 3 s after
# set-up rekeyd rekeys the Child SA once and pluto refuses it; `rekeyctl
# diagnose t` must print the expected cause and fix lines, and pluto's log
# must show the notify it sent (LSW_NOTIFY), so the sentence is checked
# against what actually went over the wire.
here=$(dirname "$0")
. "$here/../lib.sh"
. "$here/lsw.sh"

IKE=aes256gcm16-prfsha256-x25519
diag_has() { rk_ctl "$1" diagnose t | grep -qxF -- "    $2"; }
lsw_up() {
    wait_for 40 rk_established a && wait_for 10 eval 'lsw_state l; [ -n "$LSW_CHILD" ]'
}

pfs_case() { # pfs_case N OUR_ESP PEER_ESP PEER_PFS NOTIFY CAUSE FIX
    local n=$1 ours=$2 theirs=$3 pfs=$4 notify=$5 cause=$6 fix=$7 t0
    echo "-- case $n: esp=$ours here; esp=$(lsw_esp "$theirs") pfs=$pfs on pluto"
    rk_write_conf a left start "ike=$IKE" "esp=$ours" lifetime=1h ikelifetime=2h \
        rekeymargin=5m rekeycheck=yes
    lsw_write_conf l right add "$(lsw_ike "$IKE")" "$(lsw_esp "$theirs")" "$pfs" \
        salifetime=1h ikelifetime=2h rekeymargin=5m
    check "case $n: pluto and rekeyd start" eval 'lsw_start l "$R" && rk_start a "$L"'
    t0=$SECONDS
    check "case $n: tunnel established (IKE_AUTH has no KE: no mismatch yet)" lsw_up
    check "case $n: traffic flows" traffic_start
    check "case $n: within 60 s diagnose says: $cause" wait_for 60 diag_has a "cause: $cause"
    note "case $n: named $((SECONDS - t0)) s after start"
    check "case $n: and the fix: $fix" diag_has a "fix: $fix"
    check "case $n: the log says it loudly" grep -q "rekey check: t: Rekey check failed" "$SC_DIR/a.log"
    check "case $n: pluto's log shows it answered $notify" grep -q "$notify" "$SC_DIR/l/pluto.log"
    grep -E 'NO_PROPOSAL_CHOSEN|INVALID_KE|CREATE_CHILD_SA|proposal' "$SC_DIR/l/pluto.log" | sed 's/^/    pluto| /' | head -8
    rk_ctl a diagnose t >"$SC_DIR/diagnose-$n.txt"
    sed 's/^/    | /' "$SC_DIR/diagnose-$n.txt"
    check "case $n: the tunnel is still up, on the same SAs as pluto" \
        eval 'rk_established a && lsw_state l && [ "$LSW_CHILD" = "$RK_CHILD" ]'
    traffic_stop
    check_traffic
    rk_stop a
    lsw_stop l
    mv "$SC_DIR/a.log" "$SC_DIR/a-$n.log"
    mv "$SC_DIR/l/pluto.log" "$SC_DIR/l/pluto-$n.log"
}

scenario_begin libreswan/pfs-mismatch "rekeyd <-> Libreswan, Child PFS on one side only: the rekey check names it at set-up"
if ! lsw_available; then
    fail "Libreswan not unpacked in $LSW_TREE (interop/libreswan/fetch.sh)"
    scenario_end; exit
fi
at_end 'lsw_stop l 2>/dev/null'
pfs_case 1 aes256gcm16-x25519 aes256gcm16 no NO_PROPOSAL_CHOSEN \
    "Rekey check failed: the Child SA rekey failed: we offer PFS group x25519, the peer's answer shows none of it (NO_PROPOSAL_CHOSEN)." \
    "Set the same PFS group on both sides: esp=aes256gcm16-x25519 on both, or esp=aes256gcm16 on both for no PFS."
pfs_case 2 aes256gcm16 aes256gcm16-x25519 yes NO_PROPOSAL_CHOSEN \
    "Rekey check failed: the Child SA rekey failed: we offer no PFS, the peer's answer refuses that (NO_PROPOSAL_CHOSEN)." \
    "Set the same PFS group on both sides: add the peer's group to esp=aes256gcm16 here (e.g. esp=aes256gcm16-x25519), or remove PFS on the peer."
scenario_end
