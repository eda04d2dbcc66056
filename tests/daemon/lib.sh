# shellcheck shell=bash
# tests/daemon/lib.sh: what the daemon end-to-end scripts (e2e.sh,
# diag_e2e.sh) share. Sourced after setting NAME (the test's name in its
# summary line) and REKEYCTL; gives a temp dir $T removed on exit (KEEP=1
# keeps it), PIDS killed on exit, step/die with Check-style totals that
# tests/run adds up, ctl WHO ARGS... (rekeyctl on $T/WHO.ctl) and
# wait_for SECONDS CMD... (poll the command until it succeeds).
# The system interpreter: a pyenv shim costs seconds per call.
PY=$(command -v /usr/bin/python3 || command -v python3)
T=$(mktemp -d "/tmp/rekeyd-$NAME.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# Steps are counted in Check's summary format, which tests/run adds up.
NSTEPS=0
step() {
    NSTEPS=$((NSTEPS + 1))
    echo "== [${SECONDS}s] $*"
}
die() {
    echo "FAIL: $*" >&2
    echo "$NAME: Checks: $NSTEPS, Failures: 1, Errors: 0"
    for f in "$T"/*.log; do echo "--- $f" >&2; tail -n 30 "$f" >&2; done
    exit 1
}

ctl() { local who=$1; shift; "$REKEYCTL" -S "$T/$who.ctl" "$@"; }

# wait_for SECONDS CMD...: poll (the test's own loop, not the daemon's)
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
}
