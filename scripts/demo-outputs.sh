#!/usr/bin/env bash
# Every command's output on a small demo scenario, one file per command, so that a
# restructuring can show it changed nothing: run it before and after, then `diff -r`.
#   bash scripts/demo-outputs.sh OUT [SCALE] [SEED]      (default scale 0.05, seed 0)
#   python scripts/compare-outputs.py before/outputs after/outputs   (bytes; JSON also as data)
# OUT/outputs holds the outputs; OUT/demo the scenario and store (rebuilt each run).
# The demo summary's timings and folder names, and the reports' time of making, are
# replaced by T, R and OUT.
set -euo pipefail
OUT="${1:?usage: demo-outputs.sh OUT [SCALE] [SEED]}"
SCALE="${2:-0.05}"
SEED="${3:-0}"
cd "$(dirname "$0")/.."
T=.venv/bin/teiten
rm -rf "$OUT/outputs" "$OUT/demo"
mkdir -p "$OUT/outputs"
O="$OUT/outputs"
ST="$OUT/demo/store"
# the demo's summary, without its timings and the folder it ran in
COLUMNS=1000 $T demo --out "$OUT/demo" --scale "$SCALE" --seed "$SEED" 2> /dev/null \
  | sed -E -e "s#$OUT#OUT#g" -e 's/ in [0-9.]+ s/ in T s/g' -e 's/\([0-9,]+ packets\/s\)/(R packets\/s)/g' > "$O/demo.txt"
run() {  # run NAME ARGS...: stdout to NAME, exit status kept
  local name="$1"; shift
  if "$T" "$@" --store "$ST" > "$O/$name" 2> "$O/$name.err"; then :; else echo "exit $?" >> "$O/$name.err"; fi
}
for p in 2026-07 2026Q3; do
  run "top-ports-$p.json" top ports --period "$p" --json
  run "top-regions-$p.json" top regions --period "$p" --json
  run "top-ports-$p.txt" top ports --period "$p"
  run "series-ports-$p.csv" series ports --period "$p" --csv
  run "shares-ports-$p.json" shares ports --period "$p" --json
  run "signatures-$p.json" signatures --period "$p" --json
  run "signatures-region-$p.json" signatures --period "$p" --by region --json
done
run "drill-445-2026Q3.json" drill 445/TCP --period 2026Q3 --json
run "detect-2026Q3.json" detect --period 2026Q3 --json
run "sql-mirai.csv" sql "SELECT key, count(*) AS n FROM packets WHERE mirai GROUP BY 1 ORDER BY 2 DESC, 1" --csv
for lang in ja en; do
  "$T" report --store "$ST" --period 2026Q3 --style tsubame --lang "$lang" --out "$O/report-$lang.html" \
    --findings "$O/detect-2026Q3.json" > /dev/null 2> "$O/report-$lang.err" || echo "exit $?" >> "$O/report-$lang.err"
  # the time the report was made is not an output of the data
  sed -i -E 's#<li>(Generated|作成): [0-9-]+ [0-9:]+ UTC,#<li>\1: T UTC,#' "$O/report-$lang.html"
done
ls "$O" | wc -l | xargs echo "outputs in $O:"
