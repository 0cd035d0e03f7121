#!/usr/bin/env bash
# `make down`: stops what `make up` started, by its pid.
set -euo pipefail
data=${PODNET_DATA_DIR:-$PWD/data}
pidfile="$data/server.pid"
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
  echo "podnet: stopped (data kept in $data; remove it for a fresh cluster)"
else
  echo "podnet: nothing running"
fi
