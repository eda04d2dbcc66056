#!/usr/bin/env bash
# tests/daemon/diag_e2e.sh REKEYD REKEYCTL: the rekey check and `rekeyctl
# diagnose` end to end (issue 8). Two rekeyd on loopback (--kernel memory)
# with two conns (127.0.0.1-2 and .3-4): "pfs", where A offers PFS group x25519 and B has no PFS
# (the mismatch IKE_AUTH never tests: it carries no KE), and "ok", equal on
# both sides. Checks: both tunnels come up; within a minute A's `rekeyctl
# diagnose` prints the PFS mismatch word for word (cause and fix), B's
# prints its side of it; `diagnose --json` carries the same; `status`
# shows the last failure; "ok" passes its check; both tunnels stay up;
# status says "rekey off" where rekey=no (B's "ok").
# DIAG_OUT=FILE keeps A's diagnose output (the README shows it).
set -euo pipefail
REKEYD=$1
REKEYCTL=$2
NAME=diag_e2e
. "$(dirname "$0")/lib.sh"

# up WHO CONN: an ESTABLISHED IKE SA with an INSTALLED child
up() {
    ctl "$1" status --json | "$PY" -c "
import json,sys
d=json.load(sys.stdin)
sys.exit(0 if any(s['conn']=='$2' and s['state']=='ESTABLISHED' and
  any(c['state']=='INSTALLED' for c in s['children']) for s in d['ike_sas']) else 1)"
}
has() { ctl "$1" diagnose "$2" | grep -qxF -- "$3"; }

conf() { # conf FILE A B RIGHTPORT AUTO PFS_ESP: A/B the last octet of 127.0.0.x
    cat >"$1" <<EOF
config setup
	uniqueids=yes

conn %default
	ike=aes256gcm16-prfsha256-x25519
	authby=secret
	rightikeport=$4
	auto=$5

conn pfs
	left=127.0.0.$2
	right=127.0.0.$3
	leftsubnet=10.$2.0.0/16
	rightsubnet=10.$3.0.0/16
	esp=$6

conn ok
	left=127.0.0.$(($2 + 2))
	right=127.0.0.$(($3 + 2))
	leftsubnet=10.$(($2 + 2)).0.0/16
	rightsubnet=10.$(($3 + 2)).0.0/16
	esp=aes256gcm16-x25519
EOF
}
start() {
    local who=$1 port=$2 natt=$3
    "$REKEYD" -f -c "$T/$who.conf" -s "$T/secrets" -S "$T/$who.ctl" --kernel memory \
        --port "$port" --natt-port "$natt" 2>>"$T/$who.log" &
    PIDS+=("$!")
    wait_for 10 test -S "$T/$who.ctl" || die "$who did not open its control socket"
}

BASE=$((36000 + (RANDOM % 2000) * 4))
PA=$BASE PB=$((BASE + 1))
printf '127.0.0.1 127.0.0.2 : PSK "diag-secret-not-logged"\n127.0.0.3 127.0.0.4 : PSK "diag-ok"\n' >"$T/secrets"
chmod 600 "$T/secrets"
# rekeycheck is not set: it is on by default.
conf "$T/a.conf" 1 2 "$PB" start aes256gcm16-x25519
conf "$T/b.conf" 2 1 "$PA" add aes256gcm16
# B never rekeys "ok" itself (A's rekey check still does): its status
# must say "rekey off", not print a time that is not set.
sed -i 's/^conn ok$/&\n\trekey=no/' "$T/b.conf"
grep -qx $'\trekey=no' "$T/b.conf" || die "could not set rekey=no in b.conf"

step "both tunnels come up (IKE_AUTH's Child SA has no KE: the PFS mismatch does not show)"
start b "$PB" $((BASE + 2))
start a "$PA" $((BASE + 3))
T0=$SECONDS
wait_for 20 up a pfs || die "pfs tunnel not up on A"
wait_for 20 up a ok || die "ok tunnel not up on A"
wait_for 10 up b pfs || die "pfs tunnel not up on B"

CAUSE_A="    cause: Rekey check failed: the Child SA rekey failed: we offer PFS group x25519, the peer's answer shows none of it (NO_PROPOSAL_CHOSEN)."
FIX_A="    fix: Set the same PFS group on both sides: esp=aes256gcm16-x25519 on both, or esp=aes256gcm16 on both for no PFS."
CAUSE_B="    cause: The peer's Child SA rekey failed: the peer offers PFS group x25519, we accept no PFS."
FIX_B="    fix: Set the same PFS group on both sides: esp=aes256gcm16 on both, or esp=aes256gcm16-x25519 on both."

step "within a minute, A's diagnose names the PFS mismatch and its fix, word for word"
wait_for 60 has a pfs "$CAUSE_A" || die "no PFS mismatch cause on A: $(ctl a diagnose pfs)"
has a pfs "$FIX_A" || die "no fix on A: $(ctl a diagnose pfs)"
echo "found after $((SECONDS - T0)) s"
ctl a diagnose pfs | grep -q "^pfs: auto=start, 1 IKE SA, rekey check FAILED [0-9]* s ago$" ||
    die "no failed rekey check in A's header: $(ctl a diagnose pfs)"
grep -q "rekey check: pfs: Rekey check failed:" "$T/a.log" || die "the check failure is not in A's log"

step "B's diagnose says the same from its end"
wait_for 20 has b pfs "$CAUSE_B" || die "no cause on B: $(ctl b diagnose pfs)"
has b pfs "$FIX_B" || die "no fix on B: $(ctl b diagnose pfs)"

step "diagnose --json carries the cause, the sentences and the check"
ctl a diagnose pfs --json | "$PY" -c "
import json,sys
d=json.load(sys.stdin)
c=d['conns'][0]
assert c['name']=='pfs', c
assert c['rekey_check']['state']=='failed', c['rekey_check']
f=c['failures'][0]
assert f['cause']=='pfs_mismatch' and f['attempt']=='child_rekey' and f['rekey_check'], f
assert 'cause: '+f['text']=='''${CAUSE_A#    }''', f['text']
assert 'fix: '+f['fix']=='''${FIX_A#    }''', f['fix']
assert c['sas'] and c['sas'][0]['state']=='ESTABLISHED', c['sas']
" || die "diagnose --json: $(ctl a diagnose pfs --json)"

step "status shows the last failure"
ctl a status | grep -qF "pfs: last failure " || die "status: $(ctl a status)"
ctl a status | grep -F "pfs: last failure " | grep -qF "${CAUSE_A#    cause: }" ||
    die "status sentence: $(ctl a status)"

step "equal settings pass the check; both tunnels stay up"
wait_for 20 sh -c "'$REKEYCTL' -S '$T/a.ctl' diagnose ok | grep -q 'rekey check passed .* (PFS x25519)'" ||
    die "ok did not pass: $(ctl a diagnose ok)"
ctl a diagnose ok | grep -qx "  no failure recorded" || die "ok has failures: $(ctl a diagnose ok)"
up a pfs || die "pfs tunnel went down on A"
up b pfs || die "pfs tunnel went down on B"
up a ok || die "ok tunnel went down on A"

step "status with rekey=no says 'rekey off' (B, conn ok); with rekeying on, the time (A)"
ctl b status | grep -E "^(ok: IKE |  child )" >"$T/b-ok.txt" || die "no ok SAs in B's status: $(ctl b status)"
grep -q "^ok: IKE .* rekey off expires in [0-9]*s$" "$T/b-ok.txt" || die "B's ok IKE SA: $(cat "$T/b-ok.txt")"
grep -q "^  child .* rekey off expires in [0-9]*s$" "$T/b-ok.txt" || die "B's ok child: $(cat "$T/b-ok.txt")"
ctl a status | grep -q "^ok: IKE .* rekey in [0-9]*s expires in [0-9]*s$" || die "A's ok IKE SA: $(ctl a status)"
[ -z "${DIAG_OUT:-}" ] || ctl a diagnose >"$DIAG_OUT"

echo "diag_e2e: Checks: $NSTEPS, Failures: 0, Errors: 0"
