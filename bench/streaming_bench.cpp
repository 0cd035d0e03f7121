// kubectl port-forward and exec on a real `podnet up --nodes 2` cluster
// (issue 14), with the real kubectl, as a user runs them.
//
// Port-forward: a 1 GiB download (curl) from a busybox httpd pod, straight
// to the pod IP (the host's route to the pod CIDR) and through `kubectl
// port-forward` on 127.0.0.1, over WebSocket (kubectl 1.32's default) and
// over SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false). One port-forward per
// protocol stays up for the whole bench; every download is a new TCP
// connection, so a new stream pair in that session. The three targets take
// turns, the order rotating from round to round; the file is read once
// before (page cache). Per download: MB/s (10^6 bytes); the CPU seconds and
// context switches of the API server, the pod's agent and kubectl, curl's
// CPU; what the rest of the machine used ("other": httpd, whose busybox
// serves each connection in a child nobody waits for, and softirq work);
// and every process's CPU by class (cluster and measurement, kernel
// threads, "foreign": anything else, such as a build, which makes the run
// suspect). Goal (issue): port-forward at least half the direct throughput.
// Then a small request (11 bytes) on a new connection through each path,
// --exec-runs times each: through a port-forward, a new stream pair first.
//
// Exec: `kubectl exec POD -- true` over WebSocket (default) and over SPDY
// (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false) against `kubectl get pod POD`
// (kubectl's own start-up and one request), interleaved, wall time from fork
// to exit. Goal (issue): exec p50 under twice get's.
//
// Logs (extra): a 10 MB container log read by `kubectl logs`, by curl
// through the API server (pods/log) and by curl straight from the node API
// (:10250, the API server's client certificate): the last two differ only
// by the API server's relay.
//
// The bench starts its own cluster (`podnet up --nodes 2 --manifests ''`
// in /tmp/pnbench-streaming-PID) and always runs `podnet down`; the files
// it serves are in a temp dir under /tmp, removed at the end; every child
// is stopped by pid (also on SIGINT/SIGTERM). Needs root (podnet up).
//
// Output: one JSON object on stdout; progress on stderr.
// Usage: sudo build/bench/streaming_bench [--runs 3] [--exec-runs 20]
//          [--log-runs 5] [--mib 1024] [--podnet PATH] [--no-logs]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingress/processes.h"

namespace {

using namespace ingressbench;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kKubectl = "/usr/bin/kubectl";
// 100,000 lines of 100 bytes: a last line without its newline would stay in
// the runtime's line buffer while the container runs (as with containerd).
constexpr size_t kLogBytes = 10'000'000;

struct Options {
  int runs = 3;
  int execRuns = 20;
  int logRuns = 5;
  long mib = 1024;
  bool logs = true;
  std::string podnet = PODNET_BINARY;
};

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--no-logs") {
      options.logs = false;
      continue;
    }
    if (i + 1 >= argc) return false;
    std::string value = argv[++i];
    if (flag == "--runs")
      options.runs = atoi(value.c_str());
    else if (flag == "--exec-runs")
      options.execRuns = atoi(value.c_str());
    else if (flag == "--log-runs")
      options.logRuns = atoi(value.c_str());
    else if (flag == "--mib")
      options.mib = atol(value.c_str());
    else if (flag == "--podnet")
      options.podnet = value;
    else
      return false;
  }
  return options.runs > 0 && options.execRuns > 0 && options.logRuns > 0 && options.mib > 0;
}

void progress(const char* format, auto... args) {
  std::fprintf(stderr, "streaming_bench: ");
  std::fprintf(stderr, format, args...);
  std::fprintf(stderr, "\n");
}

double round2(double value) { return std::round(value * 100) / 100; }
double round3(double value) { return std::round(value * 1000) / 1000; }

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Nearest rank.
double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = size_t(std::ceil(p / 100 * double(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

json latencySummary(const std::vector<double>& ms) {
  double sum = 0;
  for (double v : ms) sum += v;
  return {{"runs", ms.size()},
          {"p50_ms", round2(percentile(ms, 50))},
          {"p90_ms", round2(percentile(ms, 90))},
          {"min_ms", round2(*std::min_element(ms.begin(), ms.end()))},
          {"max_ms", round2(*std::max_element(ms.begin(), ms.end()))},
          {"mean_ms", round2(sum / double(ms.size()))}};
}

// ---- processes ------------------------------------------------------------

std::string cmdline(pid_t pid) {
  std::string text = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

// The first process whose command line holds every one of `parts`.
pid_t findProcess(const std::vector<std::string>& parts) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    std::string line = cmdline(pid);
    bool all = !line.empty();
    for (const auto& part : parts) all = all && line.find(part) != std::string::npos;
    if (all) return pid;
  }
  return 0;
}

// User + system CPU seconds of one process (all its threads), not its children.
double processCpu(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::vector<std::string> fields;
  std::string field;
  while (rest >> field) fields.push_back(field);
  if (fields.size() <= 12) return 0;
  return (std::stod(fields[11]) + std::stod(fields[12])) / double(sysconf(_SC_CLK_TCK));
}

// Context switches (voluntary and not) of all threads of one process so far:
// each is a thread giving up the CPU, mostly to wait for the next event.
double contextSwitches(pid_t pid) {
  if (pid <= 0) return 0;
  double total = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line))
      if (line.find("ctxt_switches:") != std::string::npos)
        total += std::stod(line.substr(line.find(':') + 1));
  }
  return total;
}

// Busy CPU seconds of the whole machine (every state but idle and iowait).
double machineBusy() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;
  std::vector<double> ticks;
  double value;
  for (int i = 0; i < 8 && stat >> value; ++i) ticks.push_back(value);
  if (ticks.size() < 8) return 0;
  double busy = 0;
  for (size_t i = 0; i < ticks.size(); ++i)
    if (i != 3 && i != 4) busy += ticks[i];
  return busy / double(sysconf(_SC_CLK_TCK));
}

// CPU used during a window by every process on the machine, in three
// classes: the cluster and the measurement (podnet, kubectl, curl, busybox:
// the pods run it), kernel threads (softirq work is charged there when no
// process is running), and anything else ("foreign": another build on the
// machine, for instance). A thread samples /proc every 200 ms so processes
// that start and end inside the window count too (all but their last
// <200 ms).
class CpuCensus {
 public:
  ~CpuCensus() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void start() {
    samples_.clear();
    stop_ = false;
    sample(true);
    thread_ = std::thread([this] {
      while (!stop_) {
        for (int i = 0; i < 4 && !stop_; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        sample(false);
      }
    });
  }
  // Busy cores per class over `seconds`.
  json finish(double seconds) {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    sample(false);
    std::map<std::string, double> total;
    for (const auto& [pid, s] : samples_) total[s.kind] += s.last - s.first;
    json out = json::object();
    for (const char* kind : {"cluster", "kernel", "foreign"})
      out[std::string(kind) + "_cores"] = round2(total[kind] / std::max(seconds, 1e-3));
    return out;
  }

 private:
  struct Sample {
    std::string kind;
    double first = 0, last = 0;
  };
  void sample(bool initial) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = std::stoi(name);
      std::ifstream stat(entry.path() / "stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      size_t close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(line.substr(close + 2));
      std::vector<std::string> fields;
      std::string field;
      while (rest >> field) fields.push_back(field);
      if (fields.size() <= 12) continue;
      double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / double(sysconf(_SC_CLK_TCK));
      auto it = samples_.find(pid);
      if (it == samples_.end()) {
        std::string command = cmdline(pid);
        std::string kind = "foreign";
        if (command.empty())
          kind = "kernel";
        else
          for (const char* ours : {"podnet", "kubectl", "curl", "busybox", "streaming_bench"})
            if (command.find(ours) != std::string::npos) kind = "cluster";
        // Started inside the window: all of its CPU is the window's.
        it = samples_.emplace(pid, Sample{kind, initial ? cpu : 0, cpu}).first;
      }
      it->second.last = std::max(it->second.last, cpu);
    }
  }
  std::map<pid_t, Sample> samples_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

double loadAverage() {
  double load = 0;
  std::ifstream("/proc/loadavg") >> load;
  return load;
}

// Runs argv to completion with stdout and stderr to `out` ("" = /dev/null).
// Wall time in ms, exit code, and the child's own CPU seconds.
struct Timed {
  int exitCode = -1;
  double ms = 0;
  double cpu = 0;
};
Timed timedRun(const std::vector<std::string>& argv, const std::string& out = "") {
  auto start = Clock::now();
  Child child(argv, out);
  Timed result;
  result.exitCode = child.wait();
  result.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  result.cpu = child.cpuSecondsAtExit();
  return result;
}

// ---- the cluster ---------------------------------------------------------

class Cluster {
 public:
  Cluster(std::string podnet, std::string dataDir)
      : podnet_(std::move(podnet)), dataDir_(std::move(dataDir)) {}
  ~Cluster() { down(); }

  bool up() {
    progress("podnet up --nodes 2 in %s", dataDir_.c_str());
    started_ = true;
    Output out =
        capture({podnet_, "up", "--nodes", "2", "--manifests", "", "--data-dir", dataDir_});
    if (out.exitCode != 0) progress("podnet up failed:\n%s", out.text.c_str());
    return out.exitCode == 0;
  }

  void down() {
    if (!started_) return;
    started_ = false;
    progress("podnet down");
    Output out = capture({podnet_, "down", "--data-dir", dataDir_});
    if (out.exitCode != 0) progress("podnet down failed:\n%s", out.text.c_str());
  }

  const std::string& dataDir() const { return dataDir_; }
  std::string kubeconfig() const { return dataDir_ + "/server/kubeconfig"; }
  std::string pki(const std::string& file) const { return dataDir_ + "/server/pki/" + file; }

  // kubectl with this cluster's kubeconfig and extra environment.
  std::vector<std::string> kubectl(const std::vector<std::string>& args,
                                   const std::vector<std::string>& env = {}) const {
    std::vector<std::string> argv{"env", "KUBECONFIG=" + kubeconfig()};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(kKubectl);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  Output run(const std::vector<std::string>& args) const { return capture(kubectl(args)); }

 private:
  std::string podnet_, dataDir_;
  bool started_ = false;
};

json podJson(const Cluster& cluster, const std::string& name) {
  Output out = cluster.run({"get", "pod", name, "-o", "json"});
  return json::parse(out.text, nullptr, false);
}

bool podReady(const json& pod) {
  if (!pod.is_object()) return false;
  for (const auto& c : pod["status"].value("conditions", json::array()))
    if (c.value("type", "") == "Ready" && c.value("status", "") == "True") return true;
  return false;
}

bool waitFor(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && !interrupted) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// ---- port-forward -------------------------------------------------------

struct Transfer {
  std::string target;
  int round = 0;
  long bytes = 0;
  double seconds = 0;
  double mbPerSecond = 0;
  json cpu;       // seconds per process during the download
  json switches;  // context switches per process during the download
};

struct Watched {
  pid_t server = 0, agent = 0;
};

// One curl download of `url`, with the CPU every process involved used meanwhile.
bool download(const std::string& url, const std::string& target, pid_t kubectlPid,
              const Watched& watched, long expectBytes, const std::string& outFile,
              Transfer& transfer) {
  double serverBefore = processCpu(watched.server), agentBefore = processCpu(watched.agent),
         kubectlBefore = processCpu(kubectlPid), busyBefore = machineBusy();
  double serverSwitches = contextSwitches(watched.server),
         agentSwitches = contextSwitches(watched.agent),
         kubectlSwitches = contextSwitches(kubectlPid);
  CpuCensus census;
  census.start();
  Timed curl = timedRun({"curl", "-s", "--max-time", "600", "-o", "/dev/null", "-w",
                         "%{size_download} %{time_total}", url},
                        outFile);
  double server = processCpu(watched.server) - serverBefore,
         agent = processCpu(watched.agent) - agentBefore,
         kubectl = kubectlPid ? processCpu(kubectlPid) - kubectlBefore : 0,
         busy = machineBusy() - busyBefore;
  json classes = census.finish(curl.ms / 1000);
  serverSwitches = contextSwitches(watched.server) - serverSwitches;
  agentSwitches = contextSwitches(watched.agent) - agentSwitches;
  kubectlSwitches = kubectlPid ? contextSwitches(kubectlPid) - kubectlSwitches : 0;
  std::istringstream fields(readFile(outFile));
  double seconds = 0;
  long bytes = 0;
  fields >> bytes >> seconds;
  transfer.target = target;
  transfer.bytes = bytes;
  transfer.seconds = seconds;
  if (curl.exitCode != 0 || bytes != expectBytes || seconds <= 0) {
    progress("%s: curl exit %d, %ld bytes of %ld", target.c_str(), curl.exitCode, bytes,
             expectBytes);
    return false;
  }
  transfer.mbPerSecond = double(bytes) / seconds / 1e6;
  double known = server + agent + kubectl + curl.cpu;
  double wall = curl.ms / 1000;
  transfer.cpu = {{"apiserver_s", round3(server)},
                  {"agent_s", round3(agent)},
                  {"kubectl_s", round3(kubectl)},
                  {"curl_s", round3(curl.cpu)},
                  {"machine_busy_cores", round2(busy / wall)},
                  {"other_busy_cores", round2(std::max(0.0, busy - known) / wall)}};
  transfer.cpu.update(classes);
  transfer.switches = {
      {"apiserver", serverSwitches}, {"agent", agentSwitches}, {"kubectl", kubectlSwitches}};
  return true;
}

// A running `kubectl port-forward`, ready once it printed "Forwarding from".
struct PortForward {
  std::string label;
  int port = 0;
  std::string log;
  Child process;
};

bool startPortForward(const Cluster& cluster, PortForward& forward, const std::string& pod,
                      const std::vector<std::string>& env) {
  forward.port = freePort();
  forward.process = Child(cluster.kubectl({"port-forward", "--address", "127.0.0.1", "pod/" + pod,
                                           std::to_string(forward.port) + ":8000"},
                                          env),
                          forward.log);
  return waitFor(
      [&] {
        return forward.process.exitCode() < 0 &&
               readFile(forward.log).find("Forwarding from") != std::string::npos;
      },
      std::chrono::seconds(20));
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: streaming_bench [--runs N] [--exec-runs N] [--log-runs N] [--mib N] "
                 "[--podnet PATH] [--no-logs]\n");
    return 2;
  }
  if (::geteuid() != 0) {
    std::puts(R"js({"bench":"streaming","skipped":"needs root (podnet up)"})js");
    return 0;
  }
  for (const char* tool : {kKubectl, "/usr/bin/curl", "/usr/bin/busybox"})
    if (!fs::exists(tool)) {
      std::printf("{\"bench\":\"streaming\",\"skipped\":\"no %s\"}\n", tool);
      return 0;
    }
  installSignalHandlers();

  json result = {{"bench", "streaming"}};
  {
    char date[32];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    result["date"] = date;
  }
  result["machine"] = {{"nproc", std::thread::hardware_concurrency()},
                       {"load_before", loadAverage()}};
  result["kubectl"] =
      json::parse(capture({kKubectl, "version", "--client", "-o", "json"}).text, nullptr, false)
          .value("/clientVersion/gitVersion"_json_pointer, "");
  result["podnet"] = options.podnet;

  TempDir files("pnbench-streaming-files");
  if (files.path().empty()) {
    progress("cannot create a temp dir");
    return 1;
  }
  const std::string www = files.path() + "/www";
  fs::create_directories(www);
  const long bigBytes = options.mib * 1024 * 1024;
  {
    // Sparse: the download reads page-cache zeros, no disk, on both paths alike.
    std::ofstream(www + "/big").close();
    fs::resize_file(www + "/big", uintmax_t(bigBytes));
    writeFile(www + "/small", "small-file\n");
    // Read once, so no download is the first to fill the page cache.
    std::ifstream in(www + "/big", std::ios::binary);
    std::vector<char> chunk(1 << 20);
    while (in.read(chunk.data(), std::streamsize(chunk.size()))) {
    }
  }
  const std::string logsDone = files.path() + "/logs-done";

  Cluster cluster(options.podnet, "/tmp/pnbench-streaming-" + std::to_string(getpid()));
  int status = 1;
  std::vector<PortForward> forwards;
  do {  // once; `break` goes to the cleanup
    if (!cluster.up() || interrupted) break;
    std::string manifest = files.path() + "/pods.yaml";
    writeFile(manifest, R"(apiVersion: v1
kind: Pod
metadata: {name: files}
spec:
  containers:
  - name: httpd
    image: busybox
    command: [busybox, httpd, -f, -p, "8000", -h, ")" +
                            www + R"("]
    ports: [{containerPort: 8000}]
    readinessProbe: {tcpSocket: {port: 8000}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: logs}
spec:
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'yes 012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678 | head -c )" +
                            std::to_string(kLogBytes) + "; touch " + logsDone +
                            R"(; exec sleep 3600']
)");
    Output applied = cluster.run({"apply", "-f", manifest});
    if (applied.exitCode != 0) {
      progress("kubectl apply failed: %s", applied.text.c_str());
      break;
    }
    json pod;
    if (!waitFor([&] { return podReady(pod = podJson(cluster, "files")); },
                 std::chrono::seconds(60))) {
      progress("pod files not Ready");
      break;
    }
    if (!waitFor([&] { return fs::exists(logsDone); }, std::chrono::seconds(60))) {
      progress("pod logs did not write its log");
      break;
    }
    std::string podIp = pod["status"].value("podIP", "");
    std::string node = pod["spec"].value("nodeName", "");
    json logsPod = podJson(cluster, "logs");
    std::string logsNode = logsPod["spec"].value("nodeName", "");
    Watched watched;
    watched.server = findProcess({" server ", "--data-dir " + cluster.dataDir() + "/server"});
    watched.agent = findProcess(
        {" agent ", "--node-name " + node + " ", "--data-dir " + cluster.dataDir() + "/nodes/"});
    result["pod"] = {{"name", "files"}, {"ip", podIp}, {"node", node}};
    progress("pod files %s on %s (server pid %d, agent pid %d)", podIp.c_str(), node.c_str(),
             watched.server, watched.agent);
    if (podIp.empty() || !watched.server || !watched.agent) break;

    // ---- port-forward throughput ----
    forwards.resize(2);
    forwards[0].label = "websocket";
    forwards[1].label = "spdy";
    bool forwarding = true;
    for (auto& forward : forwards) {
      forward.log = files.path() + "/port-forward-" + forward.label + ".log";
      std::vector<std::string> env;
      if (forward.label == "spdy") env.push_back("KUBECTL_PORT_FORWARD_WEBSOCKETS=false");
      if (!startPortForward(cluster, forward, "files", env)) {
        progress("kubectl port-forward (%s) did not start: %s", forward.label.c_str(),
                 tail(forward.log).c_str());
        forwarding = false;
      }
    }
    if (!forwarding || interrupted) break;
    std::map<std::string, std::string> base = {
        {"direct", "http://" + podIp + ":8000"},
        {"websocket", "http://127.0.0.1:" + std::to_string(forwards[0].port)},
        {"spdy", "http://127.0.0.1:" + std::to_string(forwards[1].port)}};
    std::map<std::string, pid_t> kubectlOf = {{"direct", 0},
                                              {"websocket", forwards[0].process.pid()},
                                              {"spdy", forwards[1].process.pid()}};
    // Every path answers before anything is timed.
    bool answered = true;
    for (const auto& [target, url] : base) {
      Output small = capture({"curl", "-s", "--max-time", "20", url + "/small"});
      if (small.text != "small-file\n") {
        progress("%s: /small answered %s", target.c_str(), small.text.c_str());
        answered = false;
      }
    }
    if (!answered) break;

    const std::vector<std::string> targets{"direct", "websocket", "spdy"};
    std::map<std::string, std::vector<Transfer>> transfers;
    bool ok = true;
    for (int round = 0; round < options.runs && ok && !interrupted; ++round)
      for (size_t i = 0; i < targets.size() && ok && !interrupted; ++i) {
        const std::string& target = targets[(i + size_t(round)) % targets.size()];
        Transfer transfer;
        transfer.round = round;
        ok = download(base[target] + "/big", target, kubectlOf[target], watched, bigBytes,
                      files.path() + "/curl.out", transfer);
        if (ok) {
          progress("port-forward round %d %-9s %8.1f MB/s (%.2f s)", round, target.c_str(),
                   transfer.mbPerSecond, transfer.seconds);
          transfers[target].push_back(transfer);
        }
      }
    if (!ok || interrupted) break;
    json portForward = {{"bytes", bigBytes}, {"runs", options.runs}, {"goal_ratio_min", 0.5}};
    std::map<std::string, double> medians;
    for (const auto& target : targets) {
      std::vector<double> rates;
      json runs = json::array();
      std::map<std::string, std::vector<double>> cpu, switches;
      for (const auto& t : transfers[target]) {
        rates.push_back(t.mbPerSecond);
        runs.push_back({{"round", t.round},
                        {"mb_per_s", round2(t.mbPerSecond)},
                        {"seconds", round3(t.seconds)},
                        {"cpu", t.cpu},
                        {"context_switches", t.switches}});
        double gib = double(t.bytes) / double(1 << 30);
        for (const auto& [name, value] : t.cpu.items())
          if (name.size() > 2 && name.substr(name.size() - 2) == "_s")
            cpu[name].push_back(value.get<double>() / gib);
        for (const auto& [name, value] : t.switches.items())
          switches[name].push_back(value.get<double>() / gib);
      }
      medians[target] = median(rates);
      json cpuPerGiB = json::object();
      for (const auto& [name, values] : cpu)
        cpuPerGiB[name.substr(0, name.size() - 2) + "_s_per_gib"] = round3(median(values));
      json switchesPerGiB = json::object();
      for (const auto& [name, values] : switches)
        switchesPerGiB[name + "_per_gib"] = std::round(median(values));
      portForward[target] = {{"median_mb_per_s", round2(medians[target])},
                             {"cpu_median", cpuPerGiB},
                             {"context_switches_median", switchesPerGiB},
                             {"runs", runs}};
    }
    portForward["ratio_websocket_to_direct"] = round3(medians["websocket"] / medians["direct"]);
    portForward["ratio_spdy_to_direct"] = round3(medians["spdy"] / medians["direct"]);
    portForward["goal_met_websocket"] = medians["websocket"] >= 0.5 * medians["direct"];
    portForward["goal_met_spdy"] = medians["spdy"] >= 0.5 * medians["direct"];
    // A small request on a new connection each time: for a port-forward,
    // a new stream pair in the session before the first byte.
    std::map<std::string, std::vector<double>> smallMs;
    for (int run = 0; run < options.execRuns && ok && !interrupted; ++run)
      for (size_t i = 0; i < targets.size() && ok; ++i) {
        const std::string& target = targets[(i + size_t(run)) % targets.size()];
        Output out = capture({"curl", "-s", "--max-time", "20", "-o", "/dev/null", "-w",
                              "%{http_code} %{time_total}", base[target] + "/small"});
        std::istringstream fields(out.text);
        int code = 0;
        double seconds = 0;
        fields >> code >> seconds;
        if (out.exitCode != 0 || code != 200) {
          progress("%s: /small answered %d (curl exit %d)", target.c_str(), code, out.exitCode);
          ok = false;
        }
        smallMs[target].push_back(seconds * 1000);
      }
    if (!ok || interrupted) break;
    json small = {{"bytes", 11}, {"what", "curl time_total of GET /small on a new connection"}};
    for (const auto& target : targets) small[target] = latencySummary(smallMs[target]);
    portForward["small_request"] = small;
    progress("small request p50: direct %.1f ms, WebSocket %.1f ms, SPDY %.1f ms",
             percentile(smallMs["direct"], 50), percentile(smallMs["websocket"], 50),
             percentile(smallMs["spdy"], 50));
    result["port_forward"] = portForward;
    for (auto& forward : forwards) forward.process.stop();
    forwards.clear();

    // ---- exec against get ----
    const std::vector<std::string> rows{"get", "exec_websocket", "exec_spdy"};
    std::map<std::string, std::vector<std::string>> commands = {
        {"get", cluster.kubectl({"get", "pod", "files"})},
        {"exec_websocket", cluster.kubectl({"exec", "files", "--", "true"})},
        {"exec_spdy", cluster.kubectl({"exec", "files", "--", "true"},
                                      {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"})}};
    // One untimed run of each first (page cache, kubectl's discovery cache).
    for (const auto& row : rows)
      if (int code = timedRun(commands[row]).exitCode; code != 0) {
        progress("%s exited %d", row.c_str(), code);
        ok = false;
      }
    std::map<std::string, std::vector<double>> times;
    CpuCensus execCensus;
    execCensus.start();
    auto execStart = Clock::now();
    for (int run = 0; run < options.execRuns && ok && !interrupted; ++run)
      for (size_t i = 0; i < rows.size() && ok; ++i) {
        const std::string& row = rows[(i + size_t(run)) % rows.size()];
        Timed timed = timedRun(commands[row]);
        if (timed.exitCode != 0) {
          progress("%s exited %d", row.c_str(), timed.exitCode);
          ok = false;
        }
        times[row].push_back(timed.ms);
      }
    if (!ok || interrupted) break;
    json exec = {{"command", "kubectl exec files -- true"},
                 {"reference", "kubectl get pod files"},
                 {"goal_ratio_max", 2.0},
                 {"machine", execCensus.finish(
                                 std::chrono::duration<double>(Clock::now() - execStart).count())}};
    for (const auto& row : rows) exec[row] = latencySummary(times[row]);
    double getP50 = percentile(times["get"], 50);
    for (const std::string row : {"exec_websocket", "exec_spdy"}) {
      double ratio = percentile(times[row], 50) / getP50;
      exec["ratio_" + row + "_to_get_p50"] = round3(ratio);
      exec["goal_met_" + row.substr(5)] = ratio < 2.0;
      exec[row + "_minus_get_p50_ms"] = round2(percentile(times[row], 50) - getP50);
    }
    progress("exec p50: get %.1f ms, exec (WebSocket) %.1f ms, exec (SPDY) %.1f ms", getP50,
             percentile(times["exec_websocket"], 50), percentile(times["exec_spdy"], 50));
    result["exec"] = exec;

    // ---- logs (extra) ----
    if (options.logs) {
      std::string token = firstLine(readFile(cluster.pki("admin.token")));
      std::string nodeIp;
      Output nodeOut =
          cluster.run({"get", "node", logsNode, "-o",
                       "jsonpath={.status.addresses[?(@.type==\"InternalIP\")].address}"});
      nodeIp = firstLine(nodeOut.text);
      std::map<std::string, std::vector<std::string>> logCommands = {
          {"kubectl_logs", cluster.kubectl({"logs", "logs"})},
          {"curl_apiserver",
           {"curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "--cacert",
            cluster.pki("ca.crt"), "-H", "Authorization: Bearer " + token,
            "https://172.30.0.1:6443/api/v1/namespaces/default/pods/logs/log"}},
          {"curl_node_api",
           {"curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "--cacert",
            cluster.pki("ca.crt"), "--cert", cluster.pki("kubelet-client.crt"), "--key",
            cluster.pki("kubelet-client.key"),
            "https://" + nodeIp + ":10250/containerLogs/default/logs/main"}}};
      const std::vector<std::string> logRows{"kubectl_logs", "curl_apiserver", "curl_node_api"};
      std::map<std::string, std::vector<double>> logTimes;
      std::map<std::string, long> logSizes;
      std::string outFile = files.path() + "/logs.out";
      for (int run = 0; run <= options.logRuns && ok && !interrupted; ++run)
        for (size_t i = 0; i < logRows.size() && ok; ++i) {
          const std::string& row = logRows[(i + size_t(run)) % logRows.size()];
          Timed timed = timedRun(logCommands[row], outFile);
          long size = row == "kubectl_logs" ? long(fs::file_size(outFile))
                                            : std::atol(readFile(outFile).c_str());
          if (timed.exitCode != 0 || size != long(kLogBytes)) {
            progress("%s: exit %d, %ld bytes of %zu", row.c_str(), timed.exitCode, size, kLogBytes);
            ok = false;
          }
          logSizes[row] = size;
          if (run > 0) logTimes[row].push_back(timed.ms);  // run 0: warm-up
        }
      if (!ok || interrupted) break;
      json logs = {{"bytes", kLogBytes}, {"node", logsNode}};
      for (const auto& row : logRows) {
        json summary = latencySummary(logTimes[row]);
        summary["mb_per_s_at_p50"] =
            round2(double(kLogBytes) / (summary["p50_ms"].get<double>() / 1000) / 1e6);
        logs[row] = summary;
      }
      result["logs"] = logs;
    }
    result["machine"]["load_after"] = loadAverage();
    status = 0;
  } while (false);

  for (auto& forward : forwards) forward.process.stop();
  forwards.clear();
  cluster.down();
  if (interrupted) {
    progress("interrupted");
    return 130;
  }
  if (status != 0) result["error"] = "failed; see stderr";
  std::printf("%s\n", result.dump().c_str());
  return status;
}
