#!/usr/bin/env bash
# bench/delivery.sh — the delivery insights over a large database, through
# the real server: DORA (whole organisation, a group, a system, components,
# a past window), undeployed work and release coupling, each asked REPS
# times; prints the median server-side time per question (curl's total on
# loopback), one SHA-256 per answer and a digest of all answers (SHA-256
# of the canonical JSON: keys sorted, numbers as JavaScript writes them), and
# the server's VmRSS / RssAnon after the questions. Two builds that give the
# same digest gave byte-for-byte the same answers.
#
#   bench/delivery.sh BIN DB [REPS]
#     BIN   the conway binary;  DB  a SQLite file or postgres:// URL holding
#     the catalog and events of bench/generate-scale.mjs (default --now
#     2026-12-01T00:00:00Z, 1,000 components)
#   env: BENCH_TO (the window's end, default 2026-12-01T00:00:00Z),
#        BENCH_QUESTIONS (space-separated names: run only these),
#        BENCH_SERVE_ARGS (more options for conway serve)
# Asserts nothing about time; exits 1 when a question fails.
set -euo pipefail
BIN=${1:?usage: bench/delivery.sh BIN DB [REPS]}
DB=${2:?usage: bench/delivery.sh BIN DB [REPS]}
REPS=${3:-5}
TO=${BENCH_TO:-2026-12-01T00:00:00Z}
WORK=$(mktemp -d)
SRV=
trap 'if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# shellcheck disable=SC2086
"$BIN" serve --db "$DB" --listen "127.0.0.1:$port" --public-read --log-level warn ${BENCH_SERVE_ARGS:-} \
  >"$WORK/server.log" 2>&1 &
SRV=$!
for _ in $(seq 1 600); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$SRV" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done

# name  path-and-query
QUESTIONS=(
  "dora-org        /api/v1/insights/dora?to=$TO"
  "dora-org-90d    /api/v1/insights/dora?to=$TO&from=2026-09-02T00:00:00Z"
  "dora-org-past   /api/v1/insights/dora?from=2026-10-01T00:00:00Z&to=2026-10-31T00:00:00Z"
  "dora-group      /api/v1/insights/dora?to=$TO&scope=group:default/team-042"
  "dora-system     /api/v1/insights/dora?to=$TO&scope=system:default/sys-017"
  "dora-comp       /api/v1/insights/dora?to=$TO&scope=component:default/svc-0003"
  "dora-comp-multi /api/v1/insights/dora?to=$TO&scope=component:default/svc-0057"
  "dora-comp-pair  /api/v1/insights/dora?to=$TO&scope=component:default/svc-0001"
  "dora-comp-web   /api/v1/insights/dora?to=$TO&scope=component:default/svc-0019"
  "undeployed-org  /api/v1/insights/undeployed?now=$TO&changes=1000"
  "undeployed-grp  /api/v1/insights/undeployed?now=$TO&scope=group:default/team-042"
  "coupling-org    /api/v1/insights/coupling?to=$TO"
  "coupling-grp    /api/v1/insights/coupling?to=$TO&scope=group:default/team-000&minTogether=2&minConfidence=0.5"
)

canon='
const fs = require("fs"), crypto = require("crypto");
const sort = (v) => Array.isArray(v) ? v.map(sort)
  : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
const text = JSON.stringify(sort(JSON.parse(fs.readFileSync(process.argv[1], "utf8"))));
process.stdout.write(crypto.createHash("sha256").update(text).digest("hex"));
'

printf '%-16s %9s %9s %9s  %s\n' question median_ms min_ms max_ms sha256
: >"$WORK/all"
for q in "${QUESTIONS[@]}"; do
  name=${q%% *}
  path=$(echo "${q#* }" | tr -d ' ')
  if [ -n "${BENCH_QUESTIONS:-}" ] && ! [[ " $BENCH_QUESTIONS " == *" $name "* ]]; then continue; fi
  times=()
  for r in $(seq 0 "$REPS"); do
    code=$(curl -sS -o "$WORK/$name.json" -w '%{http_code} %{time_total}' "http://127.0.0.1:$port$path")
    if [ "${code%% *}" != 200 ]; then
      echo "$name: HTTP ${code%% *}: $(head -c 300 "$WORK/$name.json")" >&2
      exit 1
    fi
    [ "$r" -gt 0 ] && times+=("${code#* }") # the first answer warms up
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -g)
  n=${#times[@]}
  med=$(echo "$sorted" | sed -n "$(( (n + 1) / 2 ))p")
  min=$(echo "$sorted" | head -1)
  max=$(echo "$sorted" | tail -1)
  sum=$(node -e "$canon" "$WORK/$name.json")
  echo "$name $sum" >>"$WORK/all"
  printf '%-16s %9.1f %9.1f %9.1f  %s\n' "$name" "$(echo "$med * 1000" | bc -l)" \
    "$(echo "$min * 1000" | bc -l)" "$(echo "$max * 1000" | bc -l)" "$sum"
done
echo "digest of all answers: $(sha256sum "$WORK/all" | cut -c1-64)"
grep -E '^(VmRSS|RssAnon|RssFile|VmHWM)' "/proc/$SRV/status" | tr -s ' \t' ' ' | paste -sd' ' | sed 's/^/server: /'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
