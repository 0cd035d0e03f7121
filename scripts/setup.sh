#!/usr/bin/env bash
# Installs every Debian package podnet needs to build and test. Idempotent: when
# everything is already installed it only runs dpkg-query and returns.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (see docs/decisions.md for why each)
  libboost-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev libmnl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # tools the tests drive
  curl openssl kubectl procps iproute2
  # real runtimes and peers for the pod network (issue 4): containerd's ctr
  # with a busybox-static rootfs, the reference CNI plugins, client tools
  containerd runc busybox-static containernetworking-plugins socat netcat-openbsd
  # Services (issue 5): libnftables, the nft CLI for debugging, conntrack
  nftables libnftables-dev libnftnl-dev conntrack
  # cluster DNS (issue 6): dig and friends for the end-to-end tests
  bind9-dnsutils
  # Ingress (issue 13): RE2 for use-regex paths (linear time, no backtracking),
  # nghttp2 for HTTP/2 (clients, gRPC backends); nghttpd stands in for a gRPC
  # server in the tests (its package runs no service)
  libre2-dev libnghttp2-dev nghttp2-server
  # encryption at rest (issue 20): secretbox (XSalsa20-Poly1305) is not in OpenSSL
  libsodium-dev
  # the Store on etcd (issue 17): etcd itself, its .proto files (the C++
  # client is generated from them at build time), gRPC and protoc
  etcd-server etcd-client golang-etcd-server-dev libgrpc++-dev protobuf-compiler-grpc
  # metrics (issue 19): promtool checks every component's /metrics in the tests
  # (its package's daemon is not wanted: stopped below where systemd runs)
  prometheus
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# kubectl is not in Debian's archive on every machine; install the rest even
# when it is unavailable, and let the kubectl tests skip with a clear message.
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  rest=()
  for p in "${missing[@]}"; do [ "$p" = kubectl ] || rest+=("$p"); done
  $SUDO apt-get install -y -qq --no-install-recommends "${rest[@]}"
fi
# The prometheus package enables its daemon where systemd runs: podnet only
# needs promtool.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled prometheus >/dev/null 2>&1; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
