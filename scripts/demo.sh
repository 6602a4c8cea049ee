#!/usr/bin/env bash
# Loads the Tunewave demo organisation (demo/org/) and ~90 days of generated
# delivery history into a fresh database, creates an admin token and starts
# the server with public reads. Used by `make demo`.
#
# usage: scripts/demo.sh BIN DB LISTEN
#   BIN     the conway binary (e.g. build/conway)
#   DB      database path; an existing one is moved aside to DB.bak, never deleted
#   LISTEN  ADDR:PORT for the server (e.g. 127.0.0.1:7700)
set -euo pipefail

usage() { echo "usage: $0 BIN DB LISTEN" >&2; exit 2; }
[ $# -eq 3 ] || usage
BIN=$1 DB=$2 LISTEN=$3
say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

# Paths given relative to where make ran stay valid after the cd below.
case $BIN in /*) ;; */*) BIN=$PWD/$BIN ;; *) BIN=$(command -v -- "$BIN") || die "$1 not found" ;; esac
case $DB in /*) ;; *) DB=$PWD/$DB ;; esac
cd "$(dirname "$0")/.."

[ -x "$BIN" ] || die "$BIN is not an executable (run make first)"
[ -d demo/org ] || die "demo/org is missing"

# Refuse to take over a port that a server (maybe on this very database) uses.
host=${LISTEN%:*} port=${LISTEN##*:}
case $host in ''|0.0.0.0|'*') host=127.0.0.1 ;; '['*']') host=${host#[}; host=${host%]} ;; esac
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  die "something already listens on $LISTEN; stop it or run: make demo LISTEN=127.0.0.1:7701"
fi

# Keep the previous database (with its WAL and shared-memory files) as DB.bak;
# an older DB.bak is kept too, under a timestamped name.
if [ -e "$DB" ] || [ -e "$DB-wal" ]; then
  bak=$DB.bak
  if [ -e "$bak" ] || [ -e "$bak-wal" ]; then
    old=$bak.$(date -u +%Y%m%dT%H%M%SZ)
    for s in "" -wal -shm -journal; do if [ -e "$bak$s" ]; then mv -- "$bak$s" "$old$s"; fi; done
    say "kept the older backup as $old"
  fi
  for s in "" -wal -shm -journal; do if [ -e "$DB$s" ]; then mv -- "$DB$s" "$bak$s"; fi; done
  say "moved the existing database aside to $bak"
fi

# The Backstage kinds must all be accepted: a rejection is a bug in the demo
# or in conway, so it stops the demo.
# Teams and people first, then what they own (relations resolve either way).
files=()
for f in groups users domains-systems resources apis components; do
  if [ -f "demo/org/$f.yaml" ]; then files+=("demo/org/$f.yaml"); fi
done
for f in demo/org/*.yaml; do
  case " ${files[*]} " in *" $f "*) continue ;; esac
  [ "$(basename "$f")" = responsibilities.yaml ] || files+=("$f")
done
say "importing the demo organisation (${#files[@]} files)"
"$BIN" import --db "$DB" "${files[@]}" || die "the demo organisation was not imported cleanly"

# Responsibilities is conway's own kind; builds without it reject the file.
if [ -f demo/org/responsibilities.yaml ]; then
  if "$BIN" import --db "$DB" demo/org/responsibilities.yaml; then
    say "imported responsibilities (RACI)"
  else
    say "note: this build does not accept the Responsibilities kind yet; demo/org/responsibilities.yaml skipped"
  fi
fi

# Delivery history, if this build can import events.
# the built-in Scorecards (docs/scorecards.md): enabling one is importing it
for f in src/ui/scorecards/*.json; do
  if [ -f "$f" ] && "$BIN" import --db "$DB" --quiet "$f"; then
    say "enabled the built-in scorecard $(basename "$f" .json)"
  fi
done

if "$BIN" events --help >/dev/null 2>&1; then
  if command -v node >/dev/null 2>&1; then
    history=$(mktemp "${TMPDIR:-/tmp}/conway-demo-history.XXXXXX")
    if node demo/generate-history.mjs >"$history"; then
      say "importing $(wc -l <"$history" | tr -d ' ') delivery events (90 days)"
      "$BIN" events import --db "$DB" "$history" || say "note: some delivery events were not imported"
    else
      say "note: could not generate the delivery history"
    fi
    rm -f -- "$history"
  else
    say "note: node is not installed; no delivery history loaded"
  fi
else
  say "note: this build has no 'events' command yet; no delivery history loaded"
fi

# An initiative (issue #15) on the built-in production-readiness scorecard
# enabled above, with its dates moved to around today, and the daily
# scorecard snapshots of the last 35 days (judged as of each day over the
# delivery history above) so that its burn-up has a history.
if "$BIN" snapshot --help >/dev/null 2>&1 && [ -f demo/initiatives.yaml ]; then
  ini=$(mktemp "${TMPDIR:-/tmp}/conway-demo-initiative.XXXXXX.yaml")
  sed -e "s/^  start: .*/  start: $(date -u -d '-35 days' +%F)/" \
      -e "s/^  deadline: .*/  deadline: $(date -u -d '+55 days' +%F)/" demo/initiatives.yaml >"$ini"
  if "$BIN" import --db "$DB" --quiet "$ini"; then
    say "taking the daily scorecard snapshots of the last 35 days"
    for k in $(seq 35 -1 1); do
      "$BIN" snapshot --db "$DB" --now "$(date -u -d "-$k days" +%FT12:00:00Z)" >/dev/null ||
        say "note: the snapshot of $k days ago failed"
    done
  else
    say "note: the initiative was not imported"
  fi
  rm -f -- "$ini"
fi

token=""
if token=$("$BIN" token create --db "$DB" --role admin --name demo); then :; else
  token=""
  say "note: could not create an admin token"
fi

cat <<EOF

  conway demo: the Tunewave organisation (see demo/README.md)

  Web UI:  http://$LISTEN/
  API:     http://$LISTEN/api/v1/entities?kind=Component
           http://$LISTEN/api/v1/openapi.json
           Reads need no token (--public-read).
EOF
if [ -n "$token" ]; then
  cat <<EOF
  Admin token (shown once; writes need it):
           $token
           curl -H 'Authorization: Bearer $token' http://$LISTEN/api/v1/entities
EOF
fi
cat <<EOF
  Database: $DB   (stop with Ctrl-C)

EOF

# Heartbeats (conway's own kind): the backups and restore drills of the
# production databases, pinged once the server runs (demo/heartbeats.yaml).
heartbeats=0
if [ -f demo/heartbeats.yaml ] && [ -n "$token" ] && command -v node >/dev/null 2>&1; then
  if "$BIN" import --db "$DB" --quiet demo/heartbeats.yaml >/dev/null; then
    heartbeats=1
  else
    say "note: this build does not accept the Heartbeat kind; demo/heartbeats.yaml skipped"
  fi
fi
if [ "$heartbeats" = 0 ]; then
  exec "$BIN" serve --db "$DB" --listen "$LISTEN" --public-read
fi

"$BIN" serve --db "$DB" --listen "$LISTEN" --public-read &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT HUP
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
case $host in *:*) uhost="[$host]" ;; *) uhost=$host ;; esac
node demo/ping-heartbeats.mjs "http://$uhost:$port" "$token" || say "note: some heartbeats could not be pinged"
# the server's exit status, also after a signal (wait returns early then)
status=0
wait "$server" || status=$?
if kill -0 "$server" 2>/dev/null; then
  status=0
  wait "$server" || status=$?
fi
exit "$status"
