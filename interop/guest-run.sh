#!/bin/bash
# interop/guest-run.sh BUILD SCENARIO...: inside the UML guest (started by
# interop/run), run each scenario script in its own bash, one after the
# other, then print the table of their REPORT lines. Exit 1 when any
# scenario failed (a missing REPORT line counts as a failure). Guest only:
# it must not touch the host except the log folders under BUILD.
build=${1:?usage: guest-run.sh BUILD SCENARIO...}; shift
export IX_BUILD=$build
IX_LOGDIR=${IX_LOGDIR:-$build/interop-logs}
out=/tmp/interop-reports
: >"$out"
rc=0 t0=$SECONDS
for s in "$@"; do
    bash "$s" 2>&1 | tee /tmp/interop-one
    st=${PIPESTATUS[0]}
    if grep -q '^REPORT ' /tmp/interop-one; then
        grep '^REPORT ' /tmp/interop-one >>"$out"
    else
        # The script ended before scenario_end: say how (a status over
        # 128 is a signal), and show the end of its output and of the
        # daemons' logs, which CI keeps only in this output.
        n=${s##*/}; n=${n%.sh}; n=${n#sc-}; p=${s%/*}; p=${p##*/}
        echo "  scenario script ended without a report: status $st$( [ "$st" -gt 128 ] && echo " (signal $((st - 128)))")"
        echo "  --- the guest kernel's last messages (an OOM kill or a crash shows here)"
        dmesg 2>/dev/null | tail -n 8 | sed 's/^/  | /'
        for f in "$IX_LOGDIR/$p/$n"/*.log "$IX_LOGDIR/$p/$n"/*/charon.log; do
            [ -f "$f" ] && { echo "  --- last lines of $f"; tail -n 15 "$f" | sed 's/^/  | /'; }
        done
        echo "REPORT scenario=$p/$n result=FAIL (no report; status $st)" | tee -a "$out"
        echo "$p/$n: Checks: 1, Failures: 1, Errors: 0"
    fi
    [ "$st" = 0 ] || rc=1
done
echo
echo "=== interop scenarios ($((SECONDS - t0))s in the guest)"
printf '%-28s %-6s %7s %7s %6s %6s %7s\n' scenario result child ike sent lost time
while read -r line; do
    declare -A f=()
    for kv in $line; do [[ $kv == *=* ]] && f[${kv%%=*}]=${kv#*=}; done
    printf '%-28s %-6s %7s %7s %6s %6s %7s\n' "${f[scenario]:-?}" "${f[result]:-?}" \
        "${f[child_rekeys]:--}" "${f[ike_rekeys]:--}" "${f[sent]:--}" "${f[lost]:--}" "${f[time]:--}"
    unset f
done <"$out"
exit $rc
