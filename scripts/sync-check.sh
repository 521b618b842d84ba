#!/usr/bin/env bash
# `cellpath registry sync` against the local stand-in of the ClinicalTrials.gov API serving
# the shared recorded studies (../shared/data/ctgov, copied: the stand-in re-reads its folder
# at each first page): everything new through pages of 50 with every 7th request throttled;
# then one recorded study closes recruitment and the next sync reads only it.
# Needs the release binaries (cargo build --release -p cellpath -p cellpath-ctgov-replay).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CELLPATH_BIN:-./target/release/cellpath}
replay=${REPLAY_BIN:-./target/release/ctgov-replay}
port=${PORT:-18787}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r ../shared/data/ctgov "$work/ctgov"
chmod -R u+w "$work/ctgov"
"$replay" "$work/ctgov" --bind "127.0.0.1:$port" --throttle-every 7 >"$work/replay.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do grep -q "studies from" "$work/replay.log" 2>/dev/null && break; sleep 0.1; done
cat "$work/replay.log"
studies=$(sed -n 's/^ctgov-replay: \([0-9]*\) studies.*/\1/p' "$work/replay.log")
sync() {
  "$bin" registry sync --base-url "http://127.0.0.1:$port" --condition "" --page-size 50 \
    --max-rate 6000 --data-dir "$work/data" "$@"
}
out=$(sync)
echo "$out"
grep -q "$studies studies new, 0 changed (a new version each), 0 unchanged" <<<"$out" \
  || { echo "error: the first sync did not store the $studies studies served" >&2; exit 1; }
# One study closes recruitment, updated later than the sync's start.
file=$(grep -l '"overallStatus": *"RECRUITING"' "$work"/ctgov/v2/*/NCT*.json | sed -n 1p)
python3 - "$file" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
s = d["protocolSection"]["statusModule"]
s["overallStatus"] = "COMPLETED"
s["lastUpdatePostDateStruct"]["date"] = "2099-12-31"
json.dump(d, open(p, "w"))
PY
out=$(sync)
echo "$out"
grep -q "0 studies new, 1 changed (a new version each), 0 unchanged" <<<"$out" \
  || { echo "error: the second sync did not read just the changed study" >&2; exit 1; }
echo "ok: $studies studies synced through the stand-in with throttling; a changed study read alone"
