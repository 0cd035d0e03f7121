// NetworkPolicy enforcement (issue 12): podnet's policy::Enforcer (nftables
// sets written through netlink) side by side with the way kube-router and
// Calico program the same policies (iptables-nft chains + ipset), in one run.
// Root only. Prints one JSON object per measurement on stdout (one per line),
// progress on stderr.
//
// Usage: sudo build/bench/policy_bench [--pods 10000] [--policies 1000]
//          [--namespaces 100] [--local-pods 110] [--apps 10]
//          [--iterations 100] [--peer-iterations 20] [--peer-full-iterations 1]
//          [--checks 4000] [--dp-policies 1000] [--dp-rounds 50]
//          [--dp-connections 100] [--matrix-pods 100000] [--matrix-policies 10000]
//          [--matrix-namespaces 1000] [--matrix-rows 40]
//          [--parts control,check,peer,data,matrix] [--quick]
//   --quick = --pods 2000 --policies 200 --namespaces 20 --iterations 30
//             --peer-iterations 5 --checks 1000 --dp-policies 200 --dp-rounds 10
//             --dp-connections 50
// The peer needs iptables (iptables-nft) and ipset: scripts/setup_bench.sh.
//
// Everything lives in throwaway network namespaces "ppb-<pid>-...", removed at
// the end, also on failure and on SIGINT/SIGTERM/SIGHUP (a signal thread
// deletes them and kills the iptables/ipset child it may be waiting for).
// iptables-nft-restore, iptables-nft-save and ipset run inside those
// namespaces only (the child is spawned from a thread that entered the
// namespace); the host's ruleset, ipsets and conntrack are never touched.
//
// The synthetic cluster (the same objects for both implementations):
//   --namespaces namespaces "ns-<n>" (labels team=team-<n%10>, env=prod|staging|dev)
//   plus kube-system with two coredns pods; --pods pods spread over them, pod j
//   of a namespace runs app-<j%apps> (labels app, tier frontend|backend|db by
//   app, pod-template-hash: replicas share labels as a Deployment's do; named
//   ports http=8080+app%3 and metrics=9090); --local-pods of them (spread by a
//   stride over namespaces and apps) on node-1, the node measured, the others
//   ~110 per node on node-2.. (pod IPs in each node's /24 of 10.244.0.0/14).
//   --policies policies, policy q in namespace q%N, shape by k=(q/N)%10:
//     0 default-deny ingress (every 4th namespace) or allow-same-namespace
//     1,2,4,6 one app from two other apps of the namespace (named port http,
//       or 8080+app%3 and 9090) and from frontends of another team's
//       namespaces (namespaceSelector AND podSelector, named port); k=4 also
//       from an ipBlock with except on 443
//     3 metrics (named port) from one other namespace by name label
//     5 frontends from two ipBlocks (one with two excepts) on 8080-8082
//     7 matchExpressions (tier In ...) on 5432, 6379 and 8000-8100 (endPort)
//     8 egress: to db pods 5432, to kube-dns 53/UDP+TCP, to an app's http
//     9 ingress + egress: from another team's namespaces, to an ipBlock with
//       except and to another team's namespaces on 8080-8082
//
// Control plane, podnet: one Enforcer (NetlinkWriter opened in an empty
// "cp-podnet" namespace) fed every object through its handlers (feed_ms),
// then sync(): one full-replace transaction (sync_ms, elements); the same
// with a writer that only counts (compile_only_sync_ms: no kernel). Then
// incremental changes, each timed from the handler call to the end of sync()
// (in the kernel): a local pod's labels changed (and back), a remote pod's, a
// policy changed (an ingress rule added, and back), a pod added on node-1 /
// on node-2, and those two deleted again; --iterations of each. The writer
// is wrapped to time the netlink transaction alone (kernel_ms) and to say
// what each delta held (chains added/removed, elements deleted from interval
// sets); control_change_kernel_breakdown groups the kernel times by that.
// After the iterations (which leave the cluster as it was) the compiler must
// hold as many elements as before (program_back_to_start).
//
// Control plane, the peer: the same objects translated as kube-router v2
// (pkg/controllers/netpol) does: a chain KUBE-NWPLCY-<hash> for every policy
// of the cluster whose rules match the ipsets of its selected pods and of
// each rule's peers (hash:ip, ipBlocks as hash:net with nomatch excepts,
// named ports as per-port sets of the pods that resolve them), MARK 0x10000
// then RETURN; a chain KUBE-POD-FW-<hash> for every pod of node-1 (conntrack
// established accept, node accept, the DEFAULT chain for an unisolated
// direction, a jump per policy selecting it, NFLOG + REJECT unless marked,
// MARK 0x20000), reached from KUBE-ROUTER-FORWARD (4 rules per local pod:
// -d, physdev -d, -s, physdev -s), -INPUT and -OUTPUT. Two deviations, both
// in the peer's favour or neutral: chain names do not change at every sync
// (kube-router adds a version), and a named port no pod resolves allows
// nothing (kube-router allows every port then). Applied in an empty
// "cp-ipt" namespace:
//   full: ipset restore (kube-router's temp set + swap per set), then
//     iptables-nft-restore of the filter table (generate_ms: building the
//     layout and text here, in C++, is reported apart).
//   iptables-calico-delta: per change, what Calico's Felix writes: ipset
//     restore of the changed members (add/del, create for new sets),
//     iptables-nft-restore --noflush rewriting only the chains whose rules
//     changed, destroy of sets no longer used. apply_ms is the kernel side
//     only (the three commands); building the next layout here is a full
//     rebuild (compute_ms), which Felix does incrementally, so apply_ms is a
//     lower bound of Calico's time. --peer-iterations of each change.
//   iptables-kube-router-full: per change, what kube-router does on every
//     pod or policy event: ipset save, iptables-save, ipset restore of every
//     set, iptables-restore of the whole filter table, destroy of stale sets.
//     --peer-full-iterations of each change (each is a full sync).
//
// Model check (no kernel): random connections to and from node-1's pods
// (pods, outside addresses, TCP/UDP ports) judged by podnet's evaluator
// (policy::evaluate, node-1's share: the destination's ingress if local, the
// source's egress if local), by podnet's compiled program (policy::Compiler +
// tracePacket) and by a simulation of the peer's chains and sets; they must
// agree, disagreements are printed. model_check_after_changes does the same
// with a Compiler fed the cluster and then every change step of the
// control-plane iterations, and also turns every element that program lacks
// (compared with one compiled from scratch) into the connection it allowed.
//
// Matrix: `podnet policy matrix` (policy::Reachability) over a cluster of
// --matrix-pods pods and --matrix-policies policies generated as above, from
// the objects alone, against per-pair evaluation (policy::evaluate for each
// pair) timed on --matrix-rows source rows and extrapolated; the sampled rows
// must agree.
//
// Data plane: identical topologies (node netns with bridge cni0,
// bridge-nf-call-iptables=1, pods server/client/intruder as veth-attached
// netns): "none" (no nftables at all), "podnet-no-policy" (podnet's node as it
// runs without NetworkPolicies: the same pods in its policy table, conntrack
// on, as the service proxy turns it on anyway), "podnet" (Enforcer +
// NetlinkWriter in the node netns), "iptables-kube-router" (the peer's
// layout) and, as a reference,
// "nft-conntrack-only" (one nft forward chain holding only `ct state
// established,related accept`: the cost of conntrack alone, which any
// stateful enforcement pays). podnet and the peer are programmed
// with the whole synthetic cluster plus namespace "dp" whose server is
// selected by --dp-policies policies, every one allowing the client from a
// rule at a varying position among 1-4 rules (the others: pods that do not
// exist, frontends of other teams' namespaces, ipBlocks), with ports 8080,
// named http, 8000-8100 or 8080+8443. Allow/deny probes with real
// connections first, then TCP connect + one request/response from client to
// server:8080, the variants interleaved in --dp-rounds rounds of
// --dp-connections each (order rotated every round); p50/p90/p99 in µs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ip.h"
#include "net/netns.h"
#include "policy/compiler.h"
#include "policy/enforcer.h"
#include "policy/evaluator.h"
#include "policy/matrix.h"
#include "policy/model.h"
#include "policy/netlink_writer.h"
#include "policy/program.h"
#include "policy/trace.h"

extern char** environ;

namespace {

namespace core = podnet::core;
namespace net = podnet::net;
namespace pol = podnet::policy;
using pol::Json;
using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p / 100.0 * double(v.size())));
  return v[i];
}

Json distribution(const std::vector<double>& v) {
  double sum = std::accumulate(v.begin(), v.end(), 0.0);
  return {{"n", v.size()},
          {"p50", round3(percentile(v, 50))},
          {"p90", round3(percentile(v, 90))},
          {"p99", round3(percentile(v, 99))},
          {"max", round3(v.empty() ? 0 : *std::max_element(v.begin(), v.end()))},
          {"mean", round3(v.empty() ? 0 : sum / double(v.size()))}};
}

void output(Json j) {
  j["bench"] = "policy";
  std::string line = j.dump() + "\n";
  // A reader that went away (`| head`): stop, removing what we made, rather
  // than measure for nobody (SIGPIPE is ignored, so the write fails).
  if (std::fputs(line.c_str(), stdout) == EOF || std::fflush(stdout) == EOF)
    throw std::runtime_error(std::string("stdout: ") + strerror(errno));
}

void progress(const char* format, ...) __attribute__((format(printf, 1, 2)));
void progress(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::fputs("policy_bench: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
}

// The machine is shared: say how busy it was.
std::string loadAverage() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "";
  char buf[128] = {};
  std::string out = std::fgets(buf, sizeof buf, f) ? buf : "";
  std::fclose(f);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

uint64_t fnv(std::string_view s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// 16 characters of base32, as kube-router names its chains and sets.
std::string h16(std::string_view s) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  uint64_t a = fnv(s), b = fnv(s, 0x9e3779b97f4a7c15ULL);
  std::string out;
  for (int i = 0; i < 8; ++i, a >>= 5) out += alphabet[a & 31];
  for (int i = 0; i < 8; ++i, b >>= 5) out += alphabet[b & 31];
  return out;
}

std::string ipText(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

// ---------------------------------------------------------------------------
// What to remove whatever happens: named namespaces and running children.

struct Registry {
  std::mutex mutex;
  std::vector<std::string> netns;
  std::set<pid_t> children;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: the signal thread may use it at exit
  return *r;
}

std::string prefixed(const std::string& suffix) {
  return "ppb-" + std::to_string(getpid()) + "-" + suffix;
}

void cleanupEverything() {
  std::lock_guard lock(registry().mutex);
  for (pid_t pid : registry().children) kill(pid, SIGKILL);
  for (const auto& name : registry().netns) (void)net::deleteNamedNetns(name);
  registry().netns.clear();
}

class Namespaces {
 public:
  Namespaces() = default;
  Namespaces(const Namespaces&) = delete;
  Namespaces& operator=(const Namespaces&) = delete;
  ~Namespaces() {
    handles_.clear();
    std::lock_guard lock(registry().mutex);
    for (const auto& name : names_) {
      (void)net::deleteNamedNetns(name);
      auto& all = registry().netns;
      all.erase(std::remove(all.begin(), all.end(), name), all.end());
    }
  }
  const net::NetnsHandle& make(const std::string& suffix) {
    std::string name = prefixed(suffix);
    {
      std::lock_guard lock(registry().mutex);
      registry().netns.push_back(name);  // before it exists: a signal now still removes it
    }
    names_.push_back(name);
    (void)net::deleteNamedNetns(name);
    auto handle = net::createNamedNetns(name);
    if (!handle) throw std::runtime_error("netns " + name + ": " + handle.error().message);
    return handles_.emplace(suffix, std::move(*handle)).first->second;
  }
  const net::NetnsHandle& operator[](const std::string& suffix) const {
    return handles_.at(suffix);
  }

 private:
  std::vector<std::string> names_;
  std::map<std::string, net::NetnsHandle> handles_;
};

void ip(const std::string& args) {
  std::string command = "ip " + args + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("ip " + args + " failed");
}

void check(const core::Status& s, const std::string& what) {
  if (!s) throw std::runtime_error(what + ": " + s.error().message);
}

// ---------------------------------------------------------------------------
// Running iptables / ipset inside a namespace: posix_spawn (vfork-like, as Go's
// exec is) from this thread while it is in the namespace, so the child is born
// there; stdin from a memfd holding the script.

struct Proc {
  int status = -1;
  std::string out, err;
  double ms = 0;
};

int memfdWith(const std::string& data) {
  int fd = memfd_create("ppb", MFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("memfd_create: ") + strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) throw std::runtime_error(std::string("memfd write: ") + strerror(errno));
    done += size_t(n);
  }
  lseek(fd, 0, SEEK_SET);
  return fd;
}

std::string readAll(int fd) {
  std::string out;
  lseek(fd, 0, SEEK_SET);
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

Proc runIn(const net::NetnsHandle& ns, std::vector<std::string> argv, const std::string& input,
           bool captureOut = false) {
  Proc p;
  int in = memfdWith(input);
  int out = captureOut ? memfdWith("") : open("/dev/null", O_WRONLY | O_CLOEXEC);
  int err = memfdWith("");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  auto started = Clock::now();
  auto pid = net::runInNetnsOnThisThread(ns.fd(), [&]() -> core::Result<int> {
    std::lock_guard lock(registry().mutex);
    pid_t child = -1;
    int rc = posix_spawn(&child, args[0], &actions, &attr, args.data(), environ);
    if (rc != 0) return core::internal(argv[0] + ": " + strerror(rc));
    registry().children.insert(child);
    return int(child);
  });
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (!pid) {
    close(in), close(out), close(err);
    throw std::runtime_error(pid.error().message);
  }
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  p.ms = ms(Clock::now() - started);
  {
    std::lock_guard lock(registry().mutex);
    registry().children.erase(*pid);
  }
  p.status = status;
  if (captureOut) p.out = readAll(out);
  p.err = readAll(err);
  close(in), close(out), close(err);
  return p;
}

const char* kIptablesRestore = "/usr/sbin/iptables-nft-restore";
const char* kIptablesSave = "/usr/sbin/iptables-nft-save";
const char* kIpset = "/usr/sbin/ipset";
const char* kNft = "/usr/sbin/nft";

double runOk(const net::NetnsHandle& ns, std::vector<std::string> argv, const std::string& input,
             std::string* out = nullptr) {
  std::string what = argv[0];
  Proc p = runIn(ns, std::move(argv), input, out != nullptr);
  if (!WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0) {
    std::string err = p.err.substr(0, 2000);
    throw std::runtime_error(what + " failed (status " + std::to_string(p.status) + "): " + err);
  }
  if (out) *out = std::move(p.out);
  return p.ms;
}

// ---------------------------------------------------------------------------
// The synthetic cluster.

struct Params {
  size_t pods = 10000, policies = 1000, namespaces = 100, localPods = 110, apps = 10;
  size_t iterations = 100, peerIterations = 20, peerFullIterations = 1;
  size_t checks = 4000;
  size_t dpPolicies = 1000, dpRounds = 50, dpConnections = 100;
  size_t matrixPods = 100000, matrixPolicies = 10000, matrixNamespaces = 1000, matrixRows = 40;
  bool control = true, check = true, peer = true, data = true, matrix = true;
};

constexpr uint32_t kPodBase = (10u << 24) | (244u << 16);  // 10.244.0.0/14, a /24 per node
uint32_t podAddress(uint32_t node, uint32_t host) { return kPodBase + node * 256 + host; }
constexpr uint32_t kLocalAddedHost = 250, kRemoteAddedHost = 250;
constexpr uint32_t kDpServerHost = 230, kDpClientHost = 231, kDpIntruderHost = 232;
const char* kNode = "node-1";

std::string appName(size_t a) { return "app-" + std::to_string(a); }
std::string tierOf(size_t a) { return a % 10 < 3 ? "frontend" : a % 10 < 7 ? "backend" : "db"; }
std::string teamOf(size_t n) { return "team-" + std::to_string(n % 10); }

Json namespaceJson(const std::string& name, Json labels) {
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", name}, {"labels", std::move(labels)}}}};
}

Json podJson(const std::string& ns, const std::string& name, Json labels, const std::string& node,
             uint32_t address, Json ports) {
  std::string a = ipText(address);
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", std::move(labels)}}},
          {"spec",
           {{"nodeName", node},
            {"containers", {{{"name", "main"}, {"image", "x"}, {"ports", std::move(ports)}}}}}},
          {"status", {{"phase", "Running"}, {"podIP", a}, {"podIPs", {{{"ip", a}}}}}}};
}

Json appLabels(const std::string& ns, size_t a) {
  return {{"app", appName(a)},
          {"tier", tierOf(a)},
          {"pod-template-hash", h16(ns + "/" + appName(a)).substr(0, 10)}};
}

Json appPorts(size_t a) {
  return Json::array({{{"name", "http"}, {"containerPort", 8080 + int(a % 3)}},
                      {{"name", "metrics"}, {"containerPort", 9090}}});
}

Json policyJson(const std::string& ns, const std::string& name, Json spec) {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", std::move(spec)}};
}

Json matchLabels(Json labels) { return {{"matchLabels", std::move(labels)}}; }

std::string keyOf(const Json& object) {
  return object["metadata"].value("namespace", "default") + "/" +
         object["metadata"]["name"].get<std::string>();
}

struct Event {
  enum class Kind { namespaceSet, podSet, podDelete, policySet } kind;
  Json object;
};

struct Synthetic {
  std::vector<Json> namespaces, pods, policies;
  std::map<std::string, Json> podByKey, policyByKey;
  std::vector<std::string> localPods, remotePods, policyKeys;
  size_t nodes = 0;
  size_t namespaceCount = 0;
  std::vector<Event> events() const {
    std::vector<Event> out;
    for (const auto& j : namespaces) out.push_back({Event::Kind::namespaceSet, j});
    for (const auto& j : pods) out.push_back({Event::Kind::podSet, j});
    for (const auto& j : policies) out.push_back({Event::Kind::policySet, j});
    return out;
  }
};

Json clusterPolicySpec(size_t n, size_t k, size_t N, size_t A) {
  size_t a = (n + k) % A;
  std::string app = appName(a);
  Json selectApp = matchLabels({{"app", app}});
  switch (k % 10) {
    case 0:
      if (n % 4 == 0) return {{"podSelector", Json::object()}, {"policyTypes", {"Ingress"}}};
      return {{"podSelector", Json::object()},
              {"ingress", {{{"from", {{{"podSelector", Json::object()}}}}}}}};
    case 1:
    case 2:
    case 4:
    case 6: {
      Json ports = k % 2 == 1 ? Json::array({{{"port", "http"}}})
                              : Json::array({{{"port", 8080 + int(a % 3)}}, {{"port", 9090}}});
      Json ingress = Json::array();
      ingress.push_back({{"from",
                          {{{"podSelector", matchLabels({{"app", appName((a + 1) % A)}})}},
                           {{"podSelector", matchLabels({{"app", appName((a + 2) % A)}})}}}},
                         {"ports", ports}});
      ingress.push_back({{"from",
                          {{{"namespaceSelector", matchLabels({{"team", teamOf(n + k)}})},
                            {"podSelector", matchLabels({{"tier", "frontend"}})}}}},
                         {"ports", {{{"port", "http"}}}}});
      if (k % 10 == 4)
        ingress.push_back({{"from",
                            {{{"ipBlock",
                               {{"cidr", "192.168.0.0/16"},
                                {"except", {"192.168." + std::to_string(n % 256) + ".0/24"}}}}}}},
                           {"ports", {{{"port", 443}}}}});
      return {{"podSelector", selectApp}, {"ingress", ingress}};
    }
    case 3:
      return {
          {"podSelector", selectApp},
          {"ingress",
           {{{"from",
              {{{"namespaceSelector",
                 matchLabels({{pol::kNamespaceNameLabel, "ns-" + std::to_string((n + 1) % N)}})}}}},
             {"ports", {{{"port", "metrics"}}}}}}}};
    case 5:
      return {{"podSelector", matchLabels({{"tier", "frontend"}})},
              {"ingress",
               {{{"from",
                  {{{"ipBlock",
                     {{"cidr", "10.0.0.0/8"}, {"except", {"10.244.0.0/14", "10.96.0.0/12"}}}}},
                   {{"ipBlock", {{"cidr", "172.16.0.0/12"}}}}}},
                 {"ports", {{{"port", 8080}, {"endPort", 8082}}}}}}}};
    case 7:
      return {{"podSelector",
               {{"matchExpressions",
                 {{{"key", "tier"}, {"operator", "In"}, {"values", {"backend", "db"}}}}}}},
              {"ingress",
               {{{"from",
                  {{{"podSelector",
                     {{"matchExpressions",
                       {{{"key", "tier"},
                         {"operator", "In"},
                         {"values", {"frontend", "backend"}}}}}}}}}},
                 {"ports",
                  {{{"port", 5432}}, {{"port", 6379}}, {{"port", 8000}, {"endPort", 8100}}}}}}}};
    case 8:
      return {
          {"podSelector", selectApp},
          {"policyTypes", {"Egress"}},
          {"egress",
           {{{"to", {{{"podSelector", matchLabels({{"tier", "db"}})}}}},
             {"ports", {{{"port", 5432}}}}},
            {{"to",
              {{{"namespaceSelector", matchLabels({{pol::kNamespaceNameLabel, "kube-system"}})},
                {"podSelector", matchLabels({{"k8s-app", "kube-dns"}})}}}},
             {"ports", {{{"port", 53}, {"protocol", "UDP"}}, {{"port", 53}, {"protocol", "TCP"}}}}},
            {{"to", {{{"podSelector", matchLabels({{"app", appName((a + 1) % A)}})}}}},
             {"ports", {{{"port", "http"}}}}}}}};
    default:  // 9
      return {{"podSelector", selectApp},
              {"policyTypes", {"Ingress", "Egress"}},
              {"ingress",
               {{{"from", {{{"namespaceSelector", matchLabels({{"team", teamOf(n + 5)}})}}}}}}},
              {"egress",
               {{{"to", {{{"ipBlock", {{"cidr", "10.0.0.0/8"}, {"except", {"10.244.0.0/14"}}}}}}}},
                {{"to", {{{"namespaceSelector", matchLabels({{"team", teamOf(n + 5)}})}}}},
                 {"ports", {{{"port", 8080}, {"endPort", 8082}}}}}}}};
  }
}

const char* kPolicyShapes[] = {"allow-same-namespace", "allow-app", "allow-app", "allow-metrics",
                               "allow-app-lan",        "allow-lb",  "allow-app", "allow-backends",
                               "egress-app",           "both-app"};

Synthetic generate(const Params& p) {
  Synthetic s;
  size_t N = std::max<size_t>(1, p.namespaces), A = std::max<size_t>(1, p.apps), P = p.pods;
  size_t L = std::min(p.localPods, P);
  s.namespaceCount = N;
  static const char* envs[] = {"prod", "staging", "dev"};
  for (size_t n = 0; n < N; ++n)
    s.namespaces.push_back(
        namespaceJson("ns-" + std::to_string(n), {{"team", teamOf(n)}, {"env", envs[n % 3]}}));
  s.namespaces.push_back(namespaceJson("kube-system", Json::object()));
  size_t stride = 7919;
  while (P > 0 && std::gcd(stride, P) != 1) stride += 2;
  std::vector<bool> local(P, false);
  for (size_t k = 0; k < L; ++k) local[(k * stride) % P] = true;
  size_t remoteNodes = std::max<size_t>(1, (P - L + 109) / 110);
  s.nodes = 1 + remoteNodes;
  size_t l = 0, r = 0;
  for (size_t g = 0; g < P; ++g) {
    size_t n = g % N, j = g / N, a = j % A;
    std::string ns = "ns-" + std::to_string(n);
    std::string name = appName(a) + "-" + std::to_string(j);
    uint32_t address;
    std::string node;
    if (local[g]) {
      node = kNode;
      address = podAddress(1, uint32_t(2 + l++));
    } else {
      uint32_t nodeIndex = uint32_t(2 + r % remoteNodes);
      node = "node-" + std::to_string(nodeIndex);
      address = podAddress(nodeIndex, uint32_t(2 + r / remoteNodes));
      ++r;
    }
    Json pod = podJson(ns, name, appLabels(ns, a), node, address, appPorts(a));
    std::string key = ns + "/" + name;
    (local[g] ? s.localPods : s.remotePods).push_back(key);
    s.podByKey[key] = pod;
    s.pods.push_back(std::move(pod));
  }
  for (int i = 0; i < 2; ++i) {
    uint32_t nodeIndex = uint32_t(2 + i % remoteNodes);
    Json pod = podJson("kube-system", "coredns-" + std::to_string(i), {{"k8s-app", "kube-dns"}},
                       "node-" + std::to_string(nodeIndex), podAddress(nodeIndex, 240 + i),
                       Json::array({{{"name", "dns"}, {"containerPort", 53}, {"protocol", "UDP"}},
                                    {{"name", "dns-tcp"}, {"containerPort", 53}}}));
    s.podByKey[keyOf(pod)] = pod;
    s.pods.push_back(std::move(pod));
  }
  for (size_t q = 0; q < p.policies; ++q) {
    size_t n = q % N, k = q / N;
    std::string ns = "ns-" + std::to_string(n);
    std::string name = std::string(kPolicyShapes[k % 10]) + "-" + std::to_string(k);
    if (k % 10 == 0 && n % 4 == 0) name = "default-deny-" + std::to_string(k);
    Json policy = policyJson(ns, name, clusterPolicySpec(n, k, N, A));
    std::string key = ns + "/" + name;
    s.policyKeys.push_back(key);
    s.policyByKey[key] = policy;
    s.policies.push_back(std::move(policy));
  }
  return s;
}

// The data-plane namespace: a server selected by `count` policies, each
// allowing the client from one of its 1-4 rules.
struct DataPlaneObjects {
  std::vector<Json> objects;  // namespace, pods, policies, in that order
  std::vector<Event> events() const {
    std::vector<Event> out;
    for (const auto& j : objects) {
      std::string kind = j["kind"];
      out.push_back({kind == "Namespace" ? Event::Kind::namespaceSet
                     : kind == "Pod"     ? Event::Kind::podSet
                                         : Event::Kind::policySet,
                     j});
    }
    return out;
  }
};

DataPlaneObjects dataPlaneObjects(size_t count) {
  DataPlaneObjects d;
  d.objects.push_back(namespaceJson("dp", {{"team", "dp"}, {"env", "prod"}}));
  Json ports = Json::array({{{"name", "http"}, {"containerPort", 8080}},
                            {{"name", "metrics"}, {"containerPort", 9090}}});
  d.objects.push_back(podJson("dp", "server", {{"app", "server"}, {"tier", "backend"}}, kNode,
                              podAddress(1, kDpServerHost), ports));
  d.objects.push_back(podJson("dp", "client", {{"app", "client"}, {"tier", "frontend"}}, kNode,
                              podAddress(1, kDpClientHost), ports));
  d.objects.push_back(podJson("dp", "intruder", {{"app", "intruder"}, {"tier", "frontend"}}, kNode,
                              podAddress(1, kDpIntruderHost), ports));
  for (size_t i = 0; i < count; ++i) {
    Json selector;
    switch (i % 3) {
      case 0:
        selector = matchLabels({{"app", "server"}});
        break;
      case 1:
        selector = matchLabels({{"tier", "backend"}});
        break;
      default:
        selector = {{"matchExpressions",
                     {{{"key", "app"},
                       {"operator", "In"},
                       {"values", {"server", "api-" + std::to_string(i)}}}}}};
    }
    size_t rules = 1 + i % 4, clientAt = (i / 4) % rules;
    Json ingress = Json::array();
    for (size_t j = 0; j < rules; ++j) {
      if (j == clientAt) {
        Json clientPorts;
        switch ((i / 16) % 4) {
          case 0:
            clientPorts = Json::array({{{"port", 8080}}});
            break;
          case 1:
            clientPorts = Json::array({{{"port", "http"}}});
            break;
          case 2:
            clientPorts = Json::array({{{"port", 8000}, {"endPort", 8100}}});
            break;
          default:
            clientPorts = Json::array({{{"port", 8080}}, {{"port", 8443}}});
        }
        ingress.push_back({{"from", {{{"podSelector", matchLabels({{"app", "client"}})}}}},
                           {"ports", clientPorts}});
        continue;
      }
      Json from;
      switch ((i + j) % 3) {
        case 0:
          from = {{{"podSelector", matchLabels({{"app", "ghost-" + std::to_string(i) + "-" +
                                                            std::to_string(j)}})}}};
          break;
        case 1:
          from = {{{"namespaceSelector", matchLabels({{"team", teamOf(i + j)}})},
                   {"podSelector", matchLabels({{"tier", "frontend"}})}}};
          break;
        default:
          from = {{{"ipBlock", {{"cidr", "172.16." + std::to_string(i % 256) + ".0/24"}}}}};
      }
      ingress.push_back({{"from", from}, {"ports", {{{"port", 8080}}}}});
    }
    d.objects.push_back(policyJson("dp", "server-" + std::to_string(i),
                                   {{"podSelector", selector}, {"ingress", ingress}}));
  }
  return d;
}

// The changes of one iteration, each timed on its own; the iteration leaves
// the cluster as it found it.
struct Step {
  std::string kind;
  Event event;
};

Json relabeled(Json pod, size_t apps, size_t shift) {
  std::string ns = pod["metadata"]["namespace"];
  std::string app = pod["metadata"]["labels"]["app"];
  size_t a = std::stoul(app.substr(4));
  pod["metadata"]["labels"] = appLabels(ns, (a + 1 + shift) % apps);
  return pod;
}

std::vector<Step> iterationSteps(const Synthetic& s, const Params& p, size_t i) {
  std::vector<Step> steps;
  size_t A = std::max<size_t>(1, p.apps);
  if (!s.localPods.empty()) {
    const Json& pod = s.podByKey.at(s.localPods[(i * 37) % s.localPods.size()]);
    steps.push_back({"pod_labels_local", {Event::Kind::podSet, relabeled(pod, A, i % 3)}});
    steps.push_back({"pod_labels_local", {Event::Kind::podSet, pod}});
  }
  if (!s.remotePods.empty()) {
    const Json& pod = s.podByKey.at(s.remotePods[(i * 7919 + 13) % s.remotePods.size()]);
    steps.push_back({"pod_labels_remote", {Event::Kind::podSet, relabeled(pod, A, i % 3)}});
    steps.push_back({"pod_labels_remote", {Event::Kind::podSet, pod}});
  }
  if (!s.policyKeys.empty()) {
    const Json& policy = s.policyByKey.at(s.policyKeys[(i * 104729 + 7) % s.policyKeys.size()]);
    Json changed = policy;
    Json& spec = changed["spec"];
    if (!spec.contains("ingress")) spec["ingress"] = Json::array();
    spec["ingress"].push_back(
        {{"from", {{{"podSelector", matchLabels({{"app", appName(i % A)}})}}}},
         {"ports", {{{"port", 8443}}}}});
    steps.push_back({"policy_changed", {Event::Kind::policySet, changed}});
    steps.push_back({"policy_changed", {Event::Kind::policySet, policy}});
  }
  std::string ns = "ns-" + std::to_string(i % s.namespaceCount);
  Json addedLocal = podJson(ns, "bench-added-" + std::to_string(i), appLabels(ns, i % A), kNode,
                            podAddress(1, kLocalAddedHost), appPorts(i % A));
  std::string ns2 = "ns-" + std::to_string((i + s.namespaceCount / 2) % s.namespaceCount);
  Json addedRemote =
      podJson(ns2, "bench-added-remote-" + std::to_string(i), appLabels(ns2, (i + 3) % A), "node-2",
              podAddress(2, kRemoteAddedHost), appPorts((i + 3) % A));
  steps.push_back({"pod_added_local", {Event::Kind::podSet, addedLocal}});
  steps.push_back({"pod_added_remote", {Event::Kind::podSet, addedRemote}});
  steps.push_back({"pod_deleted_local", {Event::Kind::podDelete, addedLocal}});
  steps.push_back({"pod_deleted_remote", {Event::Kind::podDelete, addedRemote}});
  return steps;
}

const std::vector<std::string> kChangeKinds = {
    "pod_labels_local", "pod_labels_remote", "policy_changed",    "pod_added_local",
    "pod_added_remote", "pod_deleted_local", "pod_deleted_remote"};

void feed(pol::Enforcer& e, const Event& ev) {
  switch (ev.kind) {
    case Event::Kind::namespaceSet:
      e.namespaceChanged(ev.object);
      break;
    case Event::Kind::podSet:
      e.podChanged(ev.object);
      break;
    case Event::Kind::podDelete:
      e.podDeleted(ev.object);
      break;
    case Event::Kind::policySet:
      e.policyChanged(ev.object);
      break;
  }
}

// The objects as typed values (for the peer's translation and the checks).
struct Model {
  std::map<std::string, pol::Namespace> namespaces;
  std::map<std::string, pol::Pod> pods;
  std::map<std::string, pol::Policy> policies;
  void apply(const Event& ev) {
    switch (ev.kind) {
      case Event::Kind::namespaceSet: {
        pol::Namespace ns = pol::namespaceFromJson(ev.object);
        namespaces[ns.name] = ns;
        break;
      }
      case Event::Kind::podSet: {
        pol::Pod pod = pol::podFromJson(ev.object);
        pods[pod.key()] = pod;
        break;
      }
      case Event::Kind::podDelete:
        pods.erase(keyOf(ev.object));
        break;
      case Event::Kind::policySet: {
        auto policy = pol::policyFromJson(ev.object);
        if (!policy)
          throw std::runtime_error("policy " + keyOf(ev.object) + ": " + policy.error().message);
        policies.insert_or_assign(policy->key(), std::move(*policy));
        break;
      }
    }
  }
};

std::optional<uint32_t> ipv4Of(const pol::Pod& pod) {
  if (pod.hostNetwork) return std::nullopt;
  for (const auto& a : pod.ips)
    if (!a.v6) return a.v4();
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// The peer: kube-router's iptables + ipset layout, as data.

struct SetEntry {
  uint32_t address = 0;
  uint8_t prefix = 32;
  bool nomatch = false;
  auto operator<=>(const SetEntry&) const = default;
  bool operator==(const SetEntry&) const = default;
};

struct IpSet {
  bool net = false;               // hash:net, else hash:ip
  std::vector<SetEntry> entries;  // sorted, unique
  bool operator==(const IpSet&) const = default;
};

std::string entryText(const SetEntry& e, bool net) {
  std::string out = ipText(e.address);
  if (net) out += "/" + std::to_string(e.prefix);
  out += " timeout 0";
  if (e.nomatch) out += " nomatch";
  return out;
}

std::string setOptions(bool net) {
  return std::string(net ? "hash:net" : "hash:ip") +
         " family inet hashsize 1024 maxelem 65536 timeout 0";
}

struct Rule {
  enum class Target { jump, accept, reject, returns, markAllow, markClear, markAccepted, nflog };
  uint32_t src = 0, dst = 0;  // -s / -d a.b.c.d/32; 0: any
  bool physdev = false, srcLocal = false, established = false, limit = false;
  std::string comment;
  std::string srcSet, dstSet;
  uint8_t proto = 0;  // 0: any
  int icmpType = -1;
  uint16_t portFirst = 0, portLast = 0;  // 0: any
  int mark =
      0;  // 1: --mark 0x10000/0x10000, -1: ! --mark 0x10000/0x10000, 2: --mark 0x20000/0x20000
  Target target = Target::accept;
  std::string jump;
  std::string raw;  // the whole text instead (rules the simulation never reaches)

  std::string text() const {
    if (!raw.empty()) return " " + raw;
    std::string s;
    if (src) s += " -s " + ipText(src) + "/32";
    if (dst) s += " -d " + ipText(dst) + "/32";
    const char* p = proto == 6     ? "tcp"
                    : proto == 17  ? "udp"
                    : proto == 132 ? "sctp"
                    : proto == 1   ? "icmp"
                                   : "";
    if (proto) s += std::string(" -p ") + p;
    if (physdev) s += " -m physdev --physdev-is-bridged";
    if (!comment.empty()) s += " -m comment --comment \"" + comment + "\"";
    if (srcLocal) s += " -m addrtype --src-type LOCAL";
    if (established) s += " -m conntrack --ctstate RELATED,ESTABLISHED";
    if (!srcSet.empty()) s += " -m set --match-set " + srcSet + " src";
    if (!dstSet.empty()) s += " -m set --match-set " + dstSet + " dst";
    if (icmpType >= 0) s += " -m icmp --icmp-type " + std::to_string(icmpType);
    if (portFirst) {
      s += std::string(" -m ") + p + " --dport " + std::to_string(portFirst);
      if (portLast != portFirst) s += ":" + std::to_string(portLast);
    }
    if (mark == 1) s += " -m mark --mark 0x10000/0x10000";
    if (mark == -1) s += " -m mark ! --mark 0x10000/0x10000";
    if (mark == 2) s += " -m mark --mark 0x20000/0x20000";
    if (limit) s += " -m limit --limit 10/min --limit-burst 10";
    switch (target) {
      case Target::jump:
        s += " -j " + jump;
        break;
      case Target::accept:
        s += " -j ACCEPT";
        break;
      case Target::reject:
        s += " -j REJECT";
        break;
      case Target::returns:
        s += " -j RETURN";
        break;
      case Target::markAllow:
        s += " -j MARK --set-xmark 0x10000/0x10000";
        break;
      case Target::markClear:
        s += " -j MARK --set-xmark 0x0/0x10000";
        break;
      case Target::markAccepted:
        s += " -j MARK --set-xmark 0x20000/0x20000";
        break;
      case Target::nflog:
        s += " -j NFLOG --nflog-group 100";
        break;
    }
    return s;
  }
};

struct Chain {
  std::vector<Rule> rules;
  std::vector<std::string> texts;  // rules[i].text(), for diffs
};

struct Layout {
  std::map<std::string, IpSet> sets;
  std::map<std::string, Chain> chains;  // the builtin INPUT/FORWARD/OUTPUT too
  std::vector<std::string> localOrder;  // pod keys, in KUBE-ROUTER-FORWARD's order
  size_t policyChains = 0, podChains = 0;
  size_t ruleCount() const {
    size_t n = 0;
    for (const auto& [name, c] : chains) n += c.rules.size();
    return n;
  }
  size_t entryCount() const {
    size_t n = 0;
    for (const auto& [name, s] : sets) n += s.entries.size();
    return n;
  }
};

bool builtinChain(const std::string& name) {
  return name == "INPUT" || name == "FORWARD" || name == "OUTPUT";
}

const char* kDefaultChain = "KUBE-NWPLCY-DEFAULT";
const char* kRouterChains[] = {"KUBE-ROUTER-INPUT", "KUBE-ROUTER-FORWARD", "KUBE-ROUTER-OUTPUT"};

class Translator {
 public:
  Translator(const Model& m, std::string node) : m_(m), node_(std::move(node)) {}

  Layout build() {
    for (const auto& [key, pod] : m_.pods)
      if (ipv4Of(pod)) {
        byNs_[pod.ns].push_back(&pod);
        all_.push_back(&pod);
      }
    chain(kDefaultChain);
    for (const char* c : kRouterChains) chain(c);
    for (const auto& [key, policy] : m_.policies) translatePolicy(policy);
    podChains();
    for (auto& [name, c] : out_.chains)
      for (const auto& r : c.rules) c.texts.push_back(r.text());
    return std::move(out_);
  }

 private:
  Chain& chain(const std::string& name) { return out_.chains[name]; }
  void add(const std::string& chainName, Rule r) { chain(chainName).rules.push_back(std::move(r)); }

  const pol::Labels& nsLabels(const std::string& ns) {
    auto it = m_.namespaces.find(ns);
    if (it != m_.namespaces.end()) return it->second.labels;
    auto& fallback = fallbackLabels_[ns];
    fallback[pol::kNamespaceNameLabel] = ns;
    return fallback;
  }

  void addSet(const std::string& name, bool net, std::vector<SetEntry> entries) {
    std::sort(entries.begin(), entries.end());
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
    out_.sets[name] = IpSet{net, std::move(entries)};
  }

  static std::vector<SetEntry> entriesOf(const std::vector<const pol::Pod*>& pods) {
    std::vector<SetEntry> out;
    for (const auto* p : pods) out.push_back({*ipv4Of(*p), 32, false});
    return out;
  }

  // kube-router's evalPodPeer.
  std::vector<const pol::Pod*> peerPods(const pol::Policy& policy, const pol::Peer& peer) {
    std::vector<const pol::Pod*> out;
    if (peer.namespaceSelector) {
      for (const auto& [ns, pods] : byNs_) {
        if (!peer.namespaceSelector->matches(nsLabels(ns))) continue;
        for (const auto* pod : pods)
          if (!peer.podSelector || peer.podSelector->matches(pod->labels)) out.push_back(pod);
      }
    } else if (peer.podSelector) {
      auto it = byNs_.find(policy.ns);
      if (it != byNs_.end())
        for (const auto* pod : it->second)
          if (peer.podSelector->matches(pod->labels)) out.push_back(pod);
    }
    return out;
  }

  static std::vector<SetEntry> blockEntries(const pol::IpBlock& block) {
    std::vector<SetEntry> out;
    if (block.cidr.network.v6) return out;
    if (block.cidr.prefix == 0) {  // hash:net holds no /0: kube-router splits it
      out.push_back({0, 1, false});
      out.push_back({0x80000000u, 1, false});
    } else {
      out.push_back({block.cidr.network.v4(), uint8_t(block.cidr.prefix), false});
    }
    for (const auto& e : block.except)
      if (!e.network.v6) out.push_back({e.network.v4(), uint8_t(e.prefix), true});
    return out;
  }

  // Pods grouped by the number a named port resolves to on them.
  static std::map<uint16_t, std::vector<SetEntry>> byNamedPort(
      const std::vector<const pol::Pod*>& pods, const std::string& name, pol::Protocol protocol) {
    std::map<uint16_t, std::vector<SetEntry>> out;
    for (const auto* pod : pods)
      if (auto number = pol::resolveNamedPort(*pod, name, protocol))
        out[*number].push_back({*ipv4Of(*pod), 32, false});
    return out;
  }

  // kube-router's appendRuleToPolicyChain: MARK, then RETURN if marked.
  void emit(const std::string& chainName, const std::string& comment, const std::string& srcSet,
            const std::string& dstSet, uint8_t proto, uint16_t first, uint16_t last) {
    Rule r;
    r.comment = comment;
    r.srcSet = srcSet;
    r.dstSet = dstSet;
    r.proto = proto;
    r.portFirst = first;
    r.portLast = last;
    r.target = Rule::Target::markAllow;
    add(chainName, r);
    r.mark = 1;
    r.target = Rule::Target::returns;
    add(chainName, r);
  }

  // The rules for one list of ports; `resolveOn` are the pods on which named
  // ports resolve (the selected pods for ingress, the peers for egress).
  void portRules(const std::string& chainName, const std::string& comment, const std::string& tag,
                 const pol::Rule& rule, const std::string& srcSet, const std::string& dstSet,
                 bool ingress, const std::vector<const pol::Pod*>* resolveOn) {
    if (rule.ports.empty()) {
      emit(chainName, comment, srcSet, dstSet, 0, 0, 0);
      return;
    }
    for (const auto& port : rule.ports) {
      uint8_t proto = static_cast<uint8_t>(port.protocol);
      switch (port.kind) {
        case pol::PolicyPort::Kind::all:
          emit(chainName, comment, srcSet, dstSet, proto, 0, 0);
          break;
        case pol::PolicyPort::Kind::number:
          emit(chainName, comment, srcSet, dstSet, proto, port.port, port.endPort);
          break;
        case pol::PolicyPort::Kind::named: {
          if (!resolveOn) break;  // egress to an ipBlock: no pod to resolve it on
          for (auto& [number, entries] : byNamedPort(*resolveOn, port.name, port.protocol)) {
            std::string set =
                "KUBE-DST-" + h16(tag + "|np|" + port.name + "|" + std::to_string(proto) + "|" +
                                  std::to_string(number));
            addSet(set, false, std::move(entries));
            if (ingress)
              emit(chainName, comment, srcSet, set, proto, number, number);
            else
              emit(chainName, comment, srcSet, set, proto, number, number);
          }
          break;
        }
      }
    }
  }

  void translatePolicy(const pol::Policy& policy) {
    std::string key = policy.key();
    std::string chainName = "KUBE-NWPLCY-" + h16(key);
    chain(chainName);
    ++out_.policyChains;
    std::vector<const pol::Pod*> targets;
    if (auto it = byNs_.find(policy.ns); it != byNs_.end())
      for (const auto* pod : it->second)
        if (pol::policySelects(policy, *pod)) targets.push_back(pod);
    std::string comment =
        "rule to ACCEPT traffic from source pods to dest pods selected by policy name " +
        policy.name + " namespace " + policy.ns;
    for (bool ingress : {true, false}) {
      if (ingress ? !policy.ingress : !policy.egress) continue;
      // The selected pods are the destinations of its ingress and the
      // sources of its egress; the rule's peers the other end.
      std::string targetSet = (ingress ? "KUBE-DST-" : "KUBE-SRC-") + h16(key);
      const char* peerPrefix = ingress ? "KUBE-SRC-" : "KUBE-DST-";
      addSet(targetSet, false, entriesOf(targets));
      const auto& rules = ingress ? policy.ingressRules : policy.egressRules;
      for (size_t r = 0; r < rules.size(); ++r) {
        const pol::Rule& rule = rules[r];
        std::string tag = key + (ingress ? "|in|" : "|out|") + std::to_string(r);
        std::vector<const pol::Pod*> peers;
        std::vector<SetEntry> blocks;
        for (const auto& peer : rule.peers) {
          if (peer.ipBlock) {
            auto e = blockEntries(*peer.ipBlock);
            blocks.insert(blocks.end(), e.begin(), e.end());
          } else {
            auto pods = peerPods(policy, peer);
            peers.insert(peers.end(), pods.begin(), pods.end());
          }
        }
        // Named ports resolve on the destinations.
        auto rulesFor = [&](const std::string& peerSet, std::vector<const pol::Pod*>* peerPods) {
          if (ingress)
            portRules(chainName, comment, tag, rule, peerSet, targetSet, true, &targets);
          else
            portRules(chainName, comment, tag, rule, targetSet, peerSet, false, peerPods);
        };
        if (!peers.empty()) {
          std::string set = peerPrefix + h16(tag);
          addSet(set, false, entriesOf(peers));
          rulesFor(set, &peers);
        }
        if (rule.peers.empty()) rulesFor("", &all_);
        if (!blocks.empty()) {
          std::string set = peerPrefix + h16(tag + "|ipblock");
          addSet(set, true, std::move(blocks));
          rulesFor(set, nullptr);
        }
      }
    }
    for (const auto* pod : targets)
      if (pod->nodeName == node_)
        selecting_[pod->key()].push_back({chainName, policy.ingress, policy.egress, policy.name});
  }

  struct Selecting {
    std::string chain;
    bool ingress, egress;
    std::string name;
  };

  void podChains() {
    Rule r;
    r.proto = 1;
    for (auto [type, what] : {std::pair{8, "echo-request"}, std::pair{3, "destination-unreachable"},
                              std::pair{11, "time-exceeded"}}) {
      r.icmpType = type;
      r.comment = std::string("allow icmp ") + what + " messages";
      add(kDefaultChain, r);
    }
    Rule mark;
    mark.comment = "rule to mark traffic matching a network policy";
    mark.target = Rule::Target::markAllow;
    add(kDefaultChain, mark);

    for (const char* c : kRouterChains) {
      Rule jump;
      jump.comment = std::string("kube-router netpol - ") + h16(c);
      jump.target = Rule::Target::jump;
      jump.jump = c;
      std::string builtin = std::string(c).substr(std::string("KUBE-ROUTER-").size());
      add(builtin, jump);
    }
    Rule raw;
    raw.raw =
        "-d 10.96.0.0/12 -m comment --comment \"allow traffic to primary/secondary cluster IP "
        "range - " +
        h16("vip") + "\" -j RETURN";
    add("KUBE-ROUTER-INPUT", raw);
    for (const char* proto : {"tcp", "udp"}) {
      raw.raw = std::string("-p ") + proto + " -m comment --comment \"allow LOCAL " + proto +
                " traffic to node ports - " + h16(proto) +
                "\" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN";
      add("KUBE-ROUTER-INPUT", raw);
    }

    std::vector<const pol::Pod*> local;
    for (const auto* pod : all_)
      if (pod->nodeName == node_) local.push_back(pod);
    std::sort(local.begin(), local.end(),
              [](const pol::Pod* a, const pol::Pod* b) { return fnv(a->key()) < fnv(b->key()); });
    for (const auto* pod : local) {
      std::string key = pod->key();
      out_.localOrder.push_back(key);
      uint32_t address = *ipv4Of(*pod);
      std::string fw = "KUBE-POD-FW-" + h16(key);
      chain(fw);
      ++out_.podChains;
      const auto& policies = selecting_[key];
      bool hasIngress = false, hasEgress = false;
      for (const auto& s : policies) {
        hasIngress |= s.ingress;
        hasEgress |= s.egress;
      }
      Rule x;
      x.comment = "rule for stateful firewall for pod";
      x.established = true;
      x.target = Rule::Target::accept;
      add(fw, x);
      x = Rule{};
      x.comment = "rule to permit the traffic traffic to pods when source is the pod's local node";
      x.srcLocal = true;
      x.dst = address;
      x.target = Rule::Target::accept;
      add(fw, x);
      if (!hasEgress) {
        x = Rule{};
        x.comment = "run through default egress network policy  chain";
        x.src = address;
        x.target = Rule::Target::jump;
        x.jump = kDefaultChain;
        add(fw, x);
      }
      if (!hasIngress) {
        x = Rule{};
        x.comment = "run through default ingress network policy  chain";
        x.dst = address;
        x.target = Rule::Target::jump;
        x.jump = kDefaultChain;
        add(fw, x);
      }
      for (auto it = policies.rbegin(); it != policies.rend(); ++it) {  // inserted at 1 each
        x = Rule{};
        x.comment = "run through nw policy " + it->name;
        if (it->ingress && !it->egress) x.dst = address;
        if (it->egress && !it->ingress) x.src = address;
        x.target = Rule::Target::jump;
        x.jump = it->chain;
        add(fw, x);
      }
      x = Rule{};
      x.comment = "rule to log dropped traffic POD name:" + pod->name + " namespace: " + pod->ns;
      x.mark = -1;
      x.limit = true;
      x.target = Rule::Target::nflog;
      add(fw, x);
      x = Rule{};
      x.comment =
          "rule to REJECT traffic destined for POD name:" + pod->name + " namespace: " + pod->ns;
      x.mark = -1;
      x.target = Rule::Target::reject;
      add(fw, x);
      x = Rule{};
      x.target = Rule::Target::markClear;
      add(fw, x);
      x = Rule{};
      x.comment = "set mark to ACCEPT traffic that comply to network policies";
      x.target = Rule::Target::markAccepted;
      add(fw, x);

      std::string to = "rule to jump traffic destined to POD name:" + pod->name +
                       " namespace: " + pod->ns + " to chain " + fw;
      std::string from = "rule to jump traffic from POD name:" + pod->name +
                         " namespace: " + pod->ns + " to chain " + fw;
      x = Rule{};
      x.target = Rule::Target::jump;
      x.jump = fw;
      Rule in = x;
      in.comment = to;
      in.dst = address;
      add("KUBE-ROUTER-FORWARD", in);
      add("KUBE-ROUTER-OUTPUT", in);
      in.physdev = true;
      add("KUBE-ROUTER-FORWARD", in);
      Rule out = x;
      out.comment = from;
      out.src = address;
      for (const char* c : kRouterChains) add(c, out);
      out.physdev = true;
      add("KUBE-ROUTER-FORWARD", out);
    }
    for (const char* c : kRouterChains) {
      Rule accept;
      accept.comment = "rule to explicitly ACCEPT traffic that comply to network policies";
      accept.mark = 2;
      accept.target = Rule::Target::accept;
      add(c, accept);
    }
  }

  const Model& m_;
  std::string node_;
  Layout out_;
  std::map<std::string, std::vector<const pol::Pod*>> byNs_;
  std::vector<const pol::Pod*> all_;
  std::map<std::string, pol::Labels> fallbackLabels_;
  std::map<std::string, std::vector<Selecting>> selecting_;
};

Layout translate(const Model& m) { return Translator(m, kNode).build(); }

// ---- the text iptables-restore / ipset restore read --------------------------

std::string iptablesFull(const Layout& l) {
  std::string s = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  for (const auto& [name, c] : l.chains)
    if (!builtinChain(name)) s += ":" + name + " - [0:0]\n";
  for (const auto& [name, c] : l.chains)
    for (const auto& t : c.texts) {
      s += "-A ";
      s += name;
      s += t;
      s += '\n';
    }
  s += "COMMIT\n";
  return s;
}

// kube-router's ipset restore: every set refilled through a temporary set of
// its type, swapped in.
std::string ipsetFull(const Layout& l) {
  std::string s;
  std::string tmp[2] = {"TMP-" + h16("tmp:hash:ip").substr(0, 12),
                        "TMP-" + h16("tmp:hash:net").substr(0, 12)};
  for (int t = 0; t < 2; ++t) s += "create " + tmp[t] + " " + setOptions(t == 1) + " -exist\n";
  for (const auto& [name, set] : l.sets) {
    const std::string& t = tmp[set.net ? 1 : 0];
    s += "flush " + t + "\n";
    for (const auto& e : set.entries) s += "add " + t + " " + entryText(e, set.net) + "\n";
    s += "create " + name + " " + setOptions(set.net) + " -exist\n";
    s += "swap " + t + " " + name + "\n";
  }
  for (const auto& t : tmp) s += "destroy " + t + "\n";
  return s;
}

std::string ipsetDestroyStale(const Layout& now, const Layout& before) {
  std::string s;
  for (const auto& [name, set] : before.sets)
    if (!now.sets.count(name)) s += "destroy " + name + "\n";
  return s;
}

// Calico's way: only what changed.
struct LayoutDelta {
  std::string ipsetBefore, iptables, ipsetAfter;
  size_t chainsWritten = 0, chainsRemoved = 0, rulesWritten = 0;
  size_t entriesAdded = 0, entriesRemoved = 0, setsCreated = 0, setsDestroyed = 0;
};

LayoutDelta diffLayouts(const Layout& before, const Layout& after) {
  LayoutDelta d;
  for (const auto& [name, set] : after.sets) {
    auto old = before.sets.find(name);
    if (old == before.sets.end()) {
      d.ipsetBefore += "create " + name + " " + setOptions(set.net) + "\n";
      for (const auto& e : set.entries)
        d.ipsetBefore += "add " + name + " " + entryText(e, set.net) + "\n";
      d.entriesAdded += set.entries.size();
      ++d.setsCreated;
      continue;
    }
    if (old->second == set) continue;
    std::vector<SetEntry> added, removed;
    std::set_difference(set.entries.begin(), set.entries.end(), old->second.entries.begin(),
                        old->second.entries.end(), std::back_inserter(added));
    std::set_difference(old->second.entries.begin(), old->second.entries.end(), set.entries.begin(),
                        set.entries.end(), std::back_inserter(removed));
    for (const auto& e : removed) {
      std::string text = ipText(e.address);
      if (set.net) text += "/" + std::to_string(e.prefix);
      d.ipsetBefore += "del " + name + " " + text + "\n";
    }
    for (const auto& e : added) d.ipsetBefore += "add " + name + " " + entryText(e, set.net) + "\n";
    d.entriesAdded += added.size();
    d.entriesRemoved += removed.size();
  }
  std::string declare, rules, removals;
  for (const auto& [name, c] : after.chains) {
    auto old = before.chains.find(name);
    if (old != before.chains.end() && old->second.texts == c.texts) continue;
    if (builtinChain(name)) throw std::runtime_error("builtin chain " + name + " changed");
    declare += ":" + name + " - [0:0]\n";
    for (const auto& t : c.texts) rules += "-A " + name + t + "\n";
    ++d.chainsWritten;
    d.rulesWritten += c.texts.size();
  }
  for (const auto& [name, c] : before.chains)
    if (!after.chains.count(name)) {
      declare += ":" + name + " - [0:0]\n";
      removals += "-X " + name + "\n";
      ++d.chainsRemoved;
    }
  if (!declare.empty()) d.iptables = "*filter\n" + declare + rules + removals + "COMMIT\n";
  d.ipsetAfter = ipsetDestroyStale(after, before);
  for (const auto& [name, set] : before.sets) d.setsDestroyed += !after.sets.count(name);
  return d;
}

// ---- following a packet through the peer's chains (for the model check) -------

class LayoutSim {
 public:
  explicit LayoutSim(const Layout& l) : l_(l) {
    for (const auto& [name, set] : l.sets) {
      if (!set.net) {
        auto& s = ipSets_[name];
        for (const auto& e : set.entries) s.insert(e.address);
      } else {
        auto& v = netSets_[name];
        v = set.entries;
        std::stable_sort(v.begin(), v.end(),
                         [](const SetEntry& a, const SetEntry& b) { return a.prefix > b.prefix; });
      }
    }
  }

  // A new connection's first packet through FORWARD (the chain policy is ACCEPT).
  bool accepts(uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t dport, bool bridged) const {
    Packet p{saddr, daddr, proto, dport, bridged};
    uint32_t mark = 0;
    return walk("FORWARD", p, mark, 0) != Verdict::drop;
  }

 private:
  struct Packet {
    uint32_t saddr, daddr;
    uint8_t proto;
    uint16_t dport;
    bool bridged;
  };
  enum class Verdict { none, accept, drop };

  bool inSet(const std::string& name, uint32_t a) const {
    if (auto it = ipSets_.find(name); it != ipSets_.end()) return it->second.count(a) > 0;
    if (auto it = netSets_.find(name); it != netSets_.end()) {
      for (const auto& e : it->second) {
        uint32_t mask = e.prefix == 0 ? 0 : ~uint32_t(0) << (32 - e.prefix);
        if ((a & mask) == (e.address & mask)) return !e.nomatch;
      }
      return false;
    }
    throw std::runtime_error("rule refers to a missing set " + name);
  }

  bool matches(const Rule& r, const Packet& p, uint32_t mark) const {
    if (!r.raw.empty()) return false;
    if (r.src && r.src != p.saddr) return false;
    if (r.dst && r.dst != p.daddr) return false;
    if (r.physdev && !p.bridged) return false;
    if (r.srcLocal || r.established) return false;  // a pod's new connection
    if (r.proto && r.proto != p.proto) return false;
    if (r.icmpType >= 0) return false;
    if (r.portFirst && (p.dport < r.portFirst || p.dport > r.portLast)) return false;
    if (!r.srcSet.empty() && !inSet(r.srcSet, p.saddr)) return false;
    if (!r.dstSet.empty() && !inSet(r.dstSet, p.daddr)) return false;
    if (r.mark == 1 && !(mark & 0x10000)) return false;
    if (r.mark == -1 && (mark & 0x10000)) return false;
    if (r.mark == 2 && !(mark & 0x20000)) return false;
    return true;
  }

  Verdict walk(const std::string& chain, const Packet& p, uint32_t& mark, int depth) const {
    if (depth > 10) throw std::runtime_error("chain loop at " + chain);
    auto it = l_.chains.find(chain);
    if (it == l_.chains.end()) throw std::runtime_error("jump to a missing chain " + chain);
    for (const auto& r : it->second.rules) {
      if (!matches(r, p, mark)) continue;
      switch (r.target) {
        case Rule::Target::jump: {
          Verdict v = walk(r.jump, p, mark, depth + 1);
          if (v != Verdict::none) return v;
          break;
        }
        case Rule::Target::accept:
          return Verdict::accept;
        case Rule::Target::reject:
          return Verdict::drop;
        case Rule::Target::returns:
          return Verdict::none;
        case Rule::Target::markAllow:
          mark |= 0x10000;
          break;
        case Rule::Target::markClear:
          mark &= ~0x10000u;
          break;
        case Rule::Target::markAccepted:
          mark |= 0x20000;
          break;
        case Rule::Target::nflog:
          break;
      }
    }
    return Verdict::none;
  }

  const Layout& l_;
  std::unordered_map<std::string, std::unordered_set<uint32_t>> ipSets_;
  std::unordered_map<std::string, std::vector<SetEntry>> netSets_;
};

// ---- applying the layout ----------------------------------------------------------

struct FullApply {
  double readMs = 0, ipsetMs = 0, iptablesMs = 0, destroyMs = 0;
  size_t textBytes = 0;
  double total() const { return readMs + ipsetMs + iptablesMs + destroyMs; }
};

// kube-router's full sync: read back (ipset save, iptables-save), refill every
// set, restore the whole filter table, destroy the sets no longer used.
FullApply applyFull(const net::NetnsHandle& ns, const Layout& now, const Layout* before) {
  FullApply f;
  std::string ignored;
  f.readMs += runOk(ns, {kIpset, "save"}, "", &ignored);
  f.readMs += runOk(ns, {kIptablesSave, "-t", "filter"}, "", &ignored);
  std::string sets = ipsetFull(now), table = iptablesFull(now);
  f.textBytes = sets.size() + table.size();
  f.ipsetMs = runOk(ns, {kIpset, "restore"}, sets);
  f.iptablesMs = runOk(ns, {kIptablesRestore, "-T", "filter"}, table);
  if (before) {
    std::string stale = ipsetDestroyStale(now, *before);
    if (!stale.empty()) f.destroyMs = runOk(ns, {kIpset, "restore"}, stale);
  }
  return f;
}

// Whether the kernel holds what the layout says (rules and set members counted).
Json kernelMatchesLayout(const net::NetnsHandle& ns, const Layout& l) {
  std::string table, sets;
  runOk(ns, {kIptablesSave, "-t", "filter"}, "", &table);
  runOk(ns, {kIpset, "save"}, "", &sets);
  auto count = [](const std::string& text, const std::string& prefix) {
    size_t n = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
    return n;
  };
  size_t rules = count(table, "-A "), entries = count(sets, "add "),
         setCount = count(sets, "create ");
  return {
      {"matches", rules == l.ruleCount() && entries == l.entryCount() && setCount == l.sets.size()},
      {"kernel_rules", rules},
      {"layout_rules", l.ruleCount()},
      {"kernel_set_entries", entries},
      {"layout_set_entries", l.entryCount()},
      {"kernel_sets", setCount},
      {"layout_sets", l.sets.size()}};
}

double applyDelta(const net::NetnsHandle& ns, const LayoutDelta& d) {
  double total = 0;
  if (!d.ipsetBefore.empty()) total += runOk(ns, {kIpset, "restore"}, d.ipsetBefore);
  if (!d.iptables.empty()) total += runOk(ns, {kIptablesRestore, "--noflush"}, d.iptables);
  if (!d.ipsetAfter.empty()) total += runOk(ns, {kIpset, "restore"}, d.ipsetAfter);
  return total;
}

// ---------------------------------------------------------------------------
// podnet.

class CountingWriter : public pol::ProgramWriter {
 public:
  core::Status replace(const pol::Program& program) override {
    elements = pol::elementCount(program);
    return core::Ok{};
  }
  core::Status apply(const pol::Delta& delta) override {
    elements = delta.size();
    return core::Ok{};
  }
  core::Status remove() override { return core::Ok{}; }
  size_t elements = 0;
};

// Times the kernel side of each sync and says what the delta held.
class TimingWriter : public pol::ProgramWriter {
 public:
  explicit TimingWriter(std::shared_ptr<pol::ProgramWriter> inner) : inner_(std::move(inner)) {}
  core::Status replace(const pol::Program& program) override {
    auto t = Clock::now();
    core::Status s = inner_->replace(program);
    lastMs = ms(Clock::now() - t);
    return s;
  }
  core::Status apply(const pol::Delta& d) override {
    constexpr size_t ranges = static_cast<size_t>(pol::SetKind::portRanges);
    constexpr size_t cidrs = static_cast<size_t>(pol::SetKind::cidrs);
    for (size_t dir = 0; dir < pol::kDirections; ++dir) {
      for (const auto& [id, sets] : d.removed[dir])
        if (!d.chainsRemoved[dir].count(id))
          intervalRemoved += sets.sets[ranges].size() + sets.sets[cidrs].size();
      for (const auto& [id, sets] : d.added[dir])
        intervalAdded += sets.sets[ranges].size() + sets.sets[cidrs].size();
      chainsChanged += d.chainsAdded[dir].size() + d.chainsRemoved[dir].size();
    }
    auto t = Clock::now();
    core::Status s = inner_->apply(d);
    lastMs = ms(Clock::now() - t);
    return s;
  }
  core::Status remove() override { return inner_->remove(); }
  void reset() {
    lastMs = 0;
    intervalRemoved = intervalAdded = chainsChanged = 0;
  }
  double lastMs = 0;
  size_t intervalRemoved = 0, intervalAdded = 0, chainsChanged = 0;

 private:
  std::shared_ptr<pol::ProgramWriter> inner_;
};

std::shared_ptr<pol::ProgramWriter> kernelWriter(const net::NetnsHandle& ns) {
  auto w = net::runInNetns(ns, [] { return pol::NetlinkWriter::open(); });
  if (!w) throw std::runtime_error("policy netlink writer: " + w.error().message);
  return std::make_shared<pol::NetlinkWriter>(std::move(*w));
}

std::unique_ptr<pol::Enforcer> makeEnforcer(std::shared_ptr<pol::ProgramWriter> writer) {
  pol::EnforcerConfig config;
  config.nodeName = kNode;
  config.onBadPolicy = [](const std::string& key, const core::Error& e) {
    progress("bad policy %s: %s", key.c_str(), e.message.c_str());
  };
  return std::make_unique<pol::Enforcer>(config, std::move(writer));
}

struct PodnetFull {
  double feedMs = 0, syncMs = 0;
  pol::EnforcerSyncStats stats;
  pol::CompilerStats compiler;
};

PodnetFull podnetFull(pol::Enforcer& e, const std::vector<Event>& events) {
  PodnetFull f;
  auto t0 = Clock::now();
  for (const auto& ev : events) feed(e, ev);
  auto t1 = Clock::now();
  check(e.sync(), "podnet full sync");
  auto t2 = Clock::now();
  f.feedMs = ms(t1 - t0);
  f.syncMs = ms(t2 - t1);
  f.stats = e.lastSync();
  f.compiler = e.compilerStats();
  return f;
}

struct ChangeSamples {
  std::map<std::string, std::vector<double>> ms, elements, extra, kernel, intervalRemoved, chains;
  // Kernel time of every sync, by what its delta held.
  std::map<std::string, std::vector<double>> kernelByDelta, elementsByDelta;
};

ChangeSamples podnetChanges(pol::Enforcer& e, const Synthetic& s, const Params& p,
                            TimingWriter* timing) {
  ChangeSamples out;
  for (size_t i = 0; i < p.iterations; ++i)
    for (const auto& step : iterationSteps(s, p, i)) {
      if (timing) timing->reset();
      auto t = Clock::now();
      feed(e, step.event);
      check(e.sync(), "podnet " + step.kind);
      out.ms[step.kind].push_back(ms(Clock::now() - t));
      auto last = e.lastSync();
      if (last.full) throw std::runtime_error("podnet: an incremental sync was a full one");
      out.elements[step.kind].push_back(double(last.elements));
      if (!timing) continue;
      out.kernel[step.kind].push_back(timing->lastMs);
      out.intervalRemoved[step.kind].push_back(double(timing->intervalRemoved));
      out.chains[step.kind].push_back(double(timing->chainsChanged));
      if (last.elements == 0) continue;
      std::string group = timing->chainsChanged ? "chains added or removed"
                          : timing->intervalRemoved
                              ? "elements only, some deleted from interval sets"
                              : "elements only, none deleted from interval sets";
      out.kernelByDelta[group].push_back(timing->lastMs);
      out.elementsByDelta[group].push_back(double(last.elements));
    }
  return out;
}

// ---------------------------------------------------------------------------
// Model check: evaluator, podnet's program and the peer's layout agree.

struct CheckOutcome {
  size_t samples = 0, agree = 0, allowed = 0, podnetVsEvaluator = 0, peerVsEvaluator = 0,
         changedVsEvaluator = 0, changedDenied = 0;
  size_t changedSteps = 0, freshElements = 0, changedElements = 0;
  size_t missingElements = 0, extraElements = 0, missingProbes = 0, missingWronglyDenied = 0;
  std::vector<Json> examples, changedExamples;
};

void compilerApply(pol::Compiler& c, const Event& ev) {
  switch (ev.kind) {
    case Event::Kind::namespaceSet:
      c.setNamespace(pol::namespaceFromJson(ev.object));
      break;
    case Event::Kind::podSet:
      c.setPod(pol::podFromJson(ev.object));
      break;
    case Event::Kind::podDelete:
      c.removePod(keyOf(ev.object));
      break;
    case Event::Kind::policySet:
      c.setPolicy(*pol::policyFromJson(ev.object));
      break;
  }
}

// `changes`: steps applied to a second compiler after the cluster, which
// leave the cluster as it was: its program must give the same verdicts.
CheckOutcome modelCheck(const Model& m, const Layout& layout, size_t samples,
                        const std::vector<Step>& changes) {
  CheckOutcome out;
  pol::ClusterState state;
  pol::Compiler compiler(kNode), changed(kNode);
  for (const auto& [name, ns] : m.namespaces) {
    state.setNamespace(ns);
    compiler.setNamespace(ns);
    changed.setNamespace(ns);
  }
  for (const auto& [key, policy] : m.policies) {
    state.setPolicy(policy);
    compiler.setPolicy(policy);
    changed.setPolicy(policy);
  }
  for (const auto& [key, pod] : m.pods) {
    state.setPod(pod);
    compiler.setPod(pod);
    changed.setPod(pod);
  }
  (void)changed.takeDelta();
  for (const auto& step : changes) {
    compilerApply(changed, step.event);
    (void)changed.takeDelta();  // as the enforcer does after each sync
  }
  out.changedSteps = changes.size();
  out.freshElements = compiler.stats().elements;
  out.changedElements = changed.stats().elements;
  const pol::Program& program = compiler.program();
  const pol::Program& changedProgram = changed.program();
  LayoutSim sim(layout);
  std::vector<const pol::Pod*> local, all;
  for (const auto& [key, pod] : m.pods) {
    if (!ipv4Of(pod)) continue;
    all.push_back(&pod);
    if (pod.nodeName == kNode) local.push_back(&pod);
  }
  if (local.empty() || all.empty()) return out;
  static const std::vector<std::string> outside = {"192.168.5.5", "192.168.3.7", "10.1.2.3",
                                                   "172.16.3.4",  "172.31.9.9",  "10.96.0.10",
                                                   "8.8.8.8",     "192.168.0.9"};
  struct PortChoice {
    pol::Protocol protocol;
    uint16_t port;
  };
  static const std::vector<PortChoice> ports = {
      {pol::Protocol::tcp, 80},   {pol::Protocol::tcp, 443},   {pol::Protocol::tcp, 5432},
      {pol::Protocol::tcp, 6379}, {pol::Protocol::tcp, 8050},  {pol::Protocol::tcp, 8080},
      {pol::Protocol::tcp, 8081}, {pol::Protocol::tcp, 8082},  {pol::Protocol::tcp, 8443},
      {pol::Protocol::tcp, 9090}, {pol::Protocol::tcp, 12345}, {pol::Protocol::udp, 53},
      {pol::Protocol::tcp, 53},   {pol::Protocol::udp, 8080}};
  // Every element the changed program lacks, as the connection it allows:
  // judged by the evaluator and traced through the changed program. Chains
  // are numbered in the order they were made, so the two programs are
  // compared by what each chain judges (the local pods dispatched to it).
  auto canonical = [](const pol::Program& prog, size_t d) {
    std::map<uint32_t, std::vector<uint32_t>> podsOf;
    for (const auto& [ip, chain] : prog.dispatch[d]) podsOf[chain].push_back(ip);
    std::map<std::vector<uint32_t>, const pol::ChainSets*> out;
    for (const auto& [chain, sets] : prog.chains[d]) out[podsOf[chain]] = &sets;
    return out;
  };
  auto localOf = [&](uint32_t ip) {
    for (const pol::Pod* pod : local)
      if (ipv4Of(*pod) && *ipv4Of(*pod) == ip) return true;
    return false;
  };
  for (size_t d = 0; d < pol::kDirections; ++d) {
    auto fresh = canonical(program, d), after = canonical(changedProgram, d);
    static const pol::ChainSets kNone;
    for (const auto& [pods, sets] : after) {
      auto it = fresh.find(pods);
      const pol::ChainSets& want = it == fresh.end() ? kNone : *it->second;
      for (size_t k = 0; k < pol::kSetKinds; ++k)
        for (const auto& e : sets->sets[k]) out.extraElements += want.sets[k].count(e) ? 0 : 1;
    }
    for (const auto& [pods, sets] : fresh) {
      auto it = after.find(pods);
      const pol::ChainSets& have = it == after.end() ? kNone : *it->second;
      uint32_t localIp = pods.empty() ? 0 : pods.front();
      for (size_t k = 0; k < pol::kSetKinds; ++k)
        for (const auto& e : sets->sets[k]) {
          if (have.sets[k].count(e)) continue;
          ++out.missingElements;
          if (!localIp || k == static_cast<size_t>(pol::SetKind::cidrs)) continue;
          uint32_t peer = e.first[0];
          uint8_t proto = k == static_cast<size_t>(pol::SetKind::peers) ? 6 : uint8_t(e.first[1]);
          uint16_t port = k == static_cast<size_t>(pol::SetKind::peers) ||
                                  k == static_cast<size_t>(pol::SetKind::protocols)
                              ? 8080
                              : uint16_t(e.first[2]);
          uint32_t saddr = d == 0 ? peer : localIp, daddr = d == 0 ? localIp : peer;
          auto protocol = pol::parseProtocol(proto == 17 ? "UDP" : proto == 132 ? "SCTP" : "TCP");
          pol::Verdict v = pol::evaluate(
              state, pol::endpointForIp(state, core::IpAddress::fromV4(saddr)),
              pol::endpointForIp(state, core::IpAddress::fromV4(daddr)), *protocol, port);
          pol::TracePacket packet;
          packet.saddr = saddr;
          packet.daddr = daddr;
          packet.protocol = proto;
          packet.dport = port;
          bool after = pol::tracePacket(changedProgram, packet, pol::TraceHook::forward).accepted;
          ++out.missingProbes;
          // This node's share: the egress of a local source, the ingress of a
          // local destination (both when both are local).
          bool allowedHere = !v.exemption.empty() || ((!localOf(saddr) || v.egress.allowed) &&
                                                      (!localOf(daddr) || v.ingress.allowed));
          if (allowedHere && !after) {
            ++out.missingWronglyDenied;
            if (out.changedExamples.size() < 5)
              out.changedExamples.push_back(
                  {{"from", ipText(saddr)},
                   {"to", ipText(daddr)},
                   {"port", std::to_string(port) + "/" + pol::protocolName(*protocol)},
                   {"evaluator", "allow"},
                   {"program_after_changes", "deny"},
                   {"allowed_by", d == 0 ? v.ingress.reason : v.egress.reason}});
          }
        }
    }
  }
  std::mt19937 rng(12);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  for (size_t i = 0; i < samples; ++i) {
    const pol::Pod *from = nullptr, *to = nullptr;
    uint32_t saddr, daddr;
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
      case 3:  // any pod to a local pod
        from = all[pick(all.size())];
        to = local[pick(local.size())];
        break;
      case 4:
      case 5:
      case 6:  // a local pod to any pod
        from = local[pick(local.size())];
        to = all[pick(all.size())];
        break;
      case 7:  // outside to a local pod
        to = local[pick(local.size())];
        break;
      default:  // a local pod to outside
        from = local[pick(local.size())];
        break;
    }
    if (from && to && from == to) continue;
    saddr = from ? *ipv4Of(*from) : core::IpAddress::parse(outside[pick(outside.size())])->v4();
    daddr = to ? *ipv4Of(*to) : core::IpAddress::parse(outside[pick(outside.size())])->v4();
    PortChoice port = ports[pick(ports.size())];
    pol::Endpoint src = from ? pol::endpointForPod(state, *from)
                             : pol::endpointForIp(state, core::IpAddress::fromV4(saddr));
    pol::Endpoint dst = to ? pol::endpointForPod(state, *to)
                           : pol::endpointForIp(state, core::IpAddress::fromV4(daddr));
    pol::Verdict v = pol::evaluate(state, src, dst, port.protocol, port.port);
    bool fromLocal = from && from->nodeName == kNode, toLocal = to && to->nodeName == kNode;
    bool expected = (!toLocal || v.ingress.allowed) && (!fromLocal || v.egress.allowed);
    pol::TracePacket packet;
    packet.saddr = saddr;
    packet.daddr = daddr;
    packet.protocol = static_cast<uint8_t>(port.protocol);
    packet.dport = port.port;
    bool podnet = pol::tracePacket(program, packet, pol::TraceHook::forward).accepted;
    bool afterChanges = pol::tracePacket(changedProgram, packet, pol::TraceHook::forward).accepted;
    bool peer = sim.accepts(saddr, daddr, static_cast<uint8_t>(port.protocol), port.port,
                            fromLocal && toLocal);
    ++out.samples;
    out.allowed += expected;
    out.podnetVsEvaluator += podnet != expected;
    out.peerVsEvaluator += peer != expected;
    out.changedVsEvaluator += afterChanges != expected;
    out.changedDenied += expected && !afterChanges;
    if (afterChanges != expected && out.changedExamples.size() < 5)
      out.changedExamples.push_back(
          {{"from", from ? from->key() + " " + ipText(saddr) : ipText(saddr)},
           {"to", to ? to->key() + " " + ipText(daddr) : ipText(daddr)},
           {"port", std::to_string(port.port) + "/" + pol::protocolName(port.protocol)},
           {"evaluator", expected},
           {"program_after_changes", afterChanges},
           {"egress", v.egress.reason},
           {"ingress", v.ingress.reason}});
    if (podnet == expected && peer == expected) {
      ++out.agree;
    } else if (out.examples.size() < 8) {
      out.examples.push_back(
          {{"from", from ? from->key() + " " + ipText(saddr) : ipText(saddr)},
           {"to", to ? to->key() + " " + ipText(daddr) : ipText(daddr)},
           {"port", std::to_string(port.port) + "/" + pol::protocolName(port.protocol)},
           {"evaluator", expected},
           {"podnet_program", podnet},
           {"peer_layout", peer},
           {"ingress", v.ingress.reason},
           {"egress", v.egress.reason}});
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Data plane.

sockaddr_in address(const std::string& a, int port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  inet_pton(AF_INET, a.c_str(), &s.sin_addr);
  return s;
}

int socketIn(const net::NetnsHandle& ns) {
  auto fd = net::runInNetnsOnThisThread(ns.fd(), []() -> core::Result<int> {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::internal(std::string("socket: ") + strerror(errno));
    return fd;
  });
  if (!fd) throw std::runtime_error(fd.error().message);
  return *fd;
}

// Answers every connection on 8080 and 9090 with "ok" and closes it.
class Server {
 public:
  explicit Server(const net::NetnsHandle& ns) {
    for (int port : {8080, 9090}) {
      int fd = socketIn(ns);
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in any = address("0.0.0.0", port);
      if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(fd, 256) != 0) {
        close(fd);
        throw std::runtime_error("server bind/listen");
      }
      fds_.push_back(fd);
    }
    thread_ = std::thread([this] {
      std::vector<pollfd> polls;
      for (int fd : fds_) polls.push_back({fd, POLLIN, 0});
      while (!stop_) {
        if (poll(polls.data(), polls.size(), 50) <= 0) continue;
        for (auto& p : polls) {
          if (!(p.revents & POLLIN)) continue;
          int c = accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (c < 0) continue;
          pollfd in{c, POLLIN, 0};
          char buf[64];
          if (poll(&in, 1, 2000) > 0 && recv(c, buf, sizeof buf, 0) > 0)
            (void)send(c, "ok", 2, MSG_NOSIGNAL);
          close(c);
        }
      }
    });
  }
  ~Server() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) close(fd);
  }

 private:
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One connection + request/response: µs, or -errno.
double request(const net::NetnsHandle& client, const std::string& ip, int port, int timeoutMs) {
  int fd = socketIn(client);
  timeval timeout{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in to = address(ip, port);
  auto t = Clock::now();
  double result;
  char buf[16];
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
    result = -double(errno == EINPROGRESS ? ETIMEDOUT : errno);
  else if (send(fd, "ping", 4, MSG_NOSIGNAL) != 4)
    result = -double(errno);
  else if (recv(fd, buf, sizeof buf, 0) != 2)
    result = -double(errno ? errno : ECONNRESET);
  else
    result = us(Clock::now() - t);
  close(fd);
  return result;
}

struct Topology {
  std::string variant, prefix;
  Namespaces* ns = nullptr;
  std::vector<std::unique_ptr<Server>> servers;
  const net::NetnsHandle& node() const { return (*ns)[prefix + "-node"]; }
  const net::NetnsHandle& pod(const std::string& which) const {
    return (*ns)[prefix + "-" + which];
  }
};

void buildTopology(Topology& t) {
  Namespaces& ns = *t.ns;
  const auto& nodeNs = ns.make(t.prefix + "-node");
  std::string node = prefixed(t.prefix + "-node");
  ip("-n " + node + " link add cni0 type bridge");
  ip("-n " + node + " addr add 10.244.1.1/24 dev cni0");
  ip("-n " + node + " link set cni0 up");
  ip("-n " + node + " link set lo up");
  for (auto [which, host] : {std::pair{"srv", kDpServerHost}, std::pair{"cli", kDpClientHost},
                             std::pair{"int", kDpIntruderHost}}) {
    ns.make(t.prefix + "-" + which);
    std::string pod = prefixed(t.prefix + "-" + which);
    std::string veth = std::string("v-") + which;
    ip("-n " + node + " link add " + veth + " type veth peer name eth0 netns " + pod);
    ip("-n " + node + " link set " + veth + " master cni0 up");
    ip("-n " + pod + " addr add " + ipText(podAddress(1, host)) + "/24 dev eth0");
    ip("-n " + pod + " link set eth0 up");
    ip("-n " + pod + " link set lo up");
    ip("-n " + pod + " route add default via 10.244.1.1");
  }
  check(net::writeSysctlIn(nodeNs, "net/ipv4/ip_forward", "1"), "ip_forward");
  check(net::writeSysctlIn(nodeNs, "net/bridge/bridge-nf-call-iptables", "1"),
        "bridge-nf-call-iptables");
  for (const char* which : {"srv", "cli", "int"})
    t.servers.push_back(std::make_unique<Server>(t.pod(which)));
}

struct Probe {
  std::string from, to;
  int port;
  bool expectAllowed;
};

Json runProbes(const Topology& t, bool enforcing) {
  std::string server = ipText(podAddress(1, kDpServerHost)),
              client = ipText(podAddress(1, kDpClientHost));
  std::vector<Probe> probes = {{"cli", "srv", 8080, true},  {"cli", "srv", 9090, false},
                               {"int", "srv", 8080, false}, {"srv", "cli", 8080, true},
                               {"int", "cli", 8080, true},  {"node", "srv", 9090, true}};
  Json results = Json::array();
  bool allOk = true;
  for (const auto& p : probes) {
    const auto& from = p.from == "node" ? t.node() : t.pod(p.from);
    std::string to = p.to == "srv" ? server : client;
    double r = request(from, to, p.port, 1000);
    bool expected = enforcing ? p.expectAllowed : true;
    bool got = r >= 0;
    allOk &= got == expected;
    static const std::map<std::string, std::string> names = {
        {"cli", "dp/client"}, {"srv", "dp/server"}, {"int", "dp/intruder"}, {"node", "node-1"}};
    results.push_back({{"from", names.at(p.from)},
                       {"to", names.at(p.to) + ":" + std::to_string(p.port)},
                       {"expect", expected ? "allow" : "deny"},
                       {"got", got ? "allow" : (std::string("deny (") + strerror(int(-r)) + ")")}});
  }
  return {{"measurement", "probes"},
          {"impl", t.variant},
          {"all_as_expected", allOk},
          {"probes", results}};
}

// ---------------------------------------------------------------------------

const char* kPeerLayout =
    "kube-router v2 iptables layout (iptables-nft + ipset): FORWARD/INPUT/OUTPUT jump to "
    "KUBE-ROUTER-FORWARD/-INPUT/-OUTPUT, which hold 4/1/2 rules per pod of this node (-d ip, "
    "physdev-is-bridged -d ip, -s ip, physdev -s ip) jumping to a chain KUBE-POD-FW-<hash> per "
    "local "
    "pod (ctstate RELATED,ESTABLISHED accept; addrtype src LOCAL accept; KUBE-NWPLCY-DEFAULT for "
    "an "
    "unisolated direction; one jump per policy selecting the pod, -d ip for ingress, -s ip for "
    "egress; NFLOG and REJECT unless mark 0x10000; clear 0x10000; set 0x20000), then mark 0x20000 "
    "accept; a chain KUBE-NWPLCY-<hash> for every policy of the cluster, two rules (MARK 0x10000, "
    "RETURN if marked) per rule x port, matching hash:ip sets of the selected pods (all nodes) and "
    "of "
    "each rule's peer pods, hash:net sets for ipBlocks (excepts as nomatch), per-number sets of "
    "the "
    "pods a named port resolves on, -p/--dport[:end]; sets created with timeout 0 as kube-router "
    "does; chain names stable across syncs (kube-router versions them)";

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Params p;
  auto usage = [] {
    std::fprintf(stderr, "see the top of bench/policy_bench.cpp for the flags\n");
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--pods")
        p.pods = std::stoul(next());
      else if (a == "--policies")
        p.policies = std::stoul(next());
      else if (a == "--namespaces")
        p.namespaces = std::stoul(next());
      else if (a == "--local-pods")
        p.localPods = std::stoul(next());
      else if (a == "--apps")
        p.apps = std::stoul(next());
      else if (a == "--iterations")
        p.iterations = std::stoul(next());
      else if (a == "--peer-iterations")
        p.peerIterations = std::stoul(next());
      else if (a == "--peer-full-iterations")
        p.peerFullIterations = std::stoul(next());
      else if (a == "--checks")
        p.checks = std::stoul(next());
      else if (a == "--dp-policies")
        p.dpPolicies = std::stoul(next());
      else if (a == "--dp-rounds")
        p.dpRounds = std::stoul(next());
      else if (a == "--dp-connections")
        p.dpConnections = std::stoul(next());
      else if (a == "--matrix-pods")
        p.matrixPods = std::stoul(next());
      else if (a == "--matrix-policies")
        p.matrixPolicies = std::stoul(next());
      else if (a == "--matrix-namespaces")
        p.matrixNamespaces = std::stoul(next());
      else if (a == "--matrix-rows")
        p.matrixRows = std::stoul(next());
      else if (a == "--parts") {
        std::string parts = next();
        p.matrix = parts.find("matrix") != std::string::npos;
        p.control = parts.find("control") != std::string::npos;
        p.check = parts.find("check") != std::string::npos;
        p.peer = parts.find("peer") != std::string::npos;
        p.data = parts.find("data") != std::string::npos;
      } else if (a == "--quick") {
        p.pods = 2000;
        p.policies = 200;
        p.namespaces = 20;
        p.iterations = 30;
        p.peerIterations = 5;
        p.checks = 1000;
        p.dpPolicies = 200;
        p.dpRounds = 10;
        p.dpConnections = 50;
        p.matrixPods = 20000;
        p.matrixPolicies = 2000;
        p.matrixNamespaces = 200;
      } else {
        std::fprintf(stderr, "unknown argument %s\n", a.c_str());
        return usage();
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bad value for %s\n", a.c_str());
      return usage();
    }
  }
  if (p.localPods > 200 || p.localPods > p.pods || p.namespaces == 0 || p.apps == 0) {
    std::fprintf(stderr,
                 "need 0 < --local-pods <= min(200, --pods), --namespaces and --apps > 0\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "policy_bench needs root (network namespaces, nftables, iptables)\n");
    return 1;
  }
  bool peerTools = access(kIptablesRestore, X_OK) == 0 && access(kIptablesSave, X_OK) == 0 &&
                   access(kIpset, X_OK) == 0 && access(kNft, X_OK) == 0;
  if (!peerTools && (p.peer || p.data || p.check)) {
    std::fprintf(stderr,
                 "policy_bench: %s, %s, %s or %s is missing: run scripts/setup_bench.sh (the peer "
                 "needs the iptables and ipset packages, the reference row nft)\n",
                 kIptablesRestore, kIptablesSave, kIpset, kNft);
    return 1;
  }

  // Signals go to one thread that removes what we made, then exits.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread started later inherits it
  std::thread([signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "policy_bench: signal %d: removing the namespaces\n", sig);
    cleanupEverything();
    _exit(128 + sig);
  }).detach();

  int rc = 0;
  try {
    Namespaces ns;
    auto started = Clock::now();
    progress("generating %zu pods, %zu policies in %zu namespaces", p.pods, p.policies,
             p.namespaces);
    Synthetic s = generate(p);
    std::vector<Event> initial = s.events();
    Model model;
    for (const auto& ev : initial) model.apply(ev);
    output({{"measurement", "cluster"},
            {"pods", s.pods.size()},
            {"local_pods", s.localPods.size()},
            {"namespaces", s.namespaces.size()},
            {"policies", s.policies.size()},
            {"nodes", s.nodes},
            {"apps_per_namespace", p.apps},
            {"node", kNode},
            {"cores", std::thread::hardware_concurrency()},
            {"loadavg", loadAverage()},
            {"iterations", p.iterations},
            {"peer_iterations", p.peerIterations},
            {"peer_full_iterations", p.peerFullIterations}});

    std::map<std::string, Json> podnetChangeP99;
    if (p.control) {
      progress("control plane, podnet: full sync");
      ns.make("cp-podnet");
      {
        auto counting = std::make_shared<CountingWriter>();
        auto compileOnly = makeEnforcer(counting);
        PodnetFull c = podnetFull(*compileOnly, initial);
        auto timing = std::make_shared<TimingWriter>(kernelWriter(ns["cp-podnet"]));
        auto e = makeEnforcer(timing);
        PodnetFull f = podnetFull(*e, initial);
        output({{"measurement", "control_full"},
                {"impl", "podnet"},
                {"what",
                 "Enforcer handlers for every object (feed), then sync(): compile + one "
                 "netlink transaction replacing table ip podnet-policy"},
                {"feed_ms", round3(f.feedMs)},
                {"sync_ms", round3(f.syncMs)},
                {"total_ms", round3(f.feedMs + f.syncMs)},
                {"compile_only_sync_ms", round3(c.syncMs)},
                {"kernel_ms", round3(timing->lastMs)},
                {"full", f.stats.full},
                {"elements", f.stats.elements},
                {"objects", f.stats.changes},
                {"identities", f.compiler.identities},
                {"local_identities", f.compiler.localIdentities},
                {"active_policies", f.compiler.activePolicies},
                {"compiler_elements", f.compiler.elements}});
        progress("podnet full sync %.1f ms (feed %.1f ms), %zu elements", f.syncMs, f.feedMs,
                 f.stats.elements);

        progress("control plane, podnet: %zu iterations of changes", p.iterations);
        ChangeSamples compiled = podnetChanges(*compileOnly, s, p, nullptr);
        compileOnly.reset();
        ChangeSamples kernel = podnetChanges(*e, s, p, timing.get());
        for (const auto& kind : kChangeKinds) {
          if (!kernel.ms.count(kind)) continue;
          Json d = distribution(kernel.ms[kind]);
          podnetChangeP99[kind] = d["p99"];
          output({{"measurement", "control_change"},
                  {"impl", "podnet"},
                  {"change", kind},
                  {"what", "handler call to the end of sync() (compile + netlink transaction)"},
                  {"ms", d},
                  {"kernel_ms", distribution(kernel.kernel[kind])},
                  {"compile_only_ms", distribution(compiled.ms[kind])},
                  {"elements_written", distribution(kernel.elements[kind])},
                  {"chains_added_or_removed", distribution(kernel.chains[kind])},
                  {"interval_set_elements_deleted", distribution(kernel.intervalRemoved[kind])}});
        }
        Json groups = Json::object();
        for (const auto& [group, v] : kernel.kernelByDelta)
          groups[group] = {{"kernel_ms", distribution(v)},
                           {"elements_written", distribution(kernel.elementsByDelta[group])}};
        // Every iteration leaves the cluster as it was: so must the program.
        pol::CompilerStats after = e->compilerStats();
        output(
            {{"measurement", "control_change_kernel_breakdown"},
             {"impl", "podnet"},
             {"what",
              "kernel time (NetlinkWriter::apply) of every non-empty incremental sync, "
              "grouped by what its delta held; interval sets are the port-ranges and "
              "cidrs sets (pipapo in the kernel)"},
             {"groups", groups},
             {"elements_before_changes", f.compiler.elements},
             {"elements_after_changes", after.elements},
             {"identities_before_changes", f.compiler.identities},
             {"identities_after_changes", after.identities},
             {"program_back_to_start", after.elements == f.compiler.elements &&
                                           after.localIdentities == f.compiler.localIdentities}});
      }
    }

    std::optional<Layout> layout;
    double generateMs = 0;
    if (p.check || p.peer) {
      progress("peer layout: translating the cluster");
      auto t = Clock::now();
      layout = translate(model);
      std::string a = iptablesFull(*layout), b = ipsetFull(*layout);
      generateMs = ms(Clock::now() - t);
    }

    if (p.check) {
      progress("model check: %zu connections", p.checks);
      std::vector<Step> changes;
      for (size_t i = 0; i < p.iterations; ++i)
        for (auto& step : iterationSteps(s, p, i)) changes.push_back(std::move(step));
      CheckOutcome c = modelCheck(model, *layout, p.checks, changes);
      output({{"measurement", "model_check"},
              {"what",
               "random connections to/from node-1's pods judged by podnet's evaluator "
               "(node-1's share), podnet's compiled program (tracePacket) and a simulation "
               "of the peer's chains and sets"},
              {"samples", c.samples},
              {"allowed", c.allowed},
              {"all_agree", c.agree == c.samples},
              {"podnet_program_vs_evaluator_mismatches", c.podnetVsEvaluator},
              {"peer_layout_vs_evaluator_mismatches", c.peerVsEvaluator},
              {"examples", c.examples}});
      output({{"measurement", "model_check_after_changes"},
              {"what",
               "the same connections traced through a podnet Compiler that was fed the "
               "cluster and then every change step of the control-plane iterations (which "
               "leave the cluster as it was): its verdicts must equal the evaluator's"},
              {"change_steps", c.changedSteps},
              {"samples", c.samples},
              {"elements_compiled_from_scratch", c.freshElements},
              {"elements_after_changes", c.changedElements},
              {"random_connection_mismatches", c.changedVsEvaluator},
              {"random_connections_wrongly_denied", c.changedDenied},
              {"elements_missing_after_changes", c.missingElements},
              {"elements_extra_after_changes", c.extraElements},
              {"connections_of_missing_elements", c.missingProbes},
              {"connections_of_missing_elements_wrongly_denied", c.missingWronglyDenied},
              {"all_agree",
               c.changedVsEvaluator == 0 && c.missingElements == 0 && c.extraElements == 0},
              {"examples", c.changedExamples}});
    }

    if (p.peer) {
      progress("control plane, peer: full apply");
      const auto& cp = ns.make("cp-ipt");
      FullApply full = applyFull(cp, *layout, nullptr);
      output({{"measurement", "control_full"},
              {"impl", "iptables-kube-router"},
              {"layout", kPeerLayout},
              {"generate_ms", round3(generateMs)},
              {"read_ms", round3(full.readMs)},
              {"ipset_restore_ms", round3(full.ipsetMs)},
              {"iptables_restore_ms", round3(full.iptablesMs)},
              {"kernel_apply_ms", round3(full.total())},
              {"total_ms", round3(full.total() + generateMs)},
              {"rules", layout->ruleCount()},
              {"chains", layout->chains.size()},
              {"policy_chains", layout->policyChains},
              {"pod_chains", layout->podChains},
              {"ipsets", layout->sets.size()},
              {"ipset_entries", layout->entryCount()},
              {"restore_text_bytes", full.textBytes}});
      progress("peer full apply %.1f ms (ipset %.1f, iptables %.1f), generate %.1f ms",
               full.total(), full.ipsetMs, full.iptablesMs, generateMs);

      progress("control plane, peer: %zu iterations of changes, Calico's way", p.peerIterations);
      Layout current = std::move(*layout);
      layout.reset();
      ChangeSamples delta;
      std::map<std::string, std::vector<double>> chainsWritten, entriesChanged;
      for (size_t i = 0; i < p.peerIterations; ++i)
        for (const auto& step : iterationSteps(s, p, i)) {
          auto t = Clock::now();
          model.apply(step.event);
          Layout next = translate(model);
          LayoutDelta d = diffLayouts(current, next);
          delta.extra[step.kind].push_back(ms(Clock::now() - t));
          delta.ms[step.kind].push_back(applyDelta(cp, d));
          chainsWritten[step.kind].push_back(double(d.chainsWritten + d.chainsRemoved));
          entriesChanged[step.kind].push_back(double(d.entriesAdded + d.entriesRemoved));
          current = std::move(next);
        }
      for (const auto& kind : kChangeKinds) {
        if (!delta.ms.count(kind)) continue;
        output({{"measurement", "control_change"},
                {"impl", "iptables-calico-delta"},
                {"change", kind},
                {"what",
                 "kernel side only: ipset restore of the changed members, "
                 "iptables-nft-restore --noflush of the chains whose rules changed, destroy "
                 "of unused sets (Felix's way); compute_ms is this bench's full rebuild + "
                 "diff, not counted"},
                {"layout", "as iptables-kube-router"},
                {"ms", distribution(delta.ms[kind])},
                {"compute_ms", distribution(delta.extra[kind])},
                {"chains_rewritten", distribution(chainsWritten[kind])},
                {"set_entries_changed", distribution(entriesChanged[kind])}});
      }

      output({{"measurement", "peer_state_check"},
              {"impl", "iptables-calico-delta"},
              {"what",
               "after the changes (each iteration restores the cluster), iptables-save and "
               "ipset save counted against the layout"},
              {"result", kernelMatchesLayout(cp, current)}});
      progress("control plane, peer: %zu iteration(s) of changes, kube-router's way",
               p.peerFullIterations);
      ChangeSamples resync;
      std::vector<double> all;
      for (size_t i = 0; i < p.peerFullIterations; ++i)
        for (const auto& step : iterationSteps(s, p, i)) {
          auto t = Clock::now();
          model.apply(step.event);
          Layout next = translate(model);
          double compute = ms(Clock::now() - t);
          FullApply f = applyFull(cp, next, &current);
          resync.ms[step.kind].push_back(f.total());
          resync.extra[step.kind].push_back(compute);
          all.push_back(f.total());
          current = std::move(next);
        }
      for (const auto& kind : kChangeKinds) {
        if (!resync.ms.count(kind)) continue;
        output({{"measurement", "control_change"},
                {"impl", "iptables-kube-router-full"},
                {"change", kind},
                {"what",
                 "kernel side: ipset save + iptables-save, ipset restore of every set "
                 "(temp + swap), iptables-restore of the whole filter table, destroy of "
                 "stale sets; compute_ms (this bench's translation) not counted"},
                {"layout", "as iptables-kube-router"},
                {"ms", distribution(resync.ms[kind])},
                {"compute_ms", distribution(resync.extra[kind])}});
      }
      if (!all.empty()) {
        output({{"measurement", "control_change_summary"},
                {"impl", "iptables-kube-router-full"},
                {"what", "every change is one full sync"},
                {"ms", distribution(all)}});
        output({{"measurement", "peer_state_check"},
                {"impl", "iptables-kube-router-full"},
                {"result", kernelMatchesLayout(cp, current)}});
      }
    }

    if (p.data) {
      progress("data plane: %zu policies selecting the server, four topologies", p.dpPolicies);
      DataPlaneObjects dp = dataPlaneObjects(p.dpPolicies);
      std::vector<Event> events = initial;
      for (const auto& ev : dp.events()) events.push_back(ev);
      std::vector<std::unique_ptr<Topology>> topologies;
      for (auto [variant, prefix] :
           {std::pair{"none", "dpn"}, std::pair{"podnet", "dpp"},
            std::pair{"iptables-kube-router", "dpi"}, std::pair{"nft-conntrack-only", "dpc"},
            std::pair{"podnet-no-policy", "dpq"}}) {
        auto t = std::make_unique<Topology>();
        t->variant = variant;
        t->prefix = prefix;
        t->ns = &ns;
        buildTopology(*t);
        topologies.push_back(std::move(t));
      }
      auto timing = std::make_shared<TimingWriter>(kernelWriter(topologies[1]->node()));
      auto enforcer = makeEnforcer(timing);
      PodnetFull f = podnetFull(*enforcer, events);
      double compileOnlyMs = 0;
      {
        auto compileOnly = makeEnforcer(std::make_shared<CountingWriter>());
        compileOnlyMs = podnetFull(*compileOnly, events).syncMs;
      }
      // The reference row: conntrack in the forward hook and nothing else, to
      // tell the cost of conntrack from the cost of the policy lookups.
      runOk(topologies[3]->node(), {kNft, "-f", "-"},
            "table ip ppb-conntrack {\n chain forward {\n  type filter hook forward priority 0;\n"
            "  ct state established,related accept\n }\n}\n");
      // The other baseline: a podnet node as it runs with no NetworkPolicy
      // at all (the same pods, its policy table's base chains, conntrack).
      auto unpoliced = makeEnforcer(kernelWriter(topologies[4]->node()));
      {
        std::vector<Event> withoutPolicies;
        for (const auto& ev : events)
          if (ev.kind != Event::Kind::policySet) withoutPolicies.push_back(ev);
        (void)podnetFull(*unpoliced, withoutPolicies);
      }
      Model dpModel;
      for (const auto& ev : events) dpModel.apply(ev);
      Layout dpLayout = translate(dpModel);
      FullApply full = applyFull(topologies[2]->node(), dpLayout, nullptr);
      std::string serverKey = "dp/server";
      size_t position =
          std::find(dpLayout.localOrder.begin(), dpLayout.localOrder.end(), serverKey) -
          dpLayout.localOrder.begin();
      size_t serverJumps = 0;
      for (const auto& r : dpLayout.chains["KUBE-POD-FW-" + h16(serverKey)].rules)
        serverJumps += r.target == Rule::Target::jump && r.jump.rfind("KUBE-NWPLCY-", 0) == 0 &&
                       r.jump != kDefaultChain;
      output({{"measurement", "data_plane_setup"},
              {"policies_selecting_server", p.dpPolicies},
              {"podnet",
               {{"sync_ms", round3(f.syncMs)},
                {"compile_only_sync_ms", round3(compileOnlyMs)},
                {"kernel_ms", round3(timing->lastMs)},
                {"elements", f.stats.elements},
                {"active_policies", f.compiler.activePolicies}}},
              {"iptables-kube-router",
               {{"kernel_apply_ms", round3(full.total())},
                {"rules", dpLayout.ruleCount()},
                {"ipset_entries", dpLayout.entryCount()},
                {"server_policy_jumps", serverJumps},
                {"server_position_in_forward_chain", position + 1},
                {"local_pods", dpLayout.localOrder.size()}}}});
      bool probesOk = true;
      for (const auto& t : topologies) {
        bool enforcing = t->variant == "podnet" || t->variant == "iptables-kube-router";
        Json probes = runProbes(*t, enforcing);
        probesOk &= probes["all_as_expected"].get<bool>();
        output(probes);
      }
      progress("data plane: %zu rounds x %zu connections per variant", p.dpRounds, p.dpConnections);
      std::string server = ipText(podAddress(1, kDpServerHost));
      std::vector<std::vector<double>> samples(topologies.size());
      std::vector<size_t> failures(topologies.size(), 0);
      for (const auto& t : topologies)
        for (int w = 0; w < 100; ++w) (void)request(t->pod("cli"), server, 8080, 2000);  // warm-up
      for (size_t r = 0; r < p.dpRounds; ++r)
        for (size_t j = 0; j < topologies.size(); ++j) {
          size_t v = (r + j) % topologies.size();
          for (size_t c = 0; c < p.dpConnections; ++c) {
            double t = request(topologies[v]->pod("cli"), server, 8080, 2000);
            if (t < 0)
              ++failures[v];
            else
              samples[v].push_back(t);
          }
        }
      double noneP50 = percentile(samples[0], 50);
      for (size_t v = 0; v < topologies.size(); ++v) {
        double p50 = percentile(samples[v], 50);
        output(
            {{"measurement", "data_plane"},
             {"impl", topologies[v]->variant},
             {"what",
              "client pod -> server pod on the same node (bridge, br_netfilter): TCP "
              "connect + one request/response, µs"},
             {"us", distribution(samples[v])},
             {"failures", failures[v]},
             {"p50_over_none", noneP50 > 0 ? round3(p50 / noneP50) : 0.0},
             {"p90_over_none",
              noneP50 > 0 ? round3(percentile(samples[v], 90) / percentile(samples[0], 90)) : 0.0},
             {"p99_over_none", noneP50 > 0
                                   ? round3(percentile(samples[v], 99) / percentile(samples[0], 99))
                                   : 0.0}});
      }
      double podnetRatio = noneP50 > 0 ? percentile(samples[1], 50) / noneP50 : 0;
      double conntrackP50 = percentile(samples[3], 50);
      double unpolicedP50 = percentile(samples[4], 50);
      double podnetOverUnpoliced = unpolicedP50 > 0 ? percentile(samples[1], 50) / unpolicedP50 : 0;
      Json goals = {{"measurement", "goals"},
                    {"dataplane_podnet_p50_within_5pct_of_no_policy", podnetOverUnpoliced <= 1.05},
                    {"dataplane_podnet_p50_over_podnet_no_policy", round3(podnetOverUnpoliced)},
                    {"dataplane_podnet_p50_over_bare_none", round3(podnetRatio)},
                    {"dataplane_podnet_p50_over_conntrack_only",
                     conntrackP50 > 0 ? round3(percentile(samples[1], 50) / conntrackP50) : 0.0},
                    {"probes_as_expected", probesOk}};
      if (!podnetChangeP99.empty()) {
        bool met = true;
        for (const auto& [kind, v] : podnetChangeP99) met &= v.get<double>() < 10.0;
        goals["incremental_p99_under_10ms"] = met;
        goals["incremental_p99_ms"] = podnetChangeP99;
      }
      output(goals);
      topologies.clear();
    } else if (!podnetChangeP99.empty()) {
      bool met = true;
      for (const auto& [kind, v] : podnetChangeP99) met &= v.get<double>() < 10.0;
      output({{"measurement", "goals"},
              {"incremental_p99_under_10ms", met},
              {"incremental_p99_ms", podnetChangeP99}});
    }
    if (p.matrix) {
      // `podnet policy matrix` over a large synthetic cluster, from the
      // objects alone: classes + bitsets (Reachability) against the plain
      // per-pair evaluation (policy::evaluate, what per-pair analyzers do),
      // timed on --matrix-rows source pods and extrapolated to all rows.
      Params mp = p;
      mp.pods = p.matrixPods;
      mp.policies = p.matrixPolicies;
      mp.namespaces = p.matrixNamespaces;
      progress("matrix: %zu pods, %zu policies", mp.pods, mp.policies);
      Synthetic big = generate(mp);
      pol::ClusterState state;
      for (const auto& ev : big.events()) {
        if (ev.kind == Event::Kind::namespaceSet)
          state.setNamespace(pol::namespaceFromJson(ev.object));
        if (ev.kind == Event::Kind::podSet) state.setPod(pol::podFromJson(ev.object));
        if (ev.kind == Event::Kind::policySet)
          if (auto policy = pol::policyFromJson(ev.object)) state.setPolicy(std::move(*policy));
      }
      std::vector<const pol::Pod*> pods;
      for (const auto& [key, pod] : state.pods())
        if (!pod.hostNetwork && !pod.ips.empty()) pods.push_back(&pod);
      auto t0 = Clock::now();
      pol::Reachability r = pol::Reachability::compute(state, pods, {pol::Protocol::tcp, 8080});
      auto t1 = Clock::now();
      uint64_t pairs = r.allowedPairs();
      auto t2 = Clock::now();
      size_t rows = std::min(p.matrixRows, pods.size()), agree = 0, compared = 0;
      auto t3 = Clock::now();
      for (size_t i = 0; i < rows; ++i) {
        size_t from = (i * 7919) % pods.size();
        pol::Endpoint src = pol::endpointForPod(state, *pods[from]);
        for (size_t to = 0; to < pods.size(); ++to) {
          pol::Verdict v = pol::evaluate(state, src, pol::endpointForPod(state, *pods[to]),
                                         pol::Protocol::tcp, 8080);
          ++compared;
          agree += v.allowed == r.allowed(from, to);
        }
      }
      double naiveMs = ms(Clock::now() - t3);
      output({{"measurement", "matrix"},
              {"impl", "podnet"},
              {"what",
               "every pod to every pod on 8080/TCP from the objects: classes of pods no "
               "policy tells apart, selectors as bitsets"},
              {"pods", pods.size()},
              {"policies", state.policies().size()},
              {"namespaces", state.namespaces().size()},
              {"classes", r.classes()},
              {"compute_ms", round3(ms(t1 - t0))},
              {"count_pairs_ms", round3(ms(t2 - t1))},
              {"total_ms", round3(ms(t2 - t0))},
              {"allowed_pairs", pairs}});
      output({{"measurement", "matrix"},
              {"impl", "per-pair evaluation"},
              {"what",
               "policy::evaluate for every pair (the approach of per-pair analyzers), timed on "
               "sampled source rows and extrapolated to every row"},
              {"rows_timed", rows},
              {"ms_for_rows", round3(naiveMs)},
              {"estimated_total_s",
               rows ? round3(naiveMs / double(rows) * double(pods.size()) / 1000.0) : 0.0},
              {"agrees_with_podnet", agree == compared},
              {"pairs_compared", compared}});
    }
    output({{"measurement", "end"},
            {"seconds", round3(ms(Clock::now() - started) / 1000.0)},
            {"loadavg", loadAverage()}});
    progress("done in %.1f s", ms(Clock::now() - started) / 1000.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "policy_bench: %s\n", e.what());
    rc = 1;
  }
  return rc;
}
