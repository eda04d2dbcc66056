#!/bin/bash
# rekeyd <-> strongSwan with Child PFS on one side only, both ways and both roles: the rekey check names the mismatch word for word within a minute of set-up; the tunnel stays up, no packet lost.
# Runs inside the UML guest (interop/run). IKE_AUTH's Child SA carries no
# KE, so the tunnel comes up whatever the PFS settings; without the rekey
# check (issue 8) the mismatch would show at the first real rekey, an hour
# later. Each case: charon "s" on the right, rekeyd "a" on the left with
# rekeycheck=yes, long lifetimes, traffic; then `rekeyctl diagnose t` must
# print the expected cause and fix lines.
here=$(dirname "$0")
. "$here/../lib.sh"
. "$here/swan.sh"
. "$here/scenario.sh"

IKE=aes256gcm16-prfsha256-x25519
# diag_has INST LINE: diagnose prints LINE (after its 4-space indent)
diag_has() { rk_ctl "$1" diagnose t | grep -qxF -- "    $2"; }

pfs_case() { # pfs_case N ROLE OUR_ESP PEER_ESP CAUSE FIX
    local n=$1 role=$2 ours=$3 theirs=$4 cause=$5 fix=$6 auto=add t0 start=none
    [ "$role" = initiator ] && auto=start
    echo "-- case $n: rekeyd $role, esp=$ours here, esp_proposals=$theirs on charon"
    rk_write_conf a left $auto "ike=$IKE" "esp=$ours" lifetime=1h ikelifetime=2h \
        rekeymargin=5m rekeycheck=yes
    sw_write_conf s right $start "$IKE" "$theirs" 7200 3600 5400
    check "case $n: charon and rekeyd start" eval 'sw_start s "$R" && rk_start a "$L"'
    t0=$SECONDS
    check "case $n: tunnel established (IKE_AUTH has no KE: no mismatch yet)" sw_up "$role"
    check "case $n: traffic flows" traffic_start
    check "case $n: within 60 s diagnose says: $cause" wait_for 60 diag_has a "cause: $cause"
    note "case $n: named $((SECONDS - t0)) s after start"
    check "case $n: and the fix: $fix" diag_has a "fix: $fix"
    check "case $n: the log says it loudly" grep -q "rekey check: t: Rekey check failed" "$SC_DIR/a.log"
    rk_ctl a diagnose t >"$SC_DIR/diagnose-$n.txt"
    sed 's/^/    | /' "$SC_DIR/diagnose-$n.txt"
    check "case $n: the tunnel is still up" rk_established a
    traffic_stop
    check_traffic
    rk_stop a
    sw_stop s
    mv "$SC_DIR/a.log" "$SC_DIR/a-$n.log"
    mv "$SC_DIR/s/charon.log" "$SC_DIR/s/charon-$n.log"
}

scenario_begin strongswan/pfs-mismatch "rekeyd <-> strongSwan, Child PFS on one side only: the rekey check names it at set-up"
if ! sw_available; then
    fail "strongSwan charon/swanctl not installed (apt-get install strongswan-charon strongswan-swanctl)"
    scenario_end; exit
fi
at_end 'sw_stop s 2>/dev/null'
FIX_X="Set the same PFS group on both sides: esp=aes256gcm16-x25519 on both, or esp=aes256gcm16 on both for no PFS."
pfs_case 1 initiator aes256gcm16-x25519 aes256gcm16 \
    "Rekey check failed: the Child SA rekey failed: we offer PFS group x25519, the peer's answer shows none of it (NO_PROPOSAL_CHOSEN)." \
    "$FIX_X"
pfs_case 2 initiator aes256gcm16 aes256gcm16-x25519 \
    "Rekey check failed: the Child SA rekey failed: we offer no PFS, the peer's answer refuses that (NO_PROPOSAL_CHOSEN)." \
    "Set the same PFS group on both sides: add the peer's group to esp=aes256gcm16 here (e.g. esp=aes256gcm16-x25519), or remove PFS on the peer."
pfs_case 3 responder aes256gcm16-x25519 aes256gcm16 \
    "Rekey check failed: the Child SA rekey failed: we offer PFS group x25519, the peer's answer shows none of it (NO_PROPOSAL_CHOSEN)." \
    "$FIX_X"
scenario_end
