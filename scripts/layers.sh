#!/usr/bin/env bash
# layers.sh — the layer graph of src/ (docs/layers.md): which layer includes
# which, and a check that every arrow runs downward.
#
#   scripts/layers.sh                 the include graph, one "a -> b (n)" line
#                                     per pair of layers (n includes)
#   scripts/layers.sh --dot           the same as a Graphviz digraph
#   scripts/layers.sh --check [BUILD] fails (exit 1) on an include that runs
#                                     up or sideways, on an include written
#                                     "../x.h" or "x.h" (which would bypass the
#                                     build's per-layer include trees) and,
#                                     given a build directory, on a symbol a
#                                     layer's library takes from a layer it
#                                     may not use (nm over libcw_<layer>.a),
#                                     and on a circle of calls among the
#                                     store's own files (libcw_store.a)
#
# The allowed arrows are the ones cmake/layers.cmake builds with; keep the
# two tables the same.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYERS="util catalog events insights store ingest http cli"
allowed() { # allowed <layer>: the layers it may use, itself included
  case "$1" in
    util) echo "util" ;;
    catalog) echo "catalog util" ;;
    events) echo "events util" ;;
    insights) echo "insights util catalog events" ;;
    store) echo "store util catalog events" ;;
    ingest) echo "ingest util catalog events insights store" ;;
    http) echo "http util catalog events insights store ingest" ;;
    cli) echo "cli util catalog events insights store ingest http" ;;
  esac
}

# "layer included-layer" for every #include "x/y.h" in src/<layer>/.
edges() {
  for l in $LAYERS; do
    grep -ho '^#include "[^"]*"' src/"$l"/*.[ch] 2>/dev/null |
      sed -E 's/^#include "([^"]*)"/\1/' |
      awk -v l="$l" '{ n = split($0, p, "/"); print l, (n > 1 ? p[1] : "(bare)") }'
  done
}

mode=${1:-}
case "$mode" in
  "")
    edges | awk '$1 != $2' | sort | uniq -c | awk '{ printf "%s -> %s (%d)\n", $2, $3, $1 }'
    ;;
  --dot)
    echo "digraph layers {"
    echo "  rankdir=BT; node [shape=box];"
    edges | awk '$1 != $2' | sort | uniq -c | awk '{ printf "  %s -> %s [label=%d];\n", $2, $3, $1 }'
    echo "}"
    ;;
  --check)
    build=${2:-}
    bad=0
    while read -r from to; do
      if ! allowed "$from" | tr ' ' '\n' | grep -qx "$to"; then
        echo "layers: src/$from includes $to/: not allowed (allowed: $(allowed "$from"))" >&2
        bad=1
      fi
    done < <(edges | sort -u)
    if grep -n '^#include "\.\./' src/*/*.[ch] >&2; then
      echo "layers: includes must be written \"layer/file.h\", not \"../\"" >&2
      bad=1
    fi
    if [ -n "$build" ]; then
      for l in $LAYERS; do
        lib="$build/libcw_$l.a"
        [ -f "$lib" ] || { echo "layers: $lib missing (build first)" >&2; bad=1; continue; }
      done
      if [ "$bad" = 0 ]; then
        # symbol -> defining layer, then every undefined symbol of a layer
        # that another layer defines must come from an allowed one
        defs=$(for l in $LAYERS; do
                 nm -g --defined-only "$build/libcw_$l.a" 2>/dev/null |
                   awk -v l="$l" 'NF == 3 { print $3, l }'
               done | sort -u)
        for l in $LAYERS; do
          ok=" $(allowed "$l") "
          while read -r sym owner; do
            case "$ok" in
              *" $owner "*) ;;
              *) echo "layers: libcw_$l.a uses $sym from $owner: not allowed" >&2; bad=1 ;;
            esac
          done < <(nm -g --undefined-only "$build/libcw_$l.a" 2>/dev/null |
                     awk 'NF == 2 && $1 == "U" { print $2 }' | sort -u |
                     join - <(echo "$defs"))
        done
      fi
      # within the store: no circle of modules (issue 11 found store.c ->
      # sqlite.c -> ... -> store.c). A module is a file, except that each
      # backend's files (sqlite*.c, postgres*.c) are one module; a module
      # that uses a symbol another module of libcw_store.a defines depends
      # on it, and tsort finds the loops.
      if [ -f "$build/libcw_store.a" ]; then
        module='{ split($1, p, ":"); m = p[2]; sub(/\.c\.o$/, "", m);
                  if (m ~ /^sqlite(_|$)/) m = "sqlite"; else if (m ~ /^postgres(_|$)/) m = "postgres"; }'
        store_defs=$(nm -A -g --defined-only "$build/libcw_store.a" 2>/dev/null |
                       awk "NF == 3 && \$2 != \"U\" $module { print \$3, m }" | sort -k1,1)
        pairs=$(nm -A -g --undefined-only "$build/libcw_store.a" 2>/dev/null |
                  awk "NF == 3 && \$2 == \"U\" $module { print \$3, m }" | sort -k1,1 |
                  join - <(echo "$store_defs") | awk '$2 != $3 { print $3, $2 }' | sort -u)
        if ! loop=$(echo "$pairs" | tsort 2>&1 >/dev/null) || [ -n "$loop" ]; then
          echo "layers: the store's modules call each other in a circle:" >&2
          echo "$loop" >&2
          bad=1
        fi
      fi
    fi
    [ "$bad" = 0 ] && echo "layers: every arrow runs downward, and the store's modules form no circle"
    exit "$bad"
    ;;
  *)
    echo "usage: scripts/layers.sh [--dot | --check [BUILD]]" >&2
    exit 2
    ;;
esac
