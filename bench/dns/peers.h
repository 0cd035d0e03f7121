// How each DNS server of the benchmark is started: its config (templates below,
// filled with the run's directory, port and thread count) and its command line.
// Every server:
//  - listens on 127.0.0.1:<port> only (UDP, and TCP where it always opens it),
//  - runs in the foreground as a direct child of dns_bench (stopped by pid),
//  - keeps its pid file, logs and state in the run's temp dir,
//  - serves the generated cluster.local and forwards nothing: no upstream is
//    configured anywhere; unbound refuses every name outside the zone.
// The thread count is the same for all (`--threads`), except dnsmasq, which has
// a single thread by design.
#pragma once

#include <sched.h>

#include <string>
#include <utility>
#include <vector>

#include "zone_generator.h"

namespace dnsbench {

struct ServerSetup {
  std::string label;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> files;  // name in the run dir, content
  std::string versionCommand;                              // for the report
  std::string notes;
};

inline std::string replaceAll(std::string text, const std::string& key, const std::string& value) {
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
    text.replace(at, key.size(), value);
  return text;
}

inline std::string fill(std::string text, const std::string& dir, int port, int threads) {
  text = replaceAll(text, "@DIR@", dir);
  text = replaceAll(text, "@PORT@", std::to_string(port));
  return replaceAll(text, "@THREADS@", std::to_string(threads));
}

// The CPUs this process may run on, in order (for the peers' pinning options).
inline std::vector<int> allowedCpus() {
  cpu_set_t set;
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

// `affinity` (dns_bench --affinity, default on): every server that has a
// CPU-affinity option runs with it, so all are compared at their best:
// podnet --cpu-affinity (on by default: UDP sockets steered by CPU, threads
// pinned), knot socket-affinity (off by default: the same idea), nsd
// cpu-affinity + server-N-cpu-affinity (pinning only). unbound and dnsmasq
// have no such option.

// podnet dns in its static mode: the objects file instead of an API server;
// `--upstream none` (default: resolv.conf) so names outside the zone are REFUSED.
inline ServerSetup podnetSetup(const std::string& binary, const std::string& dir, int port,
                               int threads, const std::string& objectsYaml, bool affinity) {
  return {"podnet",
          {binary, "dns", "--objects", dir + "/objects.yaml", "--listen",
           "127.0.0.1:" + std::to_string(port), "--threads", std::to_string(threads), "--upstream",
           "none", "--cpu-affinity", affinity ? "on" : "off", "--metrics-listen", "127.0.0.1:0"},
          {{"objects.yaml", objectsYaml}},
          "",
          std::string("--threads = threads (SO_REUSEPORT UDP sockets); --upstream none: nothing "
                      "forwarded; --cpu-affinity ") +
              (affinity ? "on (the default)" : "off")};
}

inline const char* kKnotConfig = R"(server:
    listen: 127.0.0.1@@PORT@
    rundir: @DIR@
    pidfile: @DIR@/knot.pid
    udp-workers: @THREADS@
    tcp-workers: 1
    background-workers: 1
database:
    storage: @DIR@
control:
    listen: @DIR@/knot.sock
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: @DIR@
    semantic-checks: off
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
zone:
  - domain: cluster.local
    file: @DIR@/cluster.local.zone
)";

inline ServerSetup knotSetup(const std::string& dir, int port, int threads,
                             const std::string& zoneFile, bool affinity) {
  std::string config = fill(kKnotConfig, dir, port, threads);
  if (affinity)
    config = replaceAll(config, "    udp-workers:", "    socket-affinity: on\n    udp-workers:");
  return {"knot",
          {"/usr/sbin/knotd", "-c", dir + "/knot.conf"},
          {{"knot.conf", config}, {"cluster.local.zone", zoneFile}},
          "/usr/sbin/knotd -V",
          std::string("udp-workers = threads; socket-affinity ") +
              (affinity ? "on" : "off (the default)")};
}

inline const char* kNsdConfig = R"(server:
    ip-address: 127.0.0.1@@PORT@
    port: @PORT@
    server-count: @THREADS@
    reuseport: yes
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: @DIR@
    database: ""
    zonelistfile: @DIR@/zone.list
    xfrdfile: @DIR@/xfrd.state
    xfrdir: @DIR@
    pidfile: @DIR@/nsd.pid
    logfile: @DIR@/nsd.log
    verbosity: 0
    hide-version: yes
    # NSD rate-limits responses by default (RRL, 200/s per client /24): off,
    # the load comes from one address.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: cluster.local
    zonefile: @DIR@/cluster.local.zone
)";

inline ServerSetup nsdSetup(const std::string& dir, int port, int threads,
                            const std::string& zoneFile, bool affinity) {
  std::string config = fill(kNsdConfig, dir, port, threads);
  if (affinity) {
    // Server N (from 1) on the N-th allowed CPU, round robin.
    std::vector<int> cpus = allowedCpus();
    std::string lines = "    cpu-affinity:";
    for (int cpu : cpus) lines += " " + std::to_string(cpu);
    lines += "\n";
    for (int n = 1; n <= threads; ++n)
      lines += "    server-" + std::to_string(n) +
               "-cpu-affinity: " + std::to_string(cpus[size_t(n - 1) % cpus.size()]) + "\n";
    config = replaceAll(config, "    reuseport: yes\n", "    reuseport: yes\n" + lines);
  }
  return {"nsd",
          {"/usr/sbin/nsd", "-d", "-c", dir + "/nsd.conf"},
          {{"nsd.conf", config}, {"cluster.local.zone", zoneFile}},
          "/usr/sbin/nsd -v",
          std::string("server-count = threads, reuseport; cpu-affinity ") +
              (affinity ? "one CPU per server" : "none (the default)")};
}

// `local-zone: "." refuse`: unbound is a recursive resolver; this keeps it from
// ever sending a query anywhere. cluster.local is the more specific static zone.
inline const char* kUnboundConfig = R"(server:
    interface: 127.0.0.1@@PORT@
    port: @PORT@
    num-threads: @THREADS@
    so-reuseport: yes
    do-ip6: no
    interface-automatic: no
    chroot: ""
    username: ""
    directory: "@DIR@"
    pidfile: "@DIR@/unbound.pid"
    use-syslog: no
    logfile: "@DIR@/unbound.log"
    verbosity: 0
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    local-zone: "." refuse
@LOCALDATA@remote-control:
    control-enable: no
)";

inline ServerSetup unboundSetup(const std::string& dir, int port, int threads,
                                const std::string& localData) {
  return {"unbound",
          {"/usr/sbin/unbound", "-d", "-c", dir + "/unbound.conf"},
          {{"unbound.conf",
            replaceAll(fill(kUnboundConfig, dir, port, threads), "@LOCALDATA@", localData)}},
          "/usr/sbin/unbound -V",
          "num-threads = threads, so-reuseport; zone as local-zone static + local-data"};
}

// No resolv.conf, no /etc/hosts, no server= line: nothing to forward to.
inline const char* kDnsmasqConfig = R"(port=@PORT@
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-poll
local=/cluster.local/
local-ttl=5
user=root
pid-file=@DIR@/dnsmasq.pid
addn-hosts=@DIR@/hosts
conf-file=@DIR@/records.conf
)";

inline ServerSetup dnsmasqSetup(const std::string& dir, int port, const std::string& hosts,
                                const std::string& records) {
  return {"dnsmasq",
          {"/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=" + dir + "/dnsmasq.conf"},
          {{"dnsmasq.conf", fill(kDnsmasqConfig, dir, port, 1)},
           {"hosts", hosts},
           {"records.conf", records}},
          "/usr/sbin/dnsmasq -v",
          "single-threaded by design; A records in an addn-hosts file (hashed), SRV as srv-host "
          "lines (a list dnsmasq scans for every query)"};
}

}  // namespace dnsbench
