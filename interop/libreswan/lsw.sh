# shellcheck shell=bash
# interop/libreswan/lsw.sh: Libreswan 4.10 (pluto + whack) helpers for the
# interop scenarios; sourced after interop/lib.sh, inside the UML guest. The
# package is not installed (it Conflicts with strongSwan): it runs from the
# tree interop/libreswan/fetch.sh unpacked on the host (LSW_TREE, default
# ~/.cache/rekeyd/libreswan, visible in the guest through hostfs).
#
# One pluto at a time, in a namespace of lib.sh's topology, with everything
# per instance: config, secrets and log in SC_DIR/INST, rundir (control
# socket, pid) in SC_RUN/INST, and its own mount namespace in which
# the unpacked libexec is bind-mounted over /usr/libexec, because pluto
# spawns /usr/libexec/ipsec/addconn by that fixed path (DESIGN.md section 7).
#
#   lsw_write_conf INST SIDE AUTO IKE ESP PFS [KEY=VALUE...]
#       SC_DIR/INST/ipsec.conf with conn "t" mirroring rk_write_conf (PSK,
#       IDs @left/@right, tunnel between the inner subnets); IKE/ESP in
#       Libreswan syntax (lsw_ike/lsw_esp translate strongSwan's); extra
#       keys (salifetime=, rekeymargin=...) are added to the conn.
#   lsw_start INST NS     pluto --nofork, waits until it listens with "t" added
#   lsw_whack INST ARGS   whack on INST's control socket
#   lsw_state INST        LSW_CHILD "in/out" SPIs of the established Child
#                         SAs as seen from the PEER (our outbound first, so
#                         it compares with rekeyd's in/out), LSW_N_CHILD,
#                         LSW_N_IKE (established states listed)
#   lsw_stop INST         whack --shutdown (pluto deletes its SAs), wait
#   lsw_log_clean INST    no error lines in pluto's log (LSW_LOG: another
#                         file name in SC_DIR/INST)
# These helpers touch only the guest and SC_DIR.
LSW_TREE=${LSW_TREE:-${REKEYD_LIBRESWAN_DIR:-/root/.cache/rekeyd/libreswan}}
# pluto's NSS database (empty: PSK only, nothing is ever stored in it): one
# per boot on the guest's tmpfs, made by the first lsw_start and shared by
# every pluto after it (one at a time). certutil costs seconds in UML under
# load; once per boot instead of once per scenario.
LSW_NSS=${LSW_NSS:-/run/interop/lsw-nss}

lsw_available() {
    [ -r "$LSW_TREE/env.sh" ] && [ -x "$LSW_TREE/usr/libexec/ipsec/pluto" ] || return 1
    # shellcheck source=/dev/null
    . "$LSW_TREE/env.sh"
}

# lsw_ike PROPOSAL / lsw_esp PROPOSAL: strongSwan syntax -> Libreswan's, for
# the families the scenarios use (aes256gcm16, aes256-sha256, prfsha256,
# x25519, modp2048). Prints the result.
lsw_ike() {
    local p=$1 out
    out=${p/aes256gcm16-prfsha256/aes_gcm256-sha2_256}
    out=${out/aes256-sha256/aes256-sha2_256}
    out=${out/x25519/dh31}
    echo "$out"
}
lsw_esp() {
    local p=$1 out
    out=${p/aes256gcm16/aes_gcm256-none}
    out=${out/aes256-sha256/aes256-sha2_256}
    out=${out/x25519/dh31}
    echo "$out"
}

lsw_write_conf() {
    local inst=$1 side=$2 auto=$3 ike=$4 esp=$5 pfs=$6 d=$SC_DIR/$1 kv
    local me peer mynet peernet peerid
    shift 6
    mkdir -p "$d" "$SC_RUN/$inst"
    if [ "$side" = left ]; then
        me=$L_OUT peer=$R_OUT mynet=$L_NET peernet=$R_NET peerid=right
    else
        me=$R_OUT peer=$L_OUT mynet=$R_NET peernet=$L_NET peerid=left
    fi
    {
        cat <<EOC
# written by interop/libreswan/lsw.sh for scenario $SC_NAME
config setup
	nssdir=$LSW_NSS
	dumpdir=$SC_RUN/$inst
	logfile=$d/pluto.log
	logtime=yes
	logappend=yes
	plutodebug=${LSW_DEBUG:-none}
	uniqueids=yes
	# no DNS here; and the root key (dns-root-data) is only unpacked, not installed
	dnssec-enable=no

conn t
	ikev2=insist
	left=$me
	leftid=@$side
	leftsubnet=$mynet
	right=$peer
	rightid=@$peerid
	rightsubnet=$peernet
	authby=secret
	type=tunnel
	ike=$ike
	esp=$esp
	pfs=$pfs
	# lib.sh routes the inner subnets itself; the default updown would be
	# "ipsec _updown", which is strongSwan's ipsec on this machine.
	leftupdown=%disabled
	auto=$auto
EOC
        for kv in "$@"; do printf '\t%s\n' "$kv"; done
    } >"$d/ipsec.conf"
    printf '@left @right : PSK "%s"\n' "$PSK" >"$d/ipsec.secrets"
    chmod 600 "$d/ipsec.secrets"
}

lsw_start() {
    local inst=$1 ns=$2 d=$SC_DIR/$1 run=$SC_RUN/$1
    mkdir -p "$LSW_NSS" "$run"
    rm -f "$run/pluto.ctl" "$run/pluto.pid"
    if [ ! -f "$LSW_NSS/cert9.db" ]; then
        "$LSW_CERTUTIL" -N -d "sql:$LSW_NSS" --empty-password >>"$d/pluto.out" 2>&1 || return 1
    fi
    # shellcheck disable=SC2016 # expanded by the inner sh, from its arguments
    in_ns_bg "$ns" "$d/pluto.out" unshare -m /bin/sh -c \
        'mount --bind "$1" /usr/libexec && exec "$2" --config "$3" --secretsfile "$4" --rundir "$5" --nofork' \
        lsw "$LSW_TREE/usr/libexec" "$LSW_PLUTO" "$d/ipsec.conf" "$d/ipsec.secrets" "$run"
    eval "LSW_PID_$inst=$BG_PID"
    SC_PIDS+=("$BG_PID")
    # pluto runs addconn itself once it listens; "added IKEv2 connection"
    # then says conn "t" is loaded.
    wait_for 40 lsw_ready "$inst"
}
lsw_ready() {
    local p; eval "p=\${LSW_PID_$1:-}"
    kill -0 "$p" 2>/dev/null || return 2
    [ -S "$SC_RUN/$1/pluto.ctl" ] && grep -q '"t": added IKEv2 connection' "$SC_DIR/$1/pluto.log"
}

lsw_whack() { local inst=$1; shift; "$LSW_WHACK" --rundir "$SC_RUN/$inst" "$@"; }

# whack --showstates lists per established Child SA a line
#   #4: "t" esp.de2b44d7@192.0.2.1 esp.4104c7df@192.0.2.2 tun.0@... Traffic: ...
# whose first esp. SA goes to the peer (pluto's outbound = the peer's
# inbound) and whose second comes to pluto.
lsw_state() {
    local line re_ch='#[0-9]+: "t"[^ ]* esp\.([0-9a-f]+)@[^ ]+ esp\.([0-9a-f]+)@'
    local re_st='#[0-9]+: "t"[^ ]* (STATE_V2_ESTABLISHED_(IKE|CHILD)_SA)'
    LSW_CHILD='' LSW_N_CHILD=0 LSW_N_IKE=0
    while read -r line; do
        if [[ $line =~ $re_ch ]]; then
            local a b
            printf -v a '%08x' "0x${BASH_REMATCH[1]}"
            printf -v b '%08x' "0x${BASH_REMATCH[2]}"
            LSW_CHILD+=${LSW_CHILD:+ }$a/$b
        elif [[ $line =~ $re_st ]]; then
            if [ "${BASH_REMATCH[2]}" = IKE ]; then
                LSW_N_IKE=$((LSW_N_IKE + 1))
            else
                LSW_N_CHILD=$((LSW_N_CHILD + 1))
            fi
        fi
    done < <(lsw_whack "$1" --showstates 2>/dev/null)
}

lsw_stop() {
    local p; eval "p=\${LSW_PID_$1:-}"
    [ -n "$p" ] || return 1
    lsw_whack "$1" --shutdown >/dev/null 2>&1 || kill -TERM "$p" 2>/dev/null
    wait "$p"
    eval "LSW_PID_$1="
}

# lsw_log_clean INST: no problem reported in pluto's log (prints them).
# Besides lib.sh's words: pluto's own "EXPECTATION FAILED", "ASSERTION",
# "PEXPECT", and notifications of failed exchanges. Not counted: "packet
# from ...: INFORMATIONAL response has no corresponding IKE SA" - pluto
# deletes its old IKE SA as soon as it sends the DELETE after its own IKE
# rekey, so our (correct) response to that DELETE finds nothing.
# Nor "asynchronous network error report ... complainant <rekeyd>:
# Connection refused": when pluto initiated the IKE SA (rekeyd responder),
# our SIGTERM's DELETE makes it revive the connection toward the daemon
# that just exited, and the ICMP port unreachable is logged as ERROR.
# TEMPORARY_FAILURE and CHILD_SA_NOT_FOUND are not errors either: RFC 7296
# 2.25 answers for rekey collisions.
lsw_log_clean() {
    local f=$SC_DIR/$1/${LSW_LOG:-pluto.log}
    ! grep -E -i '(^|[^a-z_])(error|failed|failure|critical|panic)([^a-z_]|$)|EXPECTATION|ASSERTION|PEXPECT|NO_PROPOSAL_CHOSEN|INVALID_SYNTAX|TS_UNACCEPTABLE|AUTHENTICATION_FAILED|INVALID_KE_PAYLOAD' "$f" |
        grep -v -e 'INFORMATIONAL response has no corresponding IKE SA' \
            -e 'ERROR: asynchronous network error report on .*:500), complainant 192.0.2.1: Connection refused' |
        head -5 | grep .
}
