#!/bin/bash
# interop/guest-run.sh BUILD SCENARIO...: inside the UML guest (started by
# interop/run), run each scenario script in its own bash, one after the
# other, then print the table of their REPORT lines. Exit 1 when any
# scenario failed (a missing REPORT line counts as a failure). Guest only:
# it must not touch the host except the log folders under BUILD.
build=${1:?usage: guest-run.sh BUILD SCENARIO...}; shift
export IX_BUILD=$build
out=/tmp/interop-reports
: >"$out"
rc=0 t0=$SECONDS
for s in "$@"; do
    bash "$s" 2>&1 | tee /tmp/interop-one
    st=${PIPESTATUS[0]}
    if grep -q '^REPORT ' /tmp/interop-one; then
        grep '^REPORT ' /tmp/interop-one >>"$out"
    else
        n=${s##*/}; n=${n%.sh}
        echo "REPORT scenario=${n#sc-} result=FAIL (no report; status $st)" | tee -a "$out"
        echo "${n#sc-}: Checks: 1, Failures: 1, Errors: 0"
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
