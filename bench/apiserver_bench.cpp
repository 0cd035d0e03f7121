// apiserver_bench: starts the real podnet server and measures, over
// keep-alive HTTPS with the generated credentials:
//   - creates/s (ConfigMaps) from several connections,
//   - list latency with 10k objects (whole list and a 500-item page),
//   - watch delivery latency from the start of a write to the event,
// on SQLite and, when /usr/bin/etcd is installed, side by side on a 1-member
// and a 3-member etcd (fsync on, as in production), plus the peer: the
// podnet Store on the 3-member etcd without the API server; and failover
// on the 3-member etcd: SIGKILL of the etcd leader under a create loop, and
// SIGKILL of the API server that runs the controllers (two servers).
// Prints one JSON document.
//
// Usage: apiserver_bench [connections] [creates] [--sqlite-only] [--repetitions N]
//                        [--no-fsync-too]
//   --sqlite-only   only the SQLite server, printed as before etcd existed
//   --repetitions N failover repetitions (default 3)
//   --no-fsync-too  also a 3-member etcd with --unsafe-no-fsync (creates, watch)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <numeric>
#include <set>

#include "../tests/integration/podnet_harness.h"
#include "store/etcd_store.h"

using namespace podnet::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kEtcdctl = "/usr/bin/etcdctl";

double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = std::min(values.size() - 1, size_t(p / 100.0 * double(values.size())));
  return values[index];
}

Json configMap(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", {{"bench", "yes"}}}}},
          {"data", {{"key", "value of a typical small size"}}}};
}

// The 1-minute load average, to say how busy the machine was while measuring.
double loadAverage() {
  double load = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  return load;
}

// Ports that are free now and distinct from every port handed out before.
uint16_t uniquePort() {
  static std::set<uint16_t> used;
  for (;;) {
    uint16_t port = freeLoopbackPort();
    if (port != 0 && used.insert(port).second) return port;
  }
}

std::string shell(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen((command + " 2>&1").c_str(), "r")) {
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    ::pclose(pipe);
  }
  return out;
}

// An etcd cluster of Debian's etcd-server on free loopback ports, data in a
// temp dir (on disk: fsync is real unless noFsync). Every member is stopped
// by its pid, and the dir removed, on destruction (PDEATHSIG covers a crash).
class EtcdCluster {
 public:
  EtcdCluster(int members, bool noFsync) : noFsync_(noFsync) {
    char pattern[] = "/tmp/podnet-bench-etcd-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return;
    dir_ = pattern;
    for (int i = 0; i < members; ++i) {
      Member m{"m" + std::to_string(i), uniquePort(), uniquePort(), 0};
      initial_ += (initial_.empty() ? "" : ",") + m.name +
                  "=http://127.0.0.1:" + std::to_string(m.peerPort);
      members_.push_back(m);
    }
    for (size_t i = 0; i < members_.size(); ++i) start(i);
  }
  ~EtcdCluster() {
    for (size_t i = 0; i < members_.size(); ++i) kill(i, SIGTERM);
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const Member& m : members_) out.push_back(url(m.clientPort));
    return out;
  }
  std::string serversFlag() const {
    std::string flag;
    for (const auto& e : endpoints()) flag += (flag.empty() ? "" : ",") + e;
    return flag;
  }

  void start(size_t i) {
    Member& m = members_[i];
    std::string client = url(m.clientPort), peer = url(m.peerPort);
    std::string data = dir_ + "/" + m.name;
    bool fresh = !std::filesystem::exists(data);
    std::vector<std::string> args = {kEtcd,
                                     "--name",
                                     m.name,
                                     "--data-dir",
                                     data,
                                     "--listen-client-urls",
                                     client,
                                     "--advertise-client-urls",
                                     client,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     initial_,
                                     "--initial-cluster-state",
                                     fresh ? "new" : "existing",
                                     "--initial-cluster-token",
                                     "podnet-bench",
                                     "--log-level",
                                     "error"};
    if (noFsync_) args.push_back("--unsafe-no-fsync");
    std::string log = dir_ + "/" + m.name + ".log";
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kEtcd, argv.data());
      ::_exit(127);
    }
    m.pid = pid;
  }

  void kill(size_t i, int signal) {
    Member& m = members_[i];
    if (m.pid <= 0) return;
    ::kill(m.pid, signal);
    int status = 0;
    ::waitpid(m.pid, &status, 0);
    m.pid = 0;
  }

  // The index of the member that leads now, or -1.
  int leaderIndex() const {
    for (size_t i = 0; i < members_.size(); ++i) {
      auto [id, leader] = status(i);
      if (!id.empty() && id == leader) return int(i);
    }
    return -1;
  }

  // Every member runs and knows the same leader.
  bool ready() const {
    std::string leader;
    for (size_t i = 0; i < members_.size(); ++i) {
      auto [id, known] = status(i);
      if (id.empty() || known.empty() || known == "0") return false;
      if (!leader.empty() && known != leader) return false;
      leader = known;
    }
    return true;
  }
  bool waitReady(std::chrono::seconds timeout = std::chrono::seconds(30)) const {
    return eventually([&] { return ready(); }, timeout);
  }

 private:
  struct Member {
    std::string name;
    uint16_t clientPort = 0, peerPort = 0;
    pid_t pid = 0;
  };

  static std::string url(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

  // MemberID and Leader of member i from `etcdctl endpoint status`.
  std::pair<std::string, std::string> status(size_t i) const {
    if (members_[i].pid <= 0) return {};
    std::string out =
        shell(std::string("ETCDCTL_API=3 ") + kEtcdctl +
              " --dial-timeout=1s --command-timeout=1s --endpoints=" + url(members_[i].clientPort) +
              " endpoint status --write-out=fields");
    auto field = [&](const std::string& name) {
      size_t at = out.find("\"" + name + "\" : ");
      if (at == std::string::npos) return std::string();
      at += name.size() + 5;
      return out.substr(at, out.find('\n', at) - at);
    };
    return {field("MemberID"), field("Leader")};
  }

  bool noFsync_;
  std::string dir_, initial_;
  std::vector<Member> members_;
};

// Creates, lists and watch delivery against one running server.
Json measureServer(const ServerProcess& server, int connections, int creates, bool lists) {
  {
    auto api = server.client();
    for (const char* ns : {"bench", "watch"})
      api->post("/api/v1/namespaces", {{"metadata", {{"name", ns}}}});
  }
  double loadBefore = loadAverage();

  // Creates over keep-alive connections, one thread per connection.
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  auto createStart = Clock::now();
  for (int c = 0; c < connections; ++c) {
    workers.emplace_back([&] {
      auto api = server.client();
      for (int i = next++; i < creates; i = next++) {
        auto body = configMap("cm-" + std::to_string(i)).dump();
        if (api->request("POST", "/api/v1/namespaces/bench/configmaps", body).status != 201)
          ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  double createSeconds = std::chrono::duration<double>(Clock::now() - createStart).count();

  Json report = {{"create",
                  {{"connections", connections},
                   {"objects", creates},
                   {"failures", failures.load()},
                   {"seconds", createSeconds},
                   {"per_second", double(creates) / createSeconds}}}};

  if (lists) {
    // Fill up to 10k objects for the list measurements.
    {
      auto api = server.client();
      for (int i = creates; i < 10000; ++i)
        api->request("POST", "/api/v1/namespaces/bench/configmaps",
                     configMap("cm-" + std::to_string(i)).dump());
    }
    std::vector<double> fullList, pageList;
    size_t listed = 0, listBytes = 0;
    {
      auto api = server.client();
      for (int i = 0; i < 10; ++i) {
        auto start = Clock::now();
        auto result = api->get("/api/v1/namespaces/bench/configmaps");
        fullList.push_back(millis(Clock::now() - start));
        listBytes = result.body.size();
        listed = result.json()["items"].size();
      }
      for (int i = 0; i < 50; ++i) {
        auto start = Clock::now();
        api->get("/api/v1/namespaces/bench/configmaps?limit=500");
        pageList.push_back(millis(Clock::now() - start));
      }
    }
    report["list_10k"] = {{"items", listed},
                          {"bytes", listBytes},
                          {"full_ms_p50", percentile(fullList, 50)},
                          {"full_ms_max", percentile(fullList, 100)},
                          {"page500_ms_p50", percentile(pageList, 50)},
                          {"page500_ms_p99", percentile(pageList, 99)}};
  }

  // Watch delivery: one write at a time, timed from the start of the write
  // to the event arriving at the watcher.
  std::vector<double> delivery;
  {
    auto api = server.client();
    auto watch = server.watch("/api/v1/namespaces/watch/configmaps?watch=true");
    constexpr int kWrites = 1000;
    for (int i = 0; i < kWrites; ++i) {
      auto start = Clock::now();
      api->request("POST", "/api/v1/namespaces/watch/configmaps",
                   configMap("w-" + std::to_string(i)).dump());
      // The watch starts with the namespace's existing ConfigMaps
      // (kube-root-ca.crt): skip to this write's event.
      std::string name = "w-" + std::to_string(i);
      std::optional<WatchReader::Event> event;
      while ((event = watch->next(std::chrono::seconds(5))) &&
             event->json["object"]["metadata"].value("name", "") != name) {
      }
      if (!event) break;
      delivery.push_back(millis(event->received - start));
    }
  }
  report["watch_delivery"] = {{"events", delivery.size()},
                              {"ms_p50", percentile(delivery, 50)},
                              {"ms_p99", percentile(delivery, 99)},
                              {"ms_max", percentile(delivery, 100)},
                              {"measured_from", "start of the POST that made the event"}};
  report["load_average_1m"] = {{"before", loadBefore}, {"after", loadAverage()}};
  return report;
}

// The peer: the podnet Store on etcd, no HTTP, no codecs, no registry.
// With readFirst, each create is preceded by a get of the namespace, as the
// API server's create is (the watch is then not measured).
Json measureStoreAlone(const EtcdCluster& etcd, int threads, int creates, bool readFirst) {
  podnet::store::EtcdOptions options;
  options.endpoints = etcd.endpoints();
  options.prefix = "/bench-store";
  options.compactionInterval = std::chrono::milliseconds(0);
  auto opened = podnet::store::openEtcd(options);
  if (!opened.ok()) return {{"error", opened.error().message}};
  std::unique_ptr<podnet::store::Store> store = std::move(opened).value();
  const std::string value(600, 'x');  // a small object, as the API server stores one

  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> workers;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      std::string dir =
          readFirst ? "/registry/configmaps/read-first/" : "/registry/configmaps/bench/";
      for (int i = next++; i < creates; i = next++) {
        // A 404 (no such namespace here): the read is what counts.
        if (readFirst) (void)store->get("/registry/namespaces/read-first");
        if (!store->create(dir + "cm-" + std::to_string(i), value).ok()) ++failures;
      }
    });
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  Json report = {{"create",
                  {{"threads", threads},
                   {"objects", creates},
                   {"value_bytes", value.size()},
                   {"read_before_each_create", readFirst},
                   {"failures", failures.load()},
                   {"seconds", seconds},
                   {"per_second", double(creates) / seconds}}}};
  if (readFirst) return report;
  std::vector<double> delivery;
  auto watch = store->watch("/registry/configmaps/watch/", store->revision());
  if (watch.ok()) {
    for (int i = 0; i < 1000; ++i) {
      auto begin = Clock::now();
      if (!store->create("/registry/configmaps/watch/w-" + std::to_string(i), value).ok()) break;
      bool got = false;
      while (!got) {
        auto events = (*watch)->next(std::chrono::seconds(5));
        if (!events.ok() || events->empty()) break;
        got = true;
      }
      if (!got) break;
      delivery.push_back(millis(Clock::now() - begin));
    }
  }
  report["watch_delivery"] = {
      {"events", delivery.size()},
      {"ms_p50", percentile(delivery, 50)},
      {"ms_p99", percentile(delivery, 99)},
      {"ms_max", percentile(delivery, 100)},
      {"measured_from", "start of Store::create to Watch::next returning it"}};
  return report;
}

// SIGKILL of the etcd leader while one client creates ConfigMaps in a loop
// through the API server: ms from the kill to the first create accepted
// (201) among those sent after the kill. The member is restarted between
// repetitions.
Json measureEtcdLeaderKill(EtcdCluster& etcd, const ServerProcess& server, int repetitions) {
  Json runs = Json::array();
  std::vector<double> times;
  for (int rep = 0; rep < repetitions; ++rep) {
    if (!etcd.waitReady()) {
      runs.push_back({{"error", "etcd not ready"}});
      break;
    }
    struct Sample {
      Clock::time_point sent, answered;
      int status;
    };
    std::mutex mutex;
    std::vector<Sample> samples;
    std::atomic<bool> stop{false};
    std::thread loop([&] {
      auto api = server.client();
      for (int i = 0; !stop; ++i) {
        auto sent = Clock::now();
        int status =
            api->request("POST", "/api/v1/namespaces/bench/configmaps",
                         configMap("fo" + std::to_string(rep) + "-" + std::to_string(i)).dump())
                .status;
        std::lock_guard lock(mutex);
        samples.push_back({sent, Clock::now(), status});
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    int leader = etcd.leaderIndex();
    auto killed = Clock::now();
    if (leader >= 0) etcd.kill(size_t(leader), SIGKILL);
    std::optional<double> nextAccepted, firstAnswer;
    int failed = 0;
    eventually(
        [&] {
          std::lock_guard lock(mutex);
          for (const auto& s : samples)
            if (s.sent >= killed && s.status == 201) return true;
          return false;
        },
        std::chrono::seconds(30));
    stop = true;
    loop.join();
    double slowest = 0;
    for (const auto& s : samples) {
      if (s.answered < killed) continue;
      slowest = std::max(slowest, millis(s.answered - s.sent));
      if (s.status != 201) ++failed;
      if (s.status == 201 && !firstAnswer) firstAnswer = millis(s.answered - killed);
      if (s.status == 201 && s.sent >= killed && !nextAccepted)
        nextAccepted = millis(s.answered - killed);
    }
    Json run = {{"killed_member", leader},
                {"ms_to_next_accepted_create", nextAccepted ? Json(*nextAccepted) : Json()},
                {"ms_to_first_201_after_kill", firstAnswer ? Json(*firstAnswer) : Json()},
                {"failed_creates_after_kill", failed},
                {"slowest_create_ms", slowest}};
    if (nextAccepted) times.push_back(*nextAccepted);
    runs.push_back(run);
    if (leader >= 0) etcd.start(size_t(leader));
    etcd.waitReady();
  }
  return {{"what",
           "SIGKILL of the etcd leader (3 members) while one keep-alive client creates "
           "ConfigMaps through the API server; ms from the kill to the first 201 of a POST sent "
           "after it"},
          {"repetitions", runs.size()},
          {"ms", times},
          {"ms_max", percentile(times, 100)},
          {"runs", runs}};
}

std::string leaseHolder(const ServerProcess& via) {
  auto lease = via.client()->get(
      "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/podnet-controller-manager");
  if (lease.status != 200) return "";
  return lease.json()["spec"].value("holderIdentity", "");
}

bool endsWith(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// Two API servers on the 3-member etcd (own prefix); SIGKILL of the one that
// holds the controller lease, then a Deployment created through the other:
// ms from the kill to its ReplicaSet existing (the next controller action).
Json measureServerKill(const EtcdCluster& etcd, int repetitions) {
  std::vector<std::string> args = {"--etcd-servers", etcd.serversFlag(), "--etcd-prefix",
                                   "/bench-failover"};
  ServerProcess first(args), second(args);
  if (!first.start()) return {{"error", "first server did not start: " + first.log()}};
  std::filesystem::create_directories(second.dataDir + "/pki");
  for (const char* file : {"ca.crt", "ca.key", "admin.token", "sa.key"})
    std::filesystem::copy_file(first.dataDir + "/pki/" + file, second.dataDir + "/pki/" + file);
  if (!second.start()) return {{"error", "second server did not start: " + second.log()}};
  first.client()->post("/api/v1/namespaces", {{"metadata", {{"name", "failover"}}}});

  ServerProcess* servers[2] = {&first, &second};
  Json runs = Json::array();
  std::vector<double> times;
  for (int rep = 0; rep < repetitions; ++rep) {
    int leader = -1;
    eventually(
        [&] {
          for (int i = 0; i < 2; ++i) {
            ServerProcess* via = servers[1 - i];
            if (endsWith(leaseHolder(*via), "_127.0.0.1:" + std::to_string(servers[i]->port)))
              leader = i;
          }
          return leader >= 0;
        },
        std::chrono::seconds(40));
    if (leader < 0) {
      runs.push_back({{"error", "no server holds the lease"}});
      break;
    }
    ServerProcess& dead = *servers[leader];
    ServerProcess& survivor = *servers[1 - leader];
    std::string name = "fo-" + std::to_string(rep);
    auto api = survivor.client();
    auto killed = Clock::now();
    dead.kill(SIGKILL);
    Json container = {{"name", "c"}, {"image", "bench/failover:1"}};
    Json podTemplate = {{"metadata", {{"labels", {{"app", name}}}}},
                        {"spec", {{"containers", Json::array({container})}}}};
    Json spec = {{"replicas", 1},
                 {"selector", {{"matchLabels", {{"app", name}}}}},
                 {"template", podTemplate}};
    Json deployment = {{"apiVersion", "apps/v1"},
                       {"kind", "Deployment"},
                       {"metadata", {{"name", name}}},
                       {"spec", spec}};
    int created = api->post("/apis/apps/v1/namespaces/failover/deployments", deployment).status;
    std::optional<double> ms;
    if (eventually(
            [&] {
              auto list = api->get(
                  "/apis/apps/v1/namespaces/failover/replicasets?labelSelector=app%3D" + name);
              return list.status == 200 && !list.json()["items"].empty();
            },
            std::chrono::seconds(60)))
      ms = millis(Clock::now() - killed);
    runs.push_back({{"killed_server", leader},
                    {"deployment_create_status", created},
                    {"ms_to_replicaset", ms ? Json(*ms) : Json()}});
    if (ms) times.push_back(*ms);
    if (!dead.start()) {
      runs.back()["restart_error"] = dead.log();
      break;
    }
  }
  return {{"what",
           "two API servers on the 3-member etcd; SIGKILL of the one holding the lease "
           "kube-system/podnet-controller-manager (15 s), a Deployment created through the "
           "other; ms from the kill to its ReplicaSet existing"},
          {"repetitions", runs.size()},
          {"ms", times},
          {"ms_max", percentile(times, 100)},
          {"runs", runs}};
}

// The API server on a fresh etcd cluster of `members`.
Json measureOnEtcd(int members, bool noFsync, int connections, int creates, bool lists,
                   const std::function<void(EtcdCluster&, ServerProcess&, Json&)>& more = {}) {
  EtcdCluster etcd(members, noFsync);
  if (!etcd.waitReady()) return {{"error", "etcd did not become ready"}};
  ServerProcess server({"--etcd-servers", etcd.serversFlag()});
  if (!server.start()) return {{"error", "server did not start: " + server.log()}};
  Json report = measureServer(server, connections, creates, lists);
  report["etcd_members"] = members;
  report["etcd_fsync"] = !noFsync;
  if (more) more(etcd, server, report);
  return report;
}

}  // namespace

int main(int argc, char** argv) {
  int connections = 8, creates = 10000, repetitions = 3;
  bool sqliteOnly = false, noFsyncToo = false;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--sqlite-only")
      sqliteOnly = true;
    else if (arg == "--no-fsync-too")
      noFsyncToo = true;
    else if (arg == "--repetitions" && i + 1 < argc)
      repetitions = std::atoi(argv[++i]);
    else
      positional.push_back(arg);
  }
  if (positional.size() > 0) connections = std::atoi(positional[0].c_str());
  if (positional.size() > 1) creates = std::atoi(positional[1].c_str());
  if (connections < 1) connections = 1;
  if (creates < connections) creates = connections;
  auto began = Clock::now();

  Json sqlite;
  {
    ServerProcess server;
    if (!server.start()) {
      std::fprintf(stderr, "server did not start:\n%s\n", server.log().c_str());
      return 1;
    }
    sqlite = measureServer(server, connections, creates, true);
  }
  auto failed = [](const Json& r) {
    return r.contains("error") || (r.contains("create") && r["create"]["failures"] != 0);
  };

  if (sqliteOnly) {
    Json report = {{"benchmark", "apiserver"},
                   {"transport", "HTTPS/1.1 keep-alive, bearer token"},
                   {"hardware_threads", std::thread::hardware_concurrency()}};
    report.update(sqlite);
    std::printf("%s\n", report.dump(2).c_str());
    return failed(sqlite) ? 1 : 0;
  }

  Json report = {{"benchmark", "apiserver"},
                 {"transport", "HTTPS/1.1 keep-alive, bearer token"},
                 {"hardware_threads", std::thread::hardware_concurrency()},
                 {"sqlite", sqlite}};
  bool ok = !failed(sqlite);
  if (::access(kEtcd, X_OK) != 0 || ::access(kEtcdctl, X_OK) != 0) {
    report["etcd"] =
        "skipped: no /usr/bin/etcd or /usr/bin/etcdctl (apt install etcd-server "
        "etcd-client)";
  } else {
    report["etcd_version"] = shell(std::string(kEtcd) + " --version | head -1");
    report["etcd1"] = measureOnEtcd(1, false, connections, creates, true);
    ok = ok && !failed(report["etcd1"]);
    report["etcd3"] = measureOnEtcd(
        3, false, connections, creates, true, [&](EtcdCluster& etcd, ServerProcess& server, Json&) {
          // The peer on the same cluster, then failover.
          report["etcd3_store_alone"] = measureStoreAlone(etcd, connections, creates, false);
          ok = ok && !failed(report["etcd3_store_alone"]);
          // What the API server asks of etcd per create: the namespace read
          // (NamespaceLifecycle, a linearizable Range) and the create Txn.
          report["etcd3_store_alone_read_then_create"] =
              measureStoreAlone(etcd, connections, creates, true);
          ok = ok && !failed(report["etcd3_store_alone_read_then_create"]);
          report["failover"]["etcd_leader_killed"] =
              measureEtcdLeaderKill(etcd, server, repetitions);
          server.stop();
          report["failover"]["api_server_leader_killed"] = measureServerKill(etcd, repetitions);
        });
    ok = ok && !failed(report["etcd3"]);
    if (noFsyncToo) {
      report["etcd3_no_fsync"] = measureOnEtcd(3, true, connections, creates, false);
      ok = ok && !failed(report["etcd3_no_fsync"]);
    }
  }
  report["seconds_total"] = std::chrono::duration<double>(Clock::now() - began).count();
  std::printf("%s\n", report.dump(2).c_str());
  return ok ? 0 : 1;
}
