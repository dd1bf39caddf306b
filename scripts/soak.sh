#!/usr/bin/env bash
# A soak run (docs/RELIABILITY.md): the closed-loop U-maze launch, planner and robot as separate
# processes on the wall clock, for MINUTES; every 60 s it samples each process's resident memory
# and open file handles into OUT (CSV: minute, pid, command, rss_kib, open_files), then stops the
# launch with Ctrl-C and prints the launch's score table.
# Usage: scripts/soak.sh MINUTES OUT.csv   (after scripts/test.sh or a release build)
set -euo pipefail
if (($# != 2)); then
    echo "usage: $0 MINUTES OUT.csv" >&2
    exit 2
fi
minutes="$1" out="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"
# Its own process group, so the sampling finds the launch's children.
setsid target/release/diffplan launch launch/maze2d-umaze-closed-loop.toml --processes separate \
    --episodes 1000000 --rerun off > "$out.table" 2> "$out.log" &
launch=$!
trap 'kill -INT "$launch" 2>/dev/null || true' EXIT
echo "minute,pid,command,rss_kib,open_files" > "$out"
for ((minute = 0; minute <= minutes; minute++)); do
    ((minute == 0)) && sleep 10 || sleep 60
    for pid in $(pgrep -g "$launch"); do
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo "")
        files=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        # The launch itself, or the node a child runs (`--node planner-0`, `--node robot`).
        command=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -o -- '--node [^ ]*' || echo launch)
        [[ -n "$rss" ]] && echo "$minute,$pid,$command,$rss,$files" >> "$out"
    done
done
kill -INT "$launch"
wait "$launch" || true
trap - EXIT
tail -3 "$out.table"
