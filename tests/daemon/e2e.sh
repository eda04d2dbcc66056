#!/usr/bin/env bash
# tests/daemon/e2e.sh REKEYD REKEYCTL: two rekeyd processes on loopback
# (--kernel memory, 127.0.0.1 and 127.0.0.2 on their own high ports, own
# control sockets and files in a temp dir), driven only through the
# user-facing contract (options, config, rekeyctl). Checks: establish
# (auto=start on A), same SPIs on both sides in `rekeyctl status --json`,
# refused world-readable secrets, garbage datagrams and control requests
# (daemons keep running, tunnel intact), rekey --child/--ike from each side
# (SPIs change and agree; skip with REKEYD_TEST_REKEY=0), down/up, reload
# (SIGHUP and rekeyctl reload; unchanged tunnels survive; a bad config is
# refused with file:line), `watch`, SIGTERM (exit 0, the peer sees the
# DELETE), and an IPv6 pair on ::1 talking IKE between the NAT-T ports (with
# the non-ESP marker). Prints each step; exits non-zero on the first failure.
# Set KEEP=1 to keep the temp dir (configs, logs) for a look afterwards.
set -euo pipefail
REKEYD=$1
REKEYCTL=$2
NAME=e2e
. "$(dirname "$0")/lib.sh"

# json WHO EXPR: evaluate a Python expression over `status --json` as d
json() {
    ctl "$1" status --json | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($2)"
}
ike_spis() { json "$1" "' '.join(s['spi_i']+'/'+s['spi_r'] for s in d['ike_sas'] if s['conn']=='${2:-t}' and s['state']=='ESTABLISHED')"; }
# child SPIs as seen from A: "in/out"; from B reversed so both print alike
child_spis() {
    if [ "$2" = fwd ]; then
        json "$1" "' '.join(sorted(c['spi_in']+'/'+c['spi_out'] for s in d['ike_sas'] for c in s['children'] if c['state']=='INSTALLED'))"
    else
        json "$1" "' '.join(sorted(c['spi_out']+'/'+c['spi_in'] for s in d['ike_sas'] for c in s['children'] if c['state']=='INSTALLED'))"
    fi
}
n_ike() { json "$1" "len(d['ike_sas'])"; }

established() { [ -n "$(ike_spis "$1" "${2:-t}")" ] && [ -n "$(child_spis "$1" fwd)" ]; }
no_sas() { [ "$(n_ike "$1")" = 0 ]; }

conf() { # conf FILE LEFT RIGHT RIGHTPORT LSUB RSUB AUTO [extra lines]
    cat >"$1" <<EOF
# written by e2e.sh
config setup
	uniqueids=yes

conn %default
	ike=aes256gcm16-prfsha256-x25519,aes256-sha256-modp2048
	esp=aes256gcm16,aes128-sha256-modp2048
	authby=secret
	rekeymargin=1m
	lifetime=1h
	# the SPI checks below expect no rekey but their own (diag_e2e.sh
	# tests the rekey check)
	rekeycheck=no

conn base
	leftsubnet=$5
	rightsubnet=$6

conn t
	also=base
	left=$2
	right=$3
	rightikeport=$4
	auto=$7
${8:-}
EOF
}

# start WHO PORT NATT [extra args]: rekeyd in the foreground, logging to WHO.log
start() {
    local who=$1 port=$2 natt=$3; shift 3
    "$REKEYD" -f -d -c "$T/$who.conf" -s "$T/secrets" -S "$T/$who.ctl" --kernel memory \
        --port "$port" --natt-port "$natt" "$@" 2>>"$T/$who.log" &
    local pid=$!
    PIDS+=("$pid")
    eval "PID_$who=$pid"
    wait_for 10 test -S "$T/$who.ctl" || die "$who did not open its control socket"
}
alive() { kill -0 "$1" 2>/dev/null; }

# Ports: a random block so the plain and sanitizer builds can run at once.
BASE=$((20000 + (RANDOM % 2000) * 8))
PA=$BASE PB=$((BASE + 1)) NA=$((BASE + 2)) NB=$((BASE + 3))

printf '127.0.0.1 127.0.0.2 : PSK "e2e-secret-not-logged"\n127.0.0.2 %%any : PSK "e2e-rw"\n::1 : PSK "e2e-v6-secret"\n' >"$T/secrets"
chmod 600 "$T/secrets"
conf "$T/a.conf" 127.0.0.1 127.0.0.2 "$PB" 10.1.0.0/16 10.2.0.0/16 start
conf "$T/b.conf" 127.0.0.2 127.0.0.1 "$PA" 10.2.0.0/16 10.1.0.0/16 add

step "--help and bad options"
"$REKEYD" --help | grep -q -- "--natt-port" || die "rekeyd --help"
if "$REKEYD" --kernel bogus 2>"$T/err"; then die "rekeyd accepted --kernel bogus"; fi
grep -q "kernel must be" "$T/err" || die "no message for --kernel bogus"

step "secrets readable by others are refused"
cp "$T/secrets" "$T/open-secrets"
chmod 644 "$T/open-secrets"
if "$REKEYD" -f -c "$T/a.conf" -s "$T/open-secrets" -S "$T/x.ctl" --kernel memory \
    --port $((BASE + 4)) --natt-port $((BASE + 5)) 2>"$T/err"; then
    die "rekeyd started with a world-readable secrets file"
fi
grep -q "readable by group or others" "$T/err" || die "no clear message: $(cat "$T/err")"

step "establish: B responds (auto=add), A initiates (auto=start)"
start b "$PB" "$NB"
start a "$PA" "$NA"
wait_for 10 established a || die "A did not establish"
wait_for 10 established b || die "B did not establish"

step "both sides show the same SPIs"
A_IKE=$(ike_spis a) B_IKE=$(ike_spis b)
[ "$A_IKE" = "$B_IKE" ] || die "IKE SPIs differ: A $A_IKE B $B_IKE"
A_CH=$(child_spis a fwd) B_CH=$(child_spis b rev)
[ "$A_CH" = "$B_CH" ] || die "Child SPIs differ: A $A_CH B $B_CH"
[ "$(json a "d['ike_sas'][0]['encr']")" = ENCR_AES_GCM_16 ] || die "algorithm name"
[ "$(json a "d['ike_sas'][0]['initiator']")" = True ] || die "A is not the initiator"
[ "$(json b "d['ike_sas'][0]['initiator']")" = False ] || die "B is the initiator"
echo "IKE $A_IKE Child $A_CH"
if grep -q "e2e-secret-not-logged" "$T"/*.log; then die "the PSK reached a log"; fi

step "garbage datagrams leave the daemons running, tunnel intact"
"$PY" - "$PA" "$NA" "$PB" "$NB" <<'EOF'
import os, socket, sys
a, na, b, nb = map(int, sys.argv[1:])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for host, port in (("127.0.0.1", a), ("127.0.0.1", na), ("127.0.0.2", b), ("127.0.0.2", nb)):
    for msg in (b"", b"x", b"\0" * 4, b"\0" * 32, b"\0\0\0\0" + os.urandom(200),
                os.urandom(28), os.urandom(1400), b"\xff" * 8,
                bytes(8) + bytes(8) + b"\x21\x20\x22\x08" + bytes(4) + b"\x00\x00\x00\x1c"):
        for _ in range(3):
            u.sendto(msg, (host, port))
EOF
sleep 0.3
alive "$PID_a" && alive "$PID_b" || die "a daemon died on garbage datagrams"
[ "$(ike_spis a)" = "$A_IKE" ] && [ "$(child_spis a fwd)" = "$A_CH" ] || die "tunnel changed"

step "garbage control requests leave the daemon running"
"$PY" - "$T/a.ctl" <<'EOF'
import os, socket, struct, sys
path = sys.argv[1]
cases = [b"", b"\0", b"\0\0\0\0", b"\xff\xff\xff\xff", b"\0\0\0\x05\x01\x01\x09\0\0",
         b"\0\0\0\x05\x01\x02\x01\0\0", b"\0\0\0\x06\x01\x01\x02\0\x05ab",
         b"\0\0\0\x07\x01\x01\x02\0\x02a\x1b", struct.pack(">I", 1 << 30) + b"x" * 100,
         b"GET / HTTP/1.0\r\n\r\n", os.urandom(64), os.urandom(4096)]
bad = 0
for c in cases:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    try:
        s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        reply = s.recv(1000)
        if reply and b"malformed" not in reply:
            bad += 1
            print("unexpected reply", reply)
    except OSError:
        pass
    s.close()
sys.exit(1 if bad else 0)
EOF
alive "$PID_a" || die "A died on garbage control requests"

step "idle control connections are closed, so they cannot lock the operator out"
"$PY" - "$T/a.ctl" "$REKEYCTL" <<'EOF' || die "idle control clients"
import socket, subprocess, sys, time
path, ctl = sys.argv[1], sys.argv[2]
held = []
for _ in range(70):  # more than the daemon's 64 client slots
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    held.append(s)
time.sleep(0.3)
st = lambda: subprocess.run([ctl, "-S", path, "status"], capture_output=True).returncode
if st() == 0:
    sys.exit("status worked while 64 idle clients held every slot: the test proves nothing")
time.sleep(6)  # the daemon's idle limit is 5 s
if st() != 0:
    sys.exit("status still refused after the idle clients should have been closed")
for s in held[:64]:
    s.settimeout(1)
    if s.recv(10) != b"":
        sys.exit("an idle client got data instead of being closed")
EOF
grep -q "control: no complete request within 5 s" "$T/a.log" || die "no log line for the idle close"
[ "$(ike_spis a)" = "$A_IKE" ] || die "tunnel changed after control garbage"
if ctl a up no-such-conn 2>"$T/err"; then die "up of an unknown conn succeeded"; fi
grep -q "no connection 'no-such-conn'" "$T/err" || die "unclear error: $(cat "$T/err")"
if ctl a frobnicate 2>/dev/null; then die "unknown verb accepted"; fi

# snap: both sides in one line "ikeA|childA|ikeB|childB|nA|nB" (one status
# call per side, one interpreter), B's Child SPIs reversed to compare
snap() {
    local ja jb
    ja=$(ctl a status --json) && jb=$(ctl b status --json) || return 1
    "$PY" -c '
import json, sys
a, b = (json.loads(x) for x in sys.argv[1:3])
def ike(d):
    return " ".join(s["spi_i"] + "/" + s["spi_r"] for s in d["ike_sas"]
                    if s["conn"] == "t" and s["state"] == "ESTABLISHED") or "-"
def ch(d, fwd):
    return " ".join(sorted((c["spi_in"] + "/" + c["spi_out"]) if fwd else (c["spi_out"] + "/" + c["spi_in"])
                           for s in d["ike_sas"] for c in s["children"] if c["state"] == "INSTALLED")) or "-"
print("|".join([ike(a), ch(a, True), ike(b), ch(b, False), str(len(a["ike_sas"])), str(len(b["ike_sas"]))]))
' "$ja" "$jb"
}

rekey_check() { # rekey_check WHO KIND: SPIs change, and both sides agree
    local who=$1 kind=$2 s0 s ikeA chA ikeB chB nA nB ike0 ch0 end=$((SECONDS + 10))
    s0=$(snap)
    IFS='|' read -r ike0 ch0 _ _ _ _ <<<"$s0"
    ctl "$who" rekey t "--$kind" || die "rekeyctl rekey --$kind from $who failed"
    while :; do
        s=$(snap)
        IFS='|' read -r ikeA chA ikeB chB nA nB <<<"$s"
        if [ "$kind" = child ]; then
            [ "$chA" != - ] && [ "$chA" != "$ch0" ] && [ "$chA" = "$chB" ] && break
        else
            [ "$ikeA" != - ] && [ "$ikeA" != "$ike0" ] && [ "$ikeA" = "$ikeB" ] &&
                [ "$nA" = 1 ] && [ "$nB" = 1 ] && [ "$chA" = "$chB" ] && break
        fi
        [ $SECONDS -lt $end ] || die "rekey --$kind from $who: before $s0, now $s"
        sleep 0.1
    done
    [ "$kind" = ike ] || [ "$ikeA" = "$ike0" ] || die "IKE SA changed on a Child rekey"
    echo "$who --$kind: IKE $ikeA Child $chA"
}
if [ "${REKEYD_TEST_REKEY:-1}" = 1 ]; then
    step "rekeyctl rekey --child and --ike from each side"
    rekey_check a child
    rekey_check b child
    rekey_check a ike
    rekey_check b ike
    [ "$(json a "d['ike_sas'][0]['rekeys']")" -ge 2 ] || die "IKE rekey count"
else
    step "rekey checks skipped (REKEYD_TEST_REKEY=0)"
fi

step "down, then up again"
ctl a down t >/dev/null || die "rekeyctl down failed"
wait_for 10 no_sas a || die "A still has SAs after down"
wait_for 10 no_sas b || die "B did not see the DELETE"
if ctl a rekey t 2>"$T/err"; then die "rekey without an SA succeeded"; fi
grep -q "^rekeyctl: rekey t: " "$T/err" || die "unclear rekey error: $(cat "$T/err")"
ctl a up t >/dev/null || die "rekeyctl up failed"
wait_for 10 established a || die "A did not re-establish"
wait_for 10 established b || die "B did not re-establish"
A_IKE=$(ike_spis a) A_CH=$(child_spis a fwd)

step "reload keeps unchanged tunnels; a bad config is refused"
conf "$T/b.conf" 127.0.0.2 127.0.0.1 "$PA" 10.2.0.0/16 10.1.0.0/16 add \
    "$(printf 'conn t2\n\talso=base\n\tleft=127.0.0.2\n\tright=%%any\n\tauto=add\n')"
out=$(ctl b reload) || die "rekeyctl reload failed"
echo "$out" | grep -q "1 unchanged, 0 changed, 1 added, 0 removed" || die "reload said: $out"
[ "$(ike_spis b)" = "$A_IKE" ] || die "reload dropped the unchanged tunnel"
[ "$(json b "len(d['conns'])")" = 2 ] || die "t2 not loaded"
echo "# comment" >>"$T/a.conf"
kill -HUP "$PID_a"
wait_for 10 grep -q "config reloaded" "$T/a.log" || die "SIGHUP did not reload"
[ "$(ike_spis a)" = "$A_IKE" ] && [ "$(child_spis a fwd)" = "$A_CH" ] || die "SIGHUP dropped the tunnel"
cp "$T/b.conf" "$T/b.conf.good"
printf 'conn broken\n\tlefty=1\n' >>"$T/b.conf"
if ctl b reload 2>"$T/err"; then die "a bad config reloaded"; fi
grep -q "b.conf:[0-9]*: unknown key 'lefty'" "$T/err" || die "reload error: $(cat "$T/err")"
[ "$(ike_spis b)" = "$A_IKE" ] || die "a failed reload dropped the tunnel"
alive "$PID_b" || die "B died on a bad reload"
cp "$T/b.conf.good" "$T/b.conf"

step "a changed conn is restarted by reload"
conf "$T/a.conf" 127.0.0.1 127.0.0.2 "$PB" 10.1.0.0/16 10.2.0.0/16 start "	lifetime=50m"
ctl a reload | grep -q "0 unchanged, 1 changed" || die "changed conn not detected"
wait_for 10 eval '[ -n "$(ike_spis a)" ] && [ "$(ike_spis a)" != "$A_IKE" ]' || die "changed conn not restarted"
wait_for 10 eval '[ "$(ike_spis a)" = "$(ike_spis b)" ] && [ "$(n_ike b)" = 1 ]' || die "sides disagree after restart"

step "watch streams events"
ctl b watch >"$T/watch.out" 2>&1 &
WPID=$!
PIDS+=("$WPID")
sleep 0.3
ctl a down t >/dev/null
wait_for 10 grep -q "event IKE_DOWN conn=t" "$T/watch.out" || die "watch saw no IKE_DOWN: $(cat "$T/watch.out")"
kill "$WPID" 2>/dev/null || true
ctl a up t >/dev/null
wait_for 10 established b || die "no re-establish after watch"
ctl a diagnose t | grep -q "^t: auto=start, 1 IKE SA" || die "diagnose: $(ctl a diagnose t)"

step "SIGTERM: A deletes its SAs and exits 0; B sees the DELETE"
kill -TERM "$PID_a"
rc=0
wait "$PID_a" || rc=$?
[ "$rc" = 0 ] || die "A exited $rc after SIGTERM"
grep -q "DEL_SA" "$T/a.log" || die "A removed no kernel SA"
wait_for 3 no_sas b || die "B still has SAs after A's shutdown"
[ ! -e "$T/a.ctl" ] || die "A left its control socket behind"
kill -TERM "$PID_b"
rc=0
wait "$PID_b" || rc=$?
[ "$rc" = 0 ] || die "B exited $rc after SIGTERM"

if "$PY" -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
    # Both ends on their NAT-T ports: every IKE message carries the
    # non-ESP marker (RFC 3948 2.2), as with strongSwan after IKE_SA_INIT.
    step "IPv6 on ::1, IKE over the NAT-T ports (non-ESP marker)"
    conf "$T/c.conf" ::1 ::1 "$NB" 2001:db8:1::/48 2001:db8:2::/48 start "	leftikeport=$NA"
    conf "$T/d.conf" ::1 ::1 "$NA" 2001:db8:2::/48 2001:db8:1::/48 add "	leftikeport=$NB"
    start d "$PB" "$NB"
    start c "$PA" "$NA"
    wait_for 10 established c || die "IPv6 pair did not establish"
    [ "$(ike_spis c)" = "$(ike_spis d)" ] || die "IPv6 SPIs differ"
    json c "d['ike_sas'][0]['local']" | grep -q "::1\[$NA\]" || die "IPv6 local endpoint"
    grep -q "received IKE_AUTH request .* from ::1\[$NA\]" "$T/d.log" || die "IKE_AUTH not on NAT-T"
    kill -TERM "$PID_c" "$PID_d"
    wait "$PID_c" && wait "$PID_d" || die "the IPv6 pair did not exit 0"
else
    step "IPv6 skipped: no ::1"
fi
# Sanitizer builds: the daemons report memory errors and leaks at exit.
if grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$T"/*.log; then
    die "sanitizer report in a daemon log"
fi
echo "e2e: all steps passed"
echo "100%: Checks: $NSTEPS, Failures: 0, Errors: 0"
