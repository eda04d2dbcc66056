#!/bin/bash
# tests/uml/all.sh SCRIPT [ARGS...] [-- SCRIPT [ARGS...]]...: inside ONE User-
# Mode Linux guest (interop/uml/run boots it), run each ESP test script of
# tests/uml in turn, each in its own bash (their lib.sh state does not
# leak from one to the next), then print one line per script with its
# status and time. One boot for the whole suite instead of one per script:
# a boot costs 5 s on a quiet host and 15 s under load. Each script prints
# its own checks and Check-style total; one that exits non-zero without
# that line gets a failing one here, so the totals cannot hide it. Exit 1
# when any script failed. Guest only: it must not touch the host.
set -u
[ $# -gt 0 ] || { echo "usage: all.sh SCRIPT [ARGS...] [-- SCRIPT [ARGS...]]..."; exit 2; }
rc=0 report=()
while [ $# -gt 0 ]; do
    cmd=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do cmd+=("$1"); shift; done
    [ $# -gt 0 ] && shift # the --
    [ ${#cmd[@]} -gt 0 ] || continue
    name=${cmd[0]##*/}; name=${name%.sh}
    echo "=== uml test $name"
    t0=$SECONDS
    bash "${cmd[@]}" </dev/null 2>&1 | tee /tmp/uml-all-one
    st=${PIPESTATUS[0]}
    if [ "$st" != 0 ] && ! grep -q 'Checks: [0-9]*, Failures: [0-9]*, Errors: [0-9]*' /tmp/uml-all-one; then
        echo "$name: exited $st without its Check line"
        echo "$name: Checks: 1, Failures: 1, Errors: 0"
    fi
    [ "$st" = 0 ] || rc=1
    report+=("$(printf '%-20s %-6s %5ss' "$name" "$([ "$st" = 0 ] && echo PASS || echo "FAIL($st)")" $((SECONDS - t0)))")
done
echo
echo "=== uml tests"
printf '%s\n' "${report[@]}"
exit $rc
