# extract.sh: sourced by strongswan-pair.sh. Turns one case's pcap and
# charon logs into the test data files: one hex file per IKE message and a
# keys file of what charon logged. Reads $WORK, $OUT, $PSK, $ID_I, $ID_R.
# It only reads what the run produced; it never edits the messages except
# to strip the 4-byte non-ESP marker (RFC 3948 2.2) of port 4500.

exchange_name() {
    case $1 in
    34) echo IKE_SA_INIT ;;
    35) echo IKE_AUTH ;;
    36) echo CREATE_CHILD_SA ;;
    37) echo INFORMATIONAL ;;
    *) echo "EXCH$1" ;;
    esac
}

# The body of the first Nonce payload of a clear-text message (hex).
nonce_of() {
    local h=$1 next off=28 type len
    next=$((16#${h:32:2}))
    while [ "$next" != 0 ] && [ $((off * 2)) -lt ${#h} ]; do
        type=$next
        next=$((16#${h:$((off * 2)):2}))
        len=$((16#${h:$((off * 2 + 4)):4}))
        if [ "$type" = 40 ]; then
            echo "${h:$((off * 2 + 8)):$(((len - 4) * 2))}"
            return 0
        fi
        off=$((off + len))
    done
    return 1
}

# Write NN-<exchange>-<req|resp>.hex for every IKE message in the pcap.
extract_messages() { # extract_messages PCAP DIR
    local sport dport hex n=0 prev="" ex fl kind
    while read -r sport dport hex; do
        if [ "$sport" = 4500 ] || [ "$dport" = 4500 ]; then
            # ESP-in-UDP starts with a non-zero SPI, a NAT-T keepalive is
            # one byte: only marker-prefixed datagrams are IKE.
            [ "${hex:0:8}" = 00000000 ] || continue
            hex=${hex:8}
        fi
        [ ${#hex} -ge 56 ] || continue
        [ "$hex" != "$prev" ] || die "retransmission in capture; re-run"
        prev=$hex
        n=$((n + 1))
        ex=$(exchange_name $((16#${hex:36:2})))
        fl=$((16#${hex:38:2}))
        if [ $((fl & 0x20)) != 0 ]; then kind=resp; else kind=req; fi
        printf '%s\n' "$hex" >"$2/$(printf %02d $n)-$ex-$kind.hex"
    done < <(tshark -r "$1" -T fields -e udp.srcport -e udp.dstport -e udp.payload 2>/dev/null)
    [ $n -ge 4 ] || die "only $n IKE messages captured in $1"
}

# Print `name = hex` for every key charon logged at level 4, in order.
# IKE key sets: the first is the initial IKE SA (no prefix), the next ones
# come from IKE SA rekeys (rekey., rekey2., ...). Child SA key sets are
# numbered in the order the Child SAs were installed (child1., child2.).
keys_from_log() { # keys_from_log LOG
    awk '
    function flush() {
        if (label != "") printf "%s = %s\n", label, buf
        label = ""; buf = ""
    }
    function ike_prefix() { return n_ike == 1 ? "" : (n_ike == 2 ? "rekey." : "rekey" (n_ike - 1) ".") }
    {
        if (label != "" && $0 ~ /^[0-9]+ [0-9]+\[(IKE|CHD)\] +[0-9]+: /) {
            s = $0; sub(/^[^:]*\] +[0-9]+: /, "", s)
            s = substr(s, 1, 48); gsub(/ /, "", s); buf = buf tolower(s); next
        }
        flush()
    }
    /\[CHD\] CHILD_SA .* state change: CREATED => INSTALLING/ { n_child++ }
    / => [0-9]+ bytes @ / {
        s = $0; sub(/^[0-9]+ [0-9]+\[(IKE|CHD)\] /, "", s); sub(/ => [0-9]+ bytes @.*/, "", s)
        name = ""
        if ($0 ~ /\[IKE\]/) {
            if (s == "shared Diffie Hellman secret") { n_ike++; name = "g_ir" }
            else if (s == "SKEYSEED") name = "skeyseed"
            else if (s ~ /^Sk_(d|ai|ar|ei|er|pi|pr) secret$/) { name = tolower(substr(s, 1, index(s, " ") - 1)) }
            if (name != "") label = ike_prefix() name
        } else if ($0 ~ /\[CHD\]/) {
            if (s == "DH secret") name = "g_ir"
            else if (s == "seed") name = "seed"
            else if (s == "encryption initiator key") name = "encr_i"
            else if (s == "encryption responder key") name = "encr_r"
            else if (s == "integrity initiator key") name = "integ_i"
            else if (s == "integrity responder key") name = "integ_r"
            if (name != "") label = "child" n_child "." name
        }
    }
    END { flush() }' "$1"
}

hex_of() { printf %s "$1" | od -An -v -tx1 | tr -d ' \n'; }

extract_case() { # extract_case NAME
    local name=$1 d="$OUT/$1"
    rm -rf "$d"
    mkdir -p "$d"
    extract_messages "$WORK/$name.pcap" "$d"

    keys_from_log "$WORK/i/charon.log" >"$WORK/keys-i"
    keys_from_log "$WORK/r/charon.log" >"$WORK/keys-r"
    # Both sides must have derived the same keys, else the log parsing or
    # the run is wrong.
    cmp -s "$WORK/keys-i" "$WORK/keys-r" ||
        die "case $name: initiator and responder logged different keys"
    grep -q '^skeyseed = ' "$WORK/keys-i" || die "case $name: no SKEYSEED in the log"

    # The last IKE_SA_INIT exchange is the one that made the IKE SA.
    local req resp
    req=$(ls "$d"/*-IKE_SA_INIT-req.hex | tail -1)
    resp=$(ls "$d"/*-IKE_SA_INIT-resp.hex | tail -1)
    req=$(cat "$req")
    resp=$(cat "$resp")
    {
        echo "# case $name: keys of the IKE and Child SAs, as charon logged them"
        echo "# (filelog ike=4/chd=4), except psk/id_*/spi_*/ni/nr, which are the"
        echo "# configured values and the fields of the final IKE_SA_INIT exchange."
        echo "psk = $(hex_of "$PSK")"
        echo "id_i = $(hex_of "$ID_I")"
        echo "id_r = $(hex_of "$ID_R")"
        echo "spi_i = ${resp:0:16}"
        echo "spi_r = ${resp:16:16}"
        echo "ni = $(nonce_of "$req")"
        echo "nr = $(nonce_of "$resp")"
        cat "$WORK/keys-i"
    } >"$d/keys.txt"

    # What charon itself says each message held (documentation only).
    grep -E '\[ENC\] (generating|parsed) ' "$WORK/i/charon.log" |
        sed -E 's/^[0-9]+ [0-9]+\[ENC\] //' >"$d/charon-initiator.txt"
    cp "$WORK/i/swanctl.conf" "$d/swanctl-initiator.conf"
    cp "$WORK/r/swanctl.conf" "$d/swanctl-responder.conf"
    echo "   $(ls "$d"/*.hex | wc -l) messages, $(grep -c ' = ' "$d/keys.txt") keys -> $d" >&2
}

write_versions() {
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "charon: $("$CHARON" --version 2>&1 | head -1)"
        echo "strongswan package: $(dpkg-query -W -f '${Version}' strongswan-charon 2>/dev/null || echo unknown)"
        echo "tshark: $(tshark --version 2>/dev/null | head -1)"
        echo "tcpdump: $(tcpdump --version 2>&1 | head -1)"
        echo "kernel: $(uname -sr)"
    } >"$OUT/VERSIONS"
}
