#!/usr/bin/env bash
# Installs the benchmark-only peers of bench/dns_bench (issue 6): the dnsperf
# load generator and the DNS servers podnet dns is measured against (knot, nsd,
# unbound, dnsmasq), plus dig for the answer spot checks; and those of
# bench/policy_bench (issue 12): iptables (iptables-nft-restore/-save) and
# ipset, with which the bench programs NetworkPolicies the way kube-router and
# Calico do, inside its own network namespaces only; and those of
# bench/ingress_bench (issue 13): nginx (nginx-light: the backend and one of
# the proxies under test), HAProxy and the wrk load generator. They are not
# needed to build or test podnet, so scripts/setup.sh does not install them.
# (Debian's iptables package runs no service and loads no rules on install.)
#
# The benchmarks start every server themselves, on loopback, with their own
# config in a temp dir. A Debian package may start its system service on
# install (when there is an init system and no policy-rc.d forbids it): that
# daemon would listen on port 53 (and, for unbound, recurse to the internet),
# on port 80 (nginx's default site), or idle in the background (HAProxy), and
# take CPU from the measured peers. So after the install this script stops
# any such daemon by its pid file and fails if one of these daemons is still
# running. Idempotent.
set -euo pipefail

packages=(dnsperf knot nsd unbound dnsmasq-base bind9-dnsutils iptables ipset nginx-light haproxy
  wrk)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup_bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Daemon binaries and the pid files their Debian services write.
daemons=(/usr/sbin/knotd /usr/sbin/nsd /usr/sbin/unbound /usr/sbin/dnsmasq /usr/sbin/nginx
  /usr/sbin/haproxy)
pidfiles=(/run/knot/knot.pid /run/nsd/nsd.pid /run/unbound.pid /run/dnsmasq/dnsmasq.pid
  /run/nginx.pid /run/haproxy.pid)

# Stop a service started by the package, by its pid file (never by name), and
# disable it so a reboot does not start it either (systemd machines only).
for f in "${pidfiles[@]}"; do
  [ -s "$f" ] || continue
  pid=$(tr -dc '0-9' <"$f")
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
    echo "setup_bench: stopping the daemon in $f (pid $pid)"
    $SUDO kill "$pid" || true
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  fi
done
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  for unit in knot nsd unbound nginx haproxy; do
    $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi

# Check: no process runs one of the daemon binaries (a started service whose pid
# file we did not know would be caught here; we report it, not kill it).
running=()
for exe in /proc/[0-9]*/exe; do
  target=$(readlink "$exe" 2>/dev/null) || continue
  for d in "${daemons[@]}"; do
    if [ "$target" = "$d" ]; then
      pid=${exe#/proc/}
      running+=("${pid%/exe} ($d)")
    fi
  done
done
if [ ${#running[@]} -gt 0 ]; then
  echo "setup_bench: these daemons are running; stop them (by pid) before benchmarking:" >&2
  printf '  %s\n' "${running[@]}" >&2
  echo "  (if dns_bench or ingress_bench started them, they are its own and end with it)" >&2
  exit 1
fi

for tool in dnsperf knotd knotc nsd nsd-control unbound dnsmasq dig iptables-nft-restore \
  iptables-nft-save ipset nginx haproxy wrk; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "setup_bench: $tool missing after install" >&2
    exit 1
  }
done
echo "setup_bench: dnsperf, knot, nsd, unbound, dnsmasq, dig, iptables, ipset, nginx, haproxy and wrk are installed; no DNS, nginx or HAProxy daemon is running"
