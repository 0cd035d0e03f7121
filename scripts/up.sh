#!/usr/bin/env bash
# `make up`: starts the podnet control plane in the background and applies
# examples/. Node agents and the pod network are not built yet (issue 4), so
# this stops at the control plane and says so.
set -euo pipefail
build=${1:-build}
data=${PODNET_DATA_DIR:-$PWD/data}
listen=${PODNET_LISTEN:-127.0.0.1:6443}
mkdir -p "$data"
pidfile="$data/server.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "podnet: a control plane is already running (pid $(cat "$pidfile"), data $data)."
  echo "        kubeconfig: $data/kubeconfig   stop it with: make down"
  exit 0
fi
nohup "$build/podnet" server --data-dir "$data" --listen "$listen" >"$data/server.log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 100); do
  if curl -sf --cacert "$data/pki/ca.crt" "https://$listen/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "podnet: the server exited; see $data/server.log" >&2
    tail -20 "$data/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
export KUBECONFIG="$data/kubeconfig"
kubectl apply -f examples/
cat <<TXT

podnet control plane is up (pid $(cat "$pidfile")), data in $data.
  export KUBECONFIG=$data/kubeconfig
  kubectl get deployments,services,endpointslices
  kubectl get pods        # Pending: no node agents yet

Not yet: node agents, the pod network, the service proxy and DNS (issues 4-6).
This stops at the control plane. Stop it with: make down
TXT
