# shellcheck shell=bash
# interop/lib.sh: the common library of the interop scenarios (issue 7).
# Sourced by a scenario script that runs INSIDE the User-Mode Linux guest
# (interop/run boots it); it must only touch the guest: its namespaces, its
# tmpfs, and the scenario's log folder (on the host filesystem through hostfs,
# so logs survive the guest for a look afterwards).
#
# A scenario is a bash script:
#
#     . "$(dirname "$0")/../lib.sh"          # (path relative to the script)
#     scenario_begin rekeyd-pair "rekeyd <-> rekeyd, manual and automatic rekeys"
#     rk_write_conf a left start "ike=..." "esp=..."   # see rk_write_conf
#     rk_write_conf b right add  "ike=..." "esp=..."
#     rk_start a "$L"; rk_start b "$R"
#     check "tunnel up" wait_for 20 rk_established a
#     traffic_start                        # UDP echo with sequence numbers
#     ...  rk_ctl a rekey t --child; check ...
#     traffic_stop; check_traffic          # zero lost packets
#     scenario_end                         # report + Check line, returns 0/1
#
# Topology (net_up), both namespaces inside the guest:
#     left  [dummy0 10.1.0.1/24]  veth "vl" 192.0.2.1/24
#            <------ veth ------>
#     right [dummy0 10.2.0.1/24]  veth "vr" 192.0.2.2/24
# Each side routes the other's inner subnet over the veth (the route lookup
# precedes the policy lookup, so tunnel mode needs one), and iptables-legacy
# drops every packet from the peer's inner subnet that did not arrive through
# IPsec (`-m policy --dir in --pol none`): an inner packet can only arrive
# through ESP. UML has no nf_tables for ip/inet, hence iptables-legacy.
# IPv6 is off in both namespaces (no address appears in the middle of a run).
#
# Costs in UML: every process start is 0.1-0.3 s (1 s on a loaded host), so
# helpers parse with bash builtins where they can, and polling loops sleep
# with `nap` (no process).
#
# Functions (each documented where it is defined):
#   scenario_begin/scenario_end/at_end   a scenario's frame; check/pass/fail/note
#   wait_for SECS CMD, nap SECS          polling without busy loops
#   in_ns NS CMD, in_ns_bg NS LOG CMD    run in a namespace (bg: BG_PID = CMD's pid)
#   net_up/net_down, plaintext_drops     the topology and its ESP-only filter
#   crypto_warmup                        once per boot (scenario_begin calls it)
#   xfrm_spis, xfrm_only, kernels_hold   the kernels' ESP SAs
#   traffic_start/traffic_live/traffic_stop/check_traffic   sequence-numbered UDP
#   rk_write_conf/rk_start/rk_stop/rk_ctl/rk_state/rk_json  rekeyd instances
#   rk_established, rk_counts, rk_wait_rekeys, rk_agree, settle, rk_log_clean, log_errors
# A peer's helpers live in its folder (interop/strongswan/swan.sh: sw_*).
#
# Report format (scenario_end), one line each, grep-able:
#   REPORT scenario=NAME result=PASS|FAIL checks=N failures=F child_rekeys=C
#          ike_rekeys=I sent=S lost=L time=Ts
#   NAME: Checks: N, Failures: F, Errors: 0      (tests/run adds these up)
# C and I are what the scenario counted (SC_CHILD_REKEYS / SC_IKE_REKEYS, set
# by the scenario; "-" if it did not set them), S and L the traffic totals
# over every traffic_start/traffic_stop of the scenario.

IX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IX_BUILD=${IX_BUILD:-$IX_ROOT/build}
REKEYD=${REKEYD:-$IX_BUILD/src/daemon/rekeyd}
REKEYCTL=${REKEYCTL:-$IX_BUILD/src/daemon/rekeyctl}
IX_LOGDIR=${IX_LOGDIR:-$IX_BUILD/interop-logs}
# The system interpreter: a pyenv shim costs seconds per call in UML.
PY=${PY:-/usr/bin/python3}

L=left R=right
L_OUT=192.0.2.1 R_OUT=192.0.2.2
L_IN=10.1.0.1 R_IN=10.2.0.1
L_NET=10.1.0.0/24 R_NET=10.2.0.0/24
PSK=${PSK:-interop-psk-not-a-real-secret}

# ---------------------------------------------------------------- checks

sc_pass=0 sc_fail=0
pass() { sc_pass=$((sc_pass + 1)); echo "  PASS: $*"; }
fail() { sc_fail=$((sc_fail + 1)); echo "  FAIL: $*"; }
# check DESCRIPTION CMD...: run CMD, PASS or FAIL the check, return CMD's status.
check() {
    local what=$1; shift
    if "$@"; then pass "$what"; return 0; fi
    fail "$what"; return 1
}
# note TEXT: a timestamped line in the scenario's output.
note() { echo "  [$((SECONDS - SC_T0))s] $*"; }

# nap SECONDS: sleep without starting a process (read times out on a pipe
# that never delivers).
# (devtmpfs has no /dev/fd, which process substitution needs: add it.)
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
exec {IX_NAP_FD}<> <(:)
nap() { read -r -t "$1" -u "$IX_NAP_FD" _ix_nap; return 0; }

# wait_for SECONDS CMD...: poll CMD every 0.25 s until it succeeds; status 1
# when SECONDS pass first.
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt "$end" ] || return 1
        nap 0.25
    done
}

# in_ns NS CMD...: run CMD in the network namespace NS (nsenter is cheaper
# than `ip netns exec`, which also remounts /sys).
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
# in_ns_bg NS LOG CMD...: CMD in NS in the background, output appended to
# LOG; BG_PID is CMD's own pid (nsenter execs it), so a signal reaches it.
in_ns_bg() {
    local ns=$1 log=$2; shift 2
    nsenter --net="/run/netns/$ns" "$@" >>"$log" 2>&1 &
    BG_PID=$!
}

# ---------------------------------------------------------------- scenario

# scenario_begin NAME DESCRIPTION: fresh counters, log folder
# $IX_LOGDIR/NAME (SC_DIR), runtime folder /run/interop/NAME (SC_RUN, for
# sockets), the network, and an `ip xfrm monitor` per namespace writing the
# kernel's timeline to SC_DIR/xfrm-NS.out.
scenario_begin() {
    SC_NAME=$1 SC_DESC=$2 SC_T0=$SECONDS
    SC_DIR=$IX_LOGDIR/$SC_NAME SC_RUN=/run/interop/$SC_NAME
    SC_CHILD_REKEYS=- SC_IKE_REKEYS=- SC_SENT=0 SC_LOST=0
    sc_pass=0 sc_fail=0
    SC_PIDS=() SC_STOP_HOOKS=()
    rm -rf "$SC_DIR" "$SC_RUN"
    mkdir -p "$SC_DIR" "$SC_RUN"
    echo "=== scenario $SC_NAME: $SC_DESC"
    SC_ENDED=0
    trap 'scenario_abort' INT TERM HUP
    trap 'scenario_exit $? "$BASH_COMMAND"' EXIT
    crypto_warmup
    check "network: two namespaces, veth, dummy inner subnets, ESP-only filter" net_up || true
    xmon_start "$L"; xmon_start "$R"
}

# at_end CMD...: run CMD (a stop hook) when the scenario ends, last first.
at_end() { SC_STOP_HOOKS+=("$*"); }

scenario_abort() { fail "interrupted"; scenario_end; exit 1; }
# scenario_exit STATUS COMMAND (EXIT trap): the script ended without
# scenario_end, through an `exit` or a fatal shell error: say so and end
# the scenario as a failure, so a report and the logs' folder still come.
scenario_exit() {
    [ "${SC_ENDED:-1}" = 1 ] && return
    fail "the scenario script exited (status $1) before its end, at: $2"
    scenario_end
}

# scenario_end: stop traffic, endpoints (hooks) and monitors, remove the
# namespaces, print the REPORT and Check lines; status 1 on any failure.
scenario_end() {
    local i p result=PASS
    [ -n "${TR_PID:-}" ] && traffic_stop
    traffic_end
    for ((i = ${#SC_STOP_HOOKS[@]} - 1; i >= 0; i--)); do eval "${SC_STOP_HOOKS[i]}"; done
    for p in "${SC_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${SC_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    SC_PIDS=() SC_STOP_HOOKS=()
    # On a failure, the kernels' XFRM error counters say where packets went
    # (XfrmInNoStates: arrived for an SA not, or no longer, installed...).
    if [ "$sc_fail" != 0 ] || [ "$SC_LOST" != 0 ]; then
        local ns line
        for ns in "$L" "$R"; do
            while read -r line; do
                [[ $line =~ [[:space:]]0$ ]] || echo "  xfrm_stat $ns: $line"
            done < <(in_ns "$ns" cat /proc/net/xfrm_stat 2>/dev/null)
        done
    fi
    net_down
    trap - INT TERM HUP
    SC_ENDED=1
    [ "$sc_fail" = 0 ] && [ "$sc_pass" -gt 0 ] || result=FAIL
    [ $result = PASS ] || echo "  logs: $SC_DIR"
    echo "REPORT scenario=$SC_NAME result=$result checks=$((sc_pass + sc_fail)) failures=$sc_fail" \
        "child_rekeys=$SC_CHILD_REKEYS ike_rekeys=$SC_IKE_REKEYS sent=$SC_SENT lost=$SC_LOST" \
        "time=$((SECONDS - SC_T0))s"
    echo "$SC_NAME: Checks: $((sc_pass + sc_fail)), Failures: $sc_fail, Errors: 0"
    [ $result = PASS ]
}

# bg NAME CMD...: start CMD in the background, stdout+stderr to
# SC_DIR/NAME.out; killed (TERM) at scenario_end. Sets BG_PID.
bg() {
    local name=$1; shift
    "$@" >>"$SC_DIR/$name.out" 2>&1 &
    BG_PID=$!
    SC_PIDS+=("$BG_PID")
}

# ---------------------------------------------------------------- network

net_up() {
    net_down
    ip netns add "$L" && ip netns add "$R" || return 1
    ip link add vl netns "$L" type veth peer name vr netns "$R" || return 1
    net_side "$L" vl "$L_OUT" "$L_IN" "$R_NET" || return 1
    net_side "$R" vr "$R_OUT" "$R_IN" "$L_NET" || return 1
}

# net_side NS DEV OUTER_ADDR INNER_ADDR PEER_INNER_NET
net_side() {
    in_ns "$1" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
        echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' || return 1
    ip -n "$1" -batch - <<EOB || return 1
link set lo up
addr add $3/24 dev $2
link set $2 up
link add dummy0 type dummy
addr add $4/24 dev dummy0
link set dummy0 up
route add $5 dev $2 src $4
EOB
    in_ns "$1" iptables-legacy -A INPUT -s "$5" -m policy --dir in --pol none -j DROP
}

net_down() {
    ip netns del "$L" 2>/dev/null
    ip netns del "$R" 2>/dev/null
    return 0
}

# ike_block -A|-D: add (-A) or delete (-D) iptables-legacy rules that drop
# IKE (UDP 500 and 4500) on arrival in both namespaces and let ESP
# through: the firewall on the path that causes "rekeying failed" (issue
# 8), and a way to make two rekey requests cross for certain (both go
# unanswered until -D, then the retransmits meet). Dropped on arrival, as
# a firewall between the hosts would: an OUTPUT rule would instead fail
# the daemon's send at once with EPERM. One iptables-legacy-restore per
# namespace (--noflush: only these rules change), not one process per
# rule: under load each process start in UML costs up to a second.
ike_block() {
    local ns
    for ns in "$L" "$R"; do
        printf '*filter\n%s INPUT -p udp --dport 500 -j DROP\n%s INPUT -p udp --dport 4500 -j DROP\nCOMMIT\n' \
            "$1" "$1" | in_ns "$ns" iptables-legacy-restore --noflush || return 1
    done
}

# plaintext_drops VAR NS: packets the ESP-only filter of NS dropped so far.
plaintext_drops() {
    local line
    printf -v "$1" '%s' 0
    while read -r line; do
        # the ESP-only rule, not a scenario's own DROP rules (ike_block)
        if [[ $line == *"pol none"* && $line =~ ^[[:space:]]*([0-9]+)[[:space:]]+[0-9]+[[:space:]]+DROP ]]; then
            printf -v "$1" '%s' "${BASH_REMATCH[1]}"
        fi
    done < <(in_ns "$2" iptables-legacy -L INPUT -v -n -x)
}

# ---------------------------------------------------------------- kernel

# crypto_warmup: once per boot, install one SA of each ESP algorithm family
# in a scratch namespace. The first SA of an algorithm makes the kernel
# build and self-test its crypto template (request_module and cryptomgr),
# which took up to 20 s in UML on a loaded host: inside a negotiation that
# stalls the daemon and makes the peer retransmit. Not what a scenario tests.
crypto_warmup() {
    [ -e /run/interop/.warm ] && return 0
    local t0=$SECONDS
    ip netns add ixwarm || return 1
    # With every module preloaded (interop/uml/guest-init), the kernel's
    # request_module calls for the template names ("crypto-gcm(aes)-all"...)
    # find nothing and cost a modprobe process each: switch the helper off
    # while the templates are built (an empty path makes request_module
    # return at once), retry with it on if something was missing after all.
    # The IV generators take the kernel's default RNG (drbg), a module that
    # guest-init does not preload.
    local mp
    modprobe -a drbg jitterentropy_rng 2>/dev/null
    read -r mp </proc/sys/kernel/modprobe
    echo >/proc/sys/kernel/modprobe
    if ! warm_sas >"$SC_RUN/warm.err" 2>&1; then
        echo "  (warm-up without modprobe: $(grep -c . "$SC_RUN/warm.err") errors; again with it)"
        echo "$mp" >/proc/sys/kernel/modprobe
        ip -n ixwarm xfrm state flush
        warm_sas
    fi
    echo "$mp" >/proc/sys/kernel/modprobe
    ip netns del ixwarm
    mkdir -p /run/interop && : >/run/interop/.warm
    echo "  (kernel crypto templates warmed up in $((SECONDS - t0))s)"
}
warm_sas() {
    local k32 k36
    printf -v k32 '0x%064d' 0; printf -v k36 '0x%072d' 0
    ip -n ixwarm -force -batch - <<EOB
xfrm state add src 192.0.2.9 dst 192.0.2.8 proto esp spi 0x101 mode tunnel aead rfc4106(gcm(aes)) $k36 128
xfrm state add src 192.0.2.9 dst 192.0.2.8 proto esp spi 0x102 mode tunnel enc cbc(aes) $k32 auth-trunc hmac(sha256) $k32 128
xfrm state add src 192.0.2.9 dst 192.0.2.8 proto esp spi 0x103 mode tunnel enc cbc(aes) $k32 auth-trunc hmac(sha1) 0x$(printf '%040d' 0) 96
xfrm state add src 192.0.2.9 dst 192.0.2.8 proto esp spi 0x104 mode tunnel enc cbc(aes) $k32 auth-trunc hmac(sha384) 0x$(printf '%096d' 0) 192
xfrm state add src 192.0.2.9 dst 192.0.2.8 proto esp spi 0x105 mode tunnel enc cbc(aes) $k32 auth-trunc hmac(sha512) 0x$(printf '%0128d' 0) 256
xfrm state add src 192.0.2.9 dst 192.0.2.8 proto esp spi 0x106 mode tunnel aead rfc7539esp(chacha20,poly1305) $k36 128
EOB
}

# xmon_start NS: `ip -ts xfrm monitor` of NS into SC_DIR/xfrm-NS.out, the
# kernel's timeline of SA adds, deletes and expires (for loss analysis).
# Only SA, expire and acquire messages: aevents (replay updates) would come
# every other packet and cost CPU the guest does not have.
xmon_start() { bg "xfrm-$1" ip -n "$1" -ts xfrm monitor SA expire acquire; }

# xfrm_spis VAR NS: the ESP SPIs (0x%08x, space-separated, sorted as listed)
# of the keyed SAs in NS's kernel (larval ACQUIRE states have no keys).
xfrm_spis() {
    local line spi='' out=''
    while read -r line; do
        if [[ $line =~ proto\ esp\ spi\ (0x[0-9a-f]+) ]]; then
            spi=${BASH_REMATCH[1]}
        elif [[ -n $spi && $line =~ ^(aead|enc|auth|auth-trunc)\  ]]; then
            out+=${out:+ }$spi spi=
        fi
    done < <(ip -n "$2" xfrm state list 2>/dev/null)
    printf -v "$1" '%s' "$out"
}

# xfrm_only NS SPI...: the keyed ESP SAs of NS are exactly these SPIs (any
# order; SPIs as 0x%08x or bare 8 hex digits). Prints what it found.
xfrm_only() {
    local ns=$1 have x ok=1; shift
    declare -A want=()
    for x in "$@"; do [[ $x == 0x* ]] || x=0x$x; want[$x]=1; done
    xfrm_spis have "$ns"
    echo "    kernel $ns: ${have:-none} (expected ${*:-none})"
    for x in $have; do [ -n "${want[$x]:-}" ] || ok=0; unset "want[$x]"; done
    [ $ok = 1 ] && [ ${#want[@]} = 0 ]
}

# xmon_spis_added VAR NS: distinct SPIs of SAs added in NS, as the monitor
# saw them ("Updated" for SAs made by UPDSA after an ALLOCSPI counts too).
xmon_spis_added() {
    local line out='' re='proto esp spi (0x[0-9a-f]+)'
    declare -A seen=()
    while read -r line; do
        [[ $line =~ $re ]] || continue
        [ -n "${seen[${BASH_REMATCH[1]}]:-}" ] && continue
        seen[${BASH_REMATCH[1]}]=1
        out+=${out:+ }${BASH_REMATCH[1]}
    done <"$SC_DIR/xfrm-$2.out"
    printf -v "$1" '%s' "$out"
}

# ---------------------------------------------------------------- traffic

# traffic_start [INTERVAL]: a UDP echo server on the right inner address
# and a sender on the left one (interop/traffic.py), one datagram per
# INTERVAL seconds (default 0.05: about 17-20 per second in UML) with a
# sequence number; both directions cross the tunnel. Live counts in
# SC_DIR/traffic.live ("sent= received= lost= t="). The echo server is
# started by the first traffic_start of a scenario and stays until
# scenario_end (traffic_end): a Python start costs 1-3 s in UML.
traffic_start() {
    local iv=${1:-0.05}
    TR_N=$((${TR_N:-0} + 1))
    rm -f "$SC_DIR/traffic.res" "$SC_DIR/traffic.live"
    if [ -z "${TR_EPID:-}" ] || ! kill -0 "$TR_EPID" 2>/dev/null; then
        rm -f "$SC_DIR/echo.res"
        in_ns_bg "$R" "$SC_DIR/traffic.out" "$PY" "$IX_ROOT/interop/traffic.py" echo \
            --bind "$R_IN" --out "$SC_DIR/echo.res"
        TR_EPID=$BG_PID
        # The echo server says "ready" in its result file once bound: a
        # request sent before would be refused (port unreachable) and
        # counted as lost. (60 s: a Python start took over 15 s in UML at
        # load 9; the limit costs nothing when it starts sooner.)
        wait_for 60 test -s "$SC_DIR/echo.res" || return 1
    fi
    in_ns_bg "$L" "$SC_DIR/traffic.out" "$PY" "$IX_ROOT/interop/traffic.py" send \
        --bind "$L_IN" --to "$R_IN" --interval "$iv" --out "$SC_DIR/traffic.res" \
        --live "$SC_DIR/traffic.live"
    TR_PID=$BG_PID
    # The first second of Python startup in UML: wait until it counts.
    wait_for 60 traffic_flowing
}

# traffic_live: TR_SENT, TR_RECEIVED, TR_LOST so far (from the live file).
traffic_live() {
    local line='' kv
    TR_SENT=0 TR_RECEIVED=0 TR_LOST=0
    [ -r "$SC_DIR/traffic.live" ] && read -r line <"$SC_DIR/traffic.live"
    for kv in $line; do
        case $kv in
        sent=*) TR_SENT=${kv#*=} ;; received=*) TR_RECEIVED=${kv#*=} ;; lost=*) TR_LOST=${kv#*=} ;;
        esac
    done
}
traffic_flowing() { traffic_live; [ "$TR_RECEIVED" -gt 0 ]; }

# traffic_stop: stop the sender (it waits up to 2 s for the last echoes,
# no longer than until every request is answered) and read the echo
# server's count since the last traffic_start (SIGUSR1: it writes the count
# and starts again from 0; it keeps running for the next traffic_start);
# sets TR_SENT TR_RECEIVED TR_LOST TR_LATE TR_LOST_SEQS TR_LOST_AT
# TR_ECHOED (requests that reached the right side) and adds to the
# scenario's totals. Prints one line.
traffic_stop() {
    local line='' kv
    [ -n "${TR_PID:-}" ] || return 1
    kill -TERM "$TR_PID" 2>/dev/null; wait "$TR_PID" 2>/dev/null
    TR_PID=
    rm -f "$SC_DIR/echo.res"
    kill -USR1 "$TR_EPID" 2>/dev/null && wait_for 5 test -s "$SC_DIR/echo.res"
    TR_SENT=0 TR_RECEIVED=0 TR_LOST=0 TR_LATE=0 TR_LOST_SEQS= TR_LOST_AT= TR_ECHOED=?
    [ -r "$SC_DIR/traffic.res" ] && read -r line <"$SC_DIR/traffic.res"
    for kv in $line; do
        case $kv in
        sent=*) TR_SENT=${kv#*=} ;; received=*) TR_RECEIVED=${kv#*=} ;;
        lost=*) TR_LOST=${kv#*=} ;; late=*) TR_LATE=${kv#*=} ;;
        lost_seqs=*) TR_LOST_SEQS=${kv#*=} ;; lost_at=*) TR_LOST_AT=${kv#*=} ;;
        esac
    done
    [ -r "$SC_DIR/echo.res" ] && read -r kv <"$SC_DIR/echo.res" && TR_ECHOED=${kv#received=}
    SC_SENT=$((SC_SENT + TR_SENT)) SC_LOST=$((SC_LOST + TR_LOST))
    note "traffic: sent $TR_SENT, answered $TR_RECEIVED, lost $TR_LOST" \
        "(requests that reached the right side: $TR_ECHOED)${TR_LOST_SEQS:+, lost seqs $TR_LOST_SEQS at $TR_LOST_AT}"
    [ -n "$line" ]
}

# traffic_end: stop the echo server (scenario_end calls it).
traffic_end() {
    [ -n "${TR_EPID:-}" ] || return 0
    kill -TERM "$TR_EPID" 2>/dev/null; wait "$TR_EPID" 2>/dev/null
    TR_EPID=
}

# check_traffic: the checks after traffic_stop: datagrams flowed, none lost.
check_traffic() {
    check "traffic flowed ($TR_SENT sent)" [ "$TR_SENT" -gt 10 ]
    check "zero packets lost ($TR_LOST of $TR_SENT)" [ "$TR_LOST" = 0 ]
}

# ---------------------------------------------------------------- rekeyd

# rk_write_conf INST SIDE AUTO [KEY=VALUE...]: SC_DIR/INST.conf for a rekeyd
# on SIDE (left|right) of the topology with conn "t" (tunnel mode between
# the two inner subnets, PSK, IDs @left/@right) and auto=AUTO; each
# KEY=VALUE is added to the conn (ike=, esp=, lifetime=, rekeyfuzz=...).
# Also writes SC_DIR/secrets (mode 600) shared by every instance.
rk_write_conf() {
    local inst=$1 side=$2 auto=$3 kv me peer mynet peernet
    shift 3
    if [ "$side" = left ]; then
        me=$L_OUT peer=$R_OUT mynet=$L_NET peernet=$R_NET
    else
        me=$R_OUT peer=$L_OUT mynet=$R_NET peernet=$L_NET
    fi
    {
        echo "# written by interop/lib.sh for scenario $SC_NAME"
        echo "conn t"
        printf '\t%s\n' "left=$me" "leftid=@$side" "leftsubnet=$mynet" \
            "right=$peer" "rightid=@$([ "$side" = left ] && echo right || echo left)" \
            "rightsubnet=$peernet" "authby=secret" "type=tunnel" "auto=$auto"
        for kv in "$@"; do printf '\t%s\n' "$kv"; done
        # Scenarios count rekeys: the rekey check after set-up (issue 8,
        # on by default) would add one. A scenario passes rekeycheck=yes.
        case " $* " in *" rekeycheck="*) ;; *) printf '\t%s\n' rekeycheck=no ;; esac
    } >"$SC_DIR/$inst.conf"
    write_secrets
}

write_secrets() {
    [ -f "$SC_DIR/secrets" ] && return 0
    printf '@left @right : PSK "%s"\n' "$PSK" >"$SC_DIR/secrets"
    chmod 600 "$SC_DIR/secrets"
}

# rk_start INST NS [rekeyd options...]: rekeyd -f -d --kernel xfrm in NS with
# SC_DIR/INST.conf, SC_DIR/secrets, control socket SC_RUN/INST.ctl, log
# SC_DIR/INST.log. Waits for the control socket. At scenario_end it gets
# SIGTERM (clean DELETEs) unless stopped before (rk_stop).
rk_start() {
    local inst=$1 ns=$2; shift 2
    in_ns_bg "$ns" "$SC_DIR/$inst.log" "$REKEYD" -f -d -c "$SC_DIR/$inst.conf" \
        -s "$SC_DIR/secrets" -S "$SC_RUN/$inst.ctl" --kernel xfrm "$@"
    eval "RK_PID_$inst=$BG_PID"
    SC_PIDS+=("$BG_PID")
    wait_for 20 test -S "$SC_RUN/$inst.ctl"
}

# rk_stop INST: SIGTERM, wait for the exit; status 0 when rekeyd exited 0.
rk_stop() {
    local p; eval "p=\${RK_PID_$1:-}"
    [ -n "$p" ] || return 1
    kill -TERM "$p" 2>/dev/null
    wait "$p"
}

# rk_ctl INST ARGS...: rekeyctl against INST's control socket.
rk_ctl() { local inst=$1; shift; "$REKEYCTL" -S "$SC_RUN/$inst.ctl" "$@"; }

# rk_json INST EXPR: evaluate a Python expression over `status --json` (as d)
# and print it; est(d) are the ESTABLISHED IKE SAs of conn "t", inst(d)
# their INSTALLED Child SAs. Python costs 1-3 s per start in UML: for the
# usual fields use rk_state, which parses with bash builtins.
rk_json() {
    rk_ctl "$1" status --json | "$PY" -c "
import json, sys
d = json.load(sys.stdin)
est = lambda d: [s for s in d['ike_sas'] if s['conn'] == 't' and s['state'] == 'ESTABLISHED']
inst = lambda d: [c for s in est(d) for c in s['children'] if c['state'] == 'INSTALLED']
print($2)"
}

# rk_state INST [CONN]: one `status --json`, parsed with bash builtins; sets
#   RK_IKE           "spi_i/spi_r" of the ESTABLISHED IKE SAs of CONN (t)
#   RK_IKE_REKEYS    their rekey counters (space-separated, same order)
#   RK_CHILD         "spi_in/spi_out" of their INSTALLED Child SAs
#   RK_CHILD_REKEYS  the Child SAs' lineage rekey counters
#   RK_N_IKE RK_N_CHILD  every IKE SA / Child SA of any state and conn
#   RK_FAILURE       the last_failure texts ("none" when there are none)
rk_state() {
    local js sa ike kids kid conn st re
    RK_IKE= RK_IKE_REKEYS= RK_CHILD= RK_CHILD_REKEYS= RK_N_IKE=0 RK_N_CHILD=0 RK_FAILURE=
    js=$(rk_ctl "$1" status --json) || return 1
    js=${js%%'],"conns":'*}
    js=${js//'{"conn":'/$'\x01'}
    while [[ $js == *$'\x01'* ]]; do
        js=${js#*$'\x01'}
        sa=${js%%$'\x01'*}
        ike=${sa%%'"children":['*} kids=${sa#*'"children":['}
        RK_N_IKE=$((RK_N_IKE + 1))
        re='^"([^"]*)","spi_i":"([0-9a-f]+)","spi_r":"([0-9a-f]+)".*"state":"([A-Z_]+)"'
        [[ $ike =~ $re ]] || continue
        conn=${BASH_REMATCH[1]} st=${BASH_REMATCH[4]}
        local spis=${BASH_REMATCH[2]}/${BASH_REMATCH[3]}
        re='"last_failure":"([^"]*)"'
        [[ $ike =~ $re ]] && RK_FAILURE+=${RK_FAILURE:+; }${BASH_REMATCH[1]}
        local est=0
        if [ "$conn" = "${2:-t}" ] && [ "$st" = ESTABLISHED ]; then
            est=1
            RK_IKE+=${RK_IKE:+ }$spis
            re='"rekeys":([0-9]+)'
            [[ $ike =~ $re ]] && RK_IKE_REKEYS+=${RK_IKE_REKEYS:+ }${BASH_REMATCH[1]}
        fi
        kids=${kids//'{"spi_in":'/$'\x02'}
        while [[ $kids == *$'\x02'* ]]; do
            kids=${kids#*$'\x02'}
            kid=${kids%%$'\x02'*}
            RK_N_CHILD=$((RK_N_CHILD + 1))
            re='^"([0-9a-f]+)","spi_out":"([0-9a-f]+)","state":"([A-Z_]+)".*"rekeys":([0-9]+)'
            [[ $est = 1 && $kid =~ $re && ${BASH_REMATCH[3]} = INSTALLED ]] || continue
            RK_CHILD+=${RK_CHILD:+ }${BASH_REMATCH[1]}/${BASH_REMATCH[2]}
            RK_CHILD_REKEYS+=${RK_CHILD_REKEYS:+ }${BASH_REMATCH[4]}
        done
    done
    RK_FAILURE=${RK_FAILURE:-none}
}

# rk_established INST: one established IKE SA with one installed Child SA.
rk_established() {
    rk_state "$1" && [ -n "$RK_IKE" ] && [ -n "$RK_CHILD" ] && [[ $RK_CHILD != *' '* ]]
}

# rk_single INST: rk_established, and the Child SA's IKE SA is the only one.
rk_single() { rk_established "$1" && [[ $RK_IKE != *' '* ]]; }

# rk_counts INST: rekeyd's lineage counters RK_CHILD_REKEYS and
# RK_IKE_REKEYS read at a moment when INST holds one IKE SA and one Child
# SA. During a collision the redundant SA lives until its creator's
# DELETE, which may come a retransmission later, and it has a counter of
# its own: a read then lists two numbers. Waits up to 10 s for such a
# moment; status 1 and empty counters when none came.
rk_counts() {
    wait_for 10 rk_single "$1" && return 0
    RK_CHILD_REKEYS= RK_IKE_REKEYS=
    return 1
}

# rk_log_clean INST: no error or warning lines in INST's log (prints them),
# except a rekey the peer refused with TEMPORARY_FAILURE and we retry (RFC
# 7296 2.25: the answer of a peer busy with a colliding exchange).
rk_log_clean() {
    ! grep -v 'temporary failure' "$SC_DIR/$1.log" |
        grep -E -i '(^|[^a-z_])(error|failed|failure|critical|panic)([^a-z_]|$)| warn ' |
        head -5 | grep .
}

# rk_wait_rekeys INST CHILD IKE [SECONDS]: wait until INST shows one
# established IKE SA with IKE rekey counter IKE and one installed Child SA
# with lineage counter CHILD (either may be "-" for any).
rk_wait_rekeys() {
    wait_for "${4:-20}" rk_rekeys_are "$1" "$2" "$3"
}
rk_rekeys_are() {
    rk_established "$1" || return 1
    [ "$2" = - ] || [ "$RK_CHILD_REKEYS" = "$2" ] || return 1
    [ "$3" = - ] || [ "$RK_IKE_REKEYS" = "$3" ]
}

# rk_agree A B: both rekeyd instances show the same single IKE SA and the
# same single Child SA (B's in/out is A's out/in), and each kernel holds
# exactly that Child SA's two ESP SAs (old SAs gone). Sets AG_CHILD (A's
# in/out) and AG_IKE.
rk_agree() {
    local a_ike a_ch b_ch
    AG_CHILD= AG_IKE=
    rk_established "$1" || { echo "    $1: not established ($RK_IKE / $RK_CHILD)"; return 1; }
    a_ike=$RK_IKE a_ch=$RK_CHILD
    rk_established "$2" || { echo "    $2: not established ($RK_IKE / $RK_CHILD)"; return 1; }
    b_ch=${RK_CHILD#*/}/${RK_CHILD%/*}
    echo "    $1: IKE $a_ike Child $a_ch; $2: IKE $RK_IKE Child $RK_CHILD"
    AG_CHILD=$a_ch AG_IKE=$a_ike
    [ "$a_ike" = "$RK_IKE" ] && [ "$a_ch" = "$b_ch" ]
}

# settle SECONDS AGREE A B: poll until `AGREE A B` (rk_agree, or a peer's
# version such as rk_sw_agree) succeeds AND kernels_hold "$AG_CHILD" does,
# in the same attempt: with automatic rekeys running, a state read between
# two daemons' steps is not a failure, only the lack of a quiet moment is.
# Prints the last attempt; sets SET_AGREE and SET_KERNEL to 1 or 0 from it.
settle() {
    local end=$((SECONDS + $1)) f=$SC_RUN/settle.out line kl kr
    while :; do
        SET_AGREE=0 SET_KERNEL=0
        # Kernels first, daemons right after: the fewer process starts
        # between the reads, the likelier they see the same moment.
        xfrm_spis kl "$L"; xfrm_spis kr "$R"
        # Only a moment when each kernel holds two SAs can pass: until
        # then skip the daemons, whose status calls cost seconds in a
        # loaded guest and would miss the short quiet moments between
        # colliding rekeys (the last attempt reads them for the report).
        if [ $SECONDS -lt "$end" ] && { ! two_words "$kl" || ! two_words "$kr"; }; then
            nap 0.25
            continue
        fi
        "$2" "$3" "$4" >"$f" 2>&1 && SET_AGREE=1
        echo "kernel $L: ${kl:-none}; kernel $R: ${kr:-none}" >>"$f"
        same_spis "$kl" "$AG_CHILD" && same_spis "$kr" "$AG_CHILD" && SET_KERNEL=1
        [ $SET_AGREE$SET_KERNEL = 11 ] && break
        [ $SECONDS -lt "$end" ] || break
        nap 0.5
    done
    while read -r line; do echo "    $line"; done <"$f"
    [ $SET_AGREE$SET_KERNEL = 11 ]
}

# two_words "A B": exactly two words (a kernel's SPI list of one Child SA).
two_words() { [[ $1 =~ ^[^\ ]+\ [^\ ]+$ ]]; }

# same_spis "0xA 0xB ..." IN/OUT: the kernel list holds exactly IN and OUT.
same_spis() {
    local x n=0
    [ -n "$2" ] || return 1
    for x in $1; do
        [ "$x" = "0x${2%/*}" ] || [ "$x" = "0x${2#*/}" ] || return 1
        n=$((n + 1))
    done
    [ $n = 2 ]
}

# kernels_hold IN/OUT: left's kernel holds exactly the ESP SAs IN and OUT,
# right's the same two (as seen from the left: IN is left's inbound SPI).
kernels_hold() {
    xfrm_only "$L" "${1%/*}" "${1#*/}" && xfrm_only "$R" "${1%/*}" "${1#*/}"
}

# log_errors FILE [EXTRA_ERE]: print the lines of FILE that look like
# errors; status 0 when there are none.
log_errors() {
    local re='(^|[^a-z_])(error|failed|failure|critical|panic)([^a-z_]|$)'
    ! grep -E -i "$re${2:+|$2}" "$1" | head -5 | grep .
}
