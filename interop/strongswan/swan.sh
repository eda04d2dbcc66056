# shellcheck shell=bash
# interop/strongswan/swan.sh: strongSwan 5.9 (charon + swanctl) helpers for
# the interop scenarios; sourced after interop/lib.sh, inside the UML guest.
# One charon at a time (its pid file is /run/charon.pid of the guest), in a
# namespace of lib.sh's topology, with its own strongswan.conf
# (STRONGSWAN_CONF), vici socket in SC_RUN and log in SC_DIR/INST, so
# nothing of the machine's /etc/strongswan* is used.
#
#   sw_write_conf INST SIDE START IKE ESP IKE_REKEY CHILD_REKEY CHILD_LIFE
#       SC_DIR/INST/{strongswan.conf,swanctl.conf}: connection and child
#       "t" mirroring rk_write_conf (PSK, IDs @left/@right, tunnel between
#       the inner subnets); rekey times in seconds (0 = never), rand_time 0
#       (no fuzz); START=start initiates from swanctl --initiate.
#   sw_start INST NS      charon + swanctl --load-all (waits for the socket)
#   sw_ctl INST ARGS...   swanctl on INST's vici socket
#   sw_state INST         SW_IKE "spi_i/spi_r" (lowercase hex, 16 digits),
#                         SW_CHILD "in/out" (8 digits) of the INSTALLED
#                         child, SW_N_IKE/SW_N_CHILD: how many listed
#   sw_stop INST          SIGTERM to charon (it deletes its SAs), wait
#   sw_log_clean INST     no error lines in charon's log
CHARON=${CHARON:-/usr/lib/ipsec/charon}

sw_available() {
    [ -x "$CHARON" ] && command -v swanctl >/dev/null
}

sw_write_conf() {
    local inst=$1 side=$2 start=$3 ike=$4 esp=$5 ike_rk=$6 ch_rk=$7 ch_life=$8
    local d=$SC_DIR/$inst me peer mynet peernet peerid over
    mkdir -p "$d"
    if [ "$side" = left ]; then
        me=$L_OUT peer=$R_OUT mynet=$L_NET peernet=$R_NET peerid=right
    else
        me=$R_OUT peer=$L_OUT mynet=$R_NET peernet=$L_NET peerid=left
    fi
    cat >"$d/strongswan.conf" <<EOC
# written by interop/strongswan/swan.sh for scenario $SC_NAME
charon {
    load = random nonce openssl pem pkcs1 x509 pubkey kdf kernel-netlink socket-default vici
    # lib.sh routes the inner subnets itself.
    install_routes = no
    install_virtual_ip = no
    # UML is slow under a loaded host: a lost message costs 3 s, not 4.
    retransmit_timeout = 3
    plugins {
        vici {
            socket = unix://$SC_RUN/$inst.vici
        }
    }
    filelog {
        main {
            path = $d/charon.log
            append = no
            flush_line = yes
            time_format = %H:%M:%S
            default = 1
            ike = 1
            chd = 1
            knl = 1
            cfg = 1
        }
    }
    syslog {
        daemon {
            default = -1
        }
    }
}
swanctl {
    socket = unix://$SC_RUN/$inst.vici
    load = pem pkcs1 x509 openssl random
}
EOC
    # over_time/life_time: 1.5x the rekey time (DESIGN.md section 7:
    # strongSwan's default 10% is too tight for lifetimes of seconds).
    over=$((ike_rk / 5))
    cat >"$d/swanctl.conf" <<EOC
# written by interop/strongswan/swan.sh for scenario $SC_NAME
connections {
    t {
        version = 2
        local_addrs = $me
        remote_addrs = $peer
        proposals = $ike
        rekey_time = ${ike_rk}s
        over_time = ${over}s
        rand_time = 0
        reauth_time = 0
        local {
            auth = psk
            id = @$side
        }
        remote {
            auth = psk
            id = @$peerid
        }
        children {
            t {
                local_ts = $mynet
                remote_ts = $peernet
                esp_proposals = $esp
                mode = tunnel
                rekey_time = ${ch_rk}s
                life_time = ${ch_life}s
                rand_time = 0
                start_action = none
            }
        }
    }
}
secrets {
    ike-t {
        id-1 = @left
        id-2 = @right
        secret = "$PSK"
    }
}
EOC
    eval "SW_START_$inst=$start"
}

sw_ctl() {
    local inst=$1; shift
    STRONGSWAN_CONF=$SC_DIR/$inst/strongswan.conf swanctl "$@"
}

sw_start() {
    local inst=$1 ns=$2 d=$SC_DIR/$1
    # One charon at a time: its pid file is the guest's /run/charon.pid
    # (guest tmpfs); a stale one from an earlier scenario would stop it.
    rm -f "$SC_RUN/$inst.vici" /run/charon.pid
    STRONGSWAN_CONF=$d/strongswan.conf in_ns_bg "$ns" "$d/charon.out" "$CHARON"
    eval "SW_PID_$inst=$BG_PID"
    SC_PIDS+=("$BG_PID")
    wait_for 30 test -S "$SC_RUN/$inst.vici" || return 1
    sw_ctl "$inst" --load-all --file "$d/swanctl.conf" >>"$d/swanctl.out" 2>&1
}

# sw_stop INST: SIGTERM to charon (it deletes its SAs), wait for it.
sw_stop() {
    local p; eval "p=\${SW_PID_$1:-}"
    [ -n "$p" ] || return 1
    kill -TERM "$p" 2>/dev/null
    wait "$p"
}

sw_state() {
    local line re_ike='^t: #[0-9]+, ([A-Z_]+), IKEv2, ([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r'
    local re_ch='^t: #[0-9]+, reqid [0-9]+, ([A-Z_]+),' re_in='^in  ([0-9a-f]{8})' re_out='^out ([0-9a-f]{8})'
    local inch=0 in=''
    SW_IKE= SW_CHILD= SW_N_IKE=0 SW_N_CHILD=0
    while read -r line; do
        if [[ $line =~ $re_ike ]]; then
            SW_N_IKE=$((SW_N_IKE + 1))
            [ "${BASH_REMATCH[1]}" = ESTABLISHED ] &&
                SW_IKE+=${SW_IKE:+ }${BASH_REMATCH[2]}/${BASH_REMATCH[3]}
        elif [[ $line =~ $re_ch ]]; then
            SW_N_CHILD=$((SW_N_CHILD + 1))
            inch=0; [ "${BASH_REMATCH[1]}" = INSTALLED ] && inch=1
        elif [[ $inch = 1 && $line =~ $re_in ]]; then
            in=${BASH_REMATCH[1]}
        elif [[ $inch = 1 && $line =~ $re_out ]]; then
            SW_CHILD+=${SW_CHILD:+ }$in/${BASH_REMATCH[1]}
            inch=0
        fi
    done < <(sw_ctl "$1" --list-sas 2>/dev/null)
}

# rk_sw_agree RK SW: rekeyd instance RK and charon SW show the same single
# IKE SA and single Child SA (mirrored); sets AG_CHILD (RK's in/out), AG_IKE.
rk_sw_agree() {
    local sw_ch
    AG_CHILD= AG_IKE=
    rk_established "$1" || { echo "    $1: not established ($RK_IKE / $RK_CHILD)"; return 1; }
    sw_state "$2"
    sw_ch=${SW_CHILD#*/}/${SW_CHILD%/*}
    echo "    $1: IKE $RK_IKE Child $RK_CHILD; $2: IKE $SW_IKE Child $SW_CHILD"
    AG_CHILD=$RK_CHILD AG_IKE=$RK_IKE
    [ "$RK_IKE" = "$SW_IKE" ] && [ "$RK_CHILD" = "$sw_ch" ]
}

# sw_log_clean INST [FILE]: no error lines in charon's log (prints them).
# "endpoint changed": we answered or asked on another port than the one
# charon moved the IKE SA to (RFC 7296 2.11, 2.23). Not errors: "unable to
# rekey, CHILD_SA not found", "CHILD_SA ... not found for delete|rekey" and
# "querying SAD entry with SPI X failed: No such process" (charon's own
# rekey, delete and usage jobs firing for a Child SA that a collision
# already closed: its kernel SA is gone, which is what the checks above
# want), and retransmits. Both sides sending request N at once can make
# charon drop our response N as "already processing" (its manager matches
# the message ID while it handles our request N); its retransmit then gets
# the response again, and these job messages follow.
sw_log_clean() {
    local f=${2:-$SC_DIR/$1/charon.log}
    ! grep -v -E 'unable to rekey, CHILD_SA not found|CHILD_SA ESP/0x[0-9a-f]+/[^ ]+ not found for (delete|rekey)|querying SAD entry with SPI [0-9a-f]+ failed: No such process' "$f" |
        grep -E -i '(^|[^a-z_])(error|failed|failure|critical)([^a-z_]|$)|unable to|invalid|no acceptable|not found|endpoint changed' |
        head -5 | grep .
}
