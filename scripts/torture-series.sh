#!/usr/bin/env bash
# Consecutive torture runs: RUNS runs with seeds FIRST_SEED, FIRST_SEED+1, …, the same other flags each time.
# Stops at the first run that is not linearizable (or fails otherwise) and exits non-zero; prints one summary line
# per run (seed, seconds, verdict) and appends it to SUMMARY (default ./torture-runs/series.txt).
#
#   scripts/torture-series.sh 20 301 --nodes 3 --time 300 --faults all
#   SUMMARY=/tmp/paxos.txt scripts/torture-series.sh 10 801 --nodes 3 --time 300 --faults all --consensus paxos
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 RUNS FIRST_SEED [torture flags...]" >&2
  exit 2
fi
runs=$1 first=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
summary=${SUMMARY:-$top/torture-runs/series.txt}
mkdir -p "$(dirname "$summary")"
[ -f "$top/dist/src/torture/cli.js" ] || (cd "$top" && npm run build --silent) || exit 2
for ((i = 0; i < runs; i++)); do
  seed=$((first + i))
  started=$(date +%s)
  log=$(mktemp /tmp/torture-series.XXXXXX)
  node "$top/dist/src/torture/cli.js" --seed "$seed" "$@" >"$log" 2>&1
  rc=$?
  verdict=$(grep -oE 'VERDICT: .*' "$log" | tail -n 1)
  line="$(date -u +%FT%TZ) seed=$seed rc=$rc secs=$(($(date +%s) - started)) args=[$*] ${verdict:-no verdict (see $log)}"
  echo "$line" | tee -a "$summary"
  if [ $rc -ne 0 ]; then
    echo "run $((i + 1)) of $runs failed; its output: $log" >&2
    exit 1
  fi
  rm -f "$log"
done
echo "$runs consecutive runs passed (seeds $first..$((first + runs - 1)))" | tee -a "$summary"
