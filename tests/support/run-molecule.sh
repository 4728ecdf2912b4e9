#!/usr/bin/env bash
# `make molecule`: `molecule test` of each scenario given, MOLECULE_JOBS at a time (default: the
# machine's CPU count, at most 2). Scenarios have containers and networks of their own names, so
# they can run side by side; most of their time is spent waiting on apt, systemd and the
# servers, not on the CPU. The longest scenarios start first. Each scenario's output goes to
# .cache/molecule-logs/<scenario>.log and is printed whole when the scenario ends, so the
# outputs never interleave; the exit status is 1 when any scenario failed.
#
#   tests/support/run-molecule.sh backup default smoke
set -euo pipefail

[ "$#" -gt 0 ] || { echo "run-molecule: no scenario given" >&2; exit 1; }
cpus="$(nproc)"
jobs="${MOLECULE_JOBS:-$((cpus < 2 ? cpus : 2))}"
logs=.cache/molecule-logs
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.status

# Longest first (measured on this project's 2-core machine); others after, in the order given.
longest=(ha backup default all_in_one airgapped redis timescaledb postgresql influxdb smoke)
ordered=()
for scenario in "${longest[@]}"; do
    for given in "$@"; do [ "$given" = "$scenario" ] && ordered+=("$scenario"); done
done
for given in "$@"; do
    case " ${ordered[*]} " in *" $given "*) ;; *) ordered+=("$given") ;; esac
done

run_one() {
    local scenario="$1" logs="$2" start status
    start=$(date +%s)
    status=0
    molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1 || status=$?
    echo "$status" >"$logs/$scenario.status"
    (
        flock 9
        echo "== molecule test -s $scenario"
        cat "$logs/$scenario.log"
        if [ "$status" -eq 0 ]; then
            echo "== $scenario: passed in $(($(date +%s) - start)) s"
        else
            echo "== $scenario: FAILED (exit $status) after $(($(date +%s) - start)) s"
        fi
    ) 9>"$logs/.print.lock"
}
export -f run_one

echo "molecule: ${#ordered[@]} scenarios, $jobs at a time: ${ordered[*]}"
start=$(date +%s)
# shellcheck disable=SC2016 # $1 and $2 are the inner bash's arguments
printf '%s\n' "${ordered[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1" "$2"' _ {} "$logs" || true

failed=()
for scenario in "${ordered[@]}"; do
    [ "$(cat "$logs/$scenario.status" 2>/dev/null || echo missing)" = 0 ] || failed+=("$scenario")
done
echo "molecule: ${#ordered[@]} scenarios in $(($(date +%s) - start)) s"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "molecule: FAILED: ${failed[*]}" >&2
    exit 1
fi
