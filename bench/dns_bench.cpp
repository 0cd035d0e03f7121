// Cluster DNS throughput and latency: podnet dns against knot, nsd, unbound and
// dnsmasq, all serving the same generated cluster.local (bench/dns/), measured
// with dnsperf on loopback with the same client settings, one server at a time.
//
// Every server starts on its own free 127.0.0.1 port with its config in a temp
// dir; once it answers, dig spot-checks its answers (a server that answers
// NXDOMAIN or REFUSED for everything must not "win"). Then, in --rounds rounds,
// dnsperf runs each query mix at full speed against each server in turn for
// seconds/rounds (turns, so load drifting on the shared machine hits all alike):
// queries/s, average/max latency, lost queries, response codes compared with
// the codes the mix must get, the server's CPU time. Last, per server and mix, a
// run at a fixed rate with per-query latencies (-v) for percentiles, and
// --serial-queries queries one at a time from fresh sockets (a pod's
// resolver) for round-trip percentiles. Servers are stopped by pid and the
// temp dir removed, also on failure or Ctrl-C.
// Prints one JSON document.
//
// Usage: sudo build/bench/dns_bench [--seconds S] [--services N] [--threads T]
//          [--servers podnet,knot,nsd,unbound,dnsmasq] [--podnet PATH]
//          [--podnet-nometrics PATH] (server podnet-nometrics: a -DPODNET_METRICS=OFF
//          build, to measure what counting costs)
//          [--clients C] [--client-threads T] [--outstanding Q]
//          [--rounds R] [--latency-rate QPS] [--latency-seconds S] [--keep-dir]
//          [--serial-queries N] [--affinity on|off]
// --affinity (default on): every server that has a CPU-affinity option runs
// with it (podnet --cpu-affinity, knot socket-affinity, nsd cpu-affinity).
// Peers come from scripts/setup_bench.sh. Nothing is forwarded anywhere.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dns/peers.h"
#include "dns/zone_generator.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// ---- processes ----------------------------------------------------------

// Every process we started and have not reaped; the signal handler ends them.
constexpr int kMaxChildren = 16;
std::atomic<pid_t> children[kMaxChildren];
volatile sig_atomic_t interrupted = 0;

void track(pid_t pid) {
  for (auto& slot : children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

void untrack(pid_t pid) {
  for (auto& slot : children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void onSignal(int) {
  interrupted = 1;
  for (auto& slot : children)
    if (pid_t pid = slot.load(); pid > 0) kill(pid, SIGTERM);
}

// fork + exec with stdout and stderr to `logPath` (or /dev/null); the child
// gets SIGTERM if dns_bench dies, so nothing outlives the run.
pid_t spawn(const std::vector<std::string>& argv, const std::string& logPath) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int out = open(logPath.empty() ? "/dev/null" : logPath.c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execv(args[0], args.data());
    _exit(127);
  }
  if (pid > 0) track(pid);
  return pid;
}

// Exit code, or -1 while running.
int exited(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) return -1;
  untrack(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (exited(pid) >= 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  untrack(pid);
}

struct Output {
  int exitCode = -1;
  std::string out;
};

// Runs a command to completion, collecting stdout+stderr.
Output capture(const std::vector<std::string>& argv) {
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) return {};
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(in, 0);
    dup2(pipeFds[1], 1);
    dup2(pipeFds[1], 2);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipeFds[1]);
  if (pid < 0) {
    close(pipeFds[0]);
    return {};
  }
  track(pid);
  Output result;
  char buffer[65536];
  ssize_t n;
  while ((n = read(pipeFds[0], buffer, sizeof buffer)) > 0 ||
         (n < 0 && errno == EINTR && !interrupted))
    if (n > 0) result.out.append(buffer, size_t(n));
  close(pipeFds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  untrack(pid);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// The server's process tree (nsd forks its workers): pids whose parent chain
// reaches `root`.
std::vector<pid_t> processTree(pid_t root) {
  std::map<pid_t, pid_t> parent;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    parent[std::stoi(name)] = ppid;
  }
  std::vector<pid_t> tree;
  for (const auto& [pid, ppid] : parent) {
    for (pid_t p = pid; p > 1; p = parent.count(p) ? parent[p] : 0)
      if (p == root) {
        tree.push_back(pid);
        break;
      }
  }
  return tree;
}

// utime+stime of the tree, in seconds.
double cpuSeconds(pid_t root) {
  double ticks = 0;
  for (pid_t pid : processTree(root)) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    std::vector<std::string> fields;
    while (rest >> field) fields.push_back(field);
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    if (fields.size() > 12) ticks += std::stod(fields[11]) + std::stod(fields[12]);
  }
  return ticks / double(sysconf(_SC_CLK_TCK));
}

double rssMiB(pid_t root) {
  double kib = 0;
  for (pid_t pid : processTree(root)) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmRSS:", 0) == 0) kib += std::stod(line.substr(6));
  }
  return kib / 1024;
}

// A port free for both UDP and TCP on 127.0.0.1 right now.
int freePort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      close(udp);
      continue;
    }
    int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool tcpFree = bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(tcp);
    close(udp);
    if (tcpFree) return ntohs(addr.sin_port);
  }
  return -1;
}

// ---- dig ----------------------------------------------------------------

struct DigAnswer {
  std::string status;                // NOERROR NXDOMAIN ... or "" (no reply)
  std::vector<std::string> answers;  // RDATA of the answer section
  bool soaInAuthority = false;
};

DigAnswer dig(int port, const std::string& name, const std::string& type, int timeoutSeconds = 1) {
  Output out = capture({"dig", "@127.0.0.1", "-p", std::to_string(port), "+tries=1",
                        "+time=" + std::to_string(timeoutSeconds), "+norecurse", "+noall",
                        "+comments", "+answer", "+authority", name, type});
  DigAnswer answer;
  std::istringstream lines(out.out);
  std::string line, section;
  while (std::getline(lines, line)) {
    if (auto at = line.find("status: "); at != std::string::npos) {
      answer.status = line.substr(at + 8, line.find(',', at) - at - 8);
    } else if (line.rfind(";; ANSWER SECTION", 0) == 0) {
      section = "answer";
    } else if (line.rfind(";; AUTHORITY SECTION", 0) == 0) {
      section = "authority";
    } else if (!line.empty() && line[0] != ';') {
      std::istringstream fields(line);
      std::string owner, ttl, klass, rtype, rest;
      fields >> owner >> ttl >> klass >> rtype;
      std::getline(fields, rest);
      rest.erase(0, rest.find_first_not_of(" \t"));
      if (section == "answer" && rtype == type) answer.answers.push_back(rest);
      if (section == "authority" && rtype == "SOA") answer.soaInAuthority = true;
    }
  }
  return answer;
}

// ---- dnsperf ------------------------------------------------------------

struct ClientSettings {
  int clients = 8;
  int threads = 2;
  int outstanding = 200;
};

double numberAfter(const std::string& text, const std::string& key) {
  auto at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + key.size(), nullptr);
}

// "Response codes:       NOERROR 700 (70.00%), NXDOMAIN 300 (30.00%)"
std::map<std::string, double> responseCodes(const std::string& text) {
  std::map<std::string, double> codes;
  auto at = text.find("Response codes:");
  if (at == std::string::npos) return codes;
  std::istringstream line(text.substr(at + 15, text.find('\n', at) - at - 15));
  std::string code, count, share;
  while (line >> code >> count >> share) codes[code] = std::strtod(count.c_str(), nullptr);
  return codes;
}

json dnsperfThroughput(int port, const std::string& input, int seconds,
                       const ClientSettings& client) {
  Output out = capture({"dnsperf", "-s", "127.0.0.1", "-p", std::to_string(port), "-d", input, "-l",
                        std::to_string(seconds), "-c", std::to_string(client.clients), "-T",
                        std::to_string(client.threads), "-q", std::to_string(client.outstanding),
                        "-t", "2"});
  json result{{"qps", numberAfter(out.out, "Queries per second:")},
              {"sent", numberAfter(out.out, "Queries sent:")},
              {"completed", numberAfter(out.out, "Queries completed:")},
              {"lost", numberAfter(out.out, "Queries lost:")},
              {"run_seconds", numberAfter(out.out, "Run time (s):")},
              {"avg_latency_ms", numberAfter(out.out, "Average Latency (s):") * 1000},
              {"max_latency_ms",
               numberAfter(out.out, "(min ") >= 0 ? numberAfter(out.out, ", max ") * 1000 : -1},
              {"stddev_latency_ms", numberAfter(out.out, "Latency StdDev (s):") * 1000},
              {"rcodes", responseCodes(out.out)}};
  if (out.exitCode != 0 || result["qps"].get<double>() < 0)
    result["error"] =
        "dnsperf exit " + std::to_string(out.exitCode) + ": " + out.out.substr(0, 400);
  return result;
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return -1;
  size_t index = size_t(p * double(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// dnsperf -v prints one line per answered query; its last field is the latency
// in seconds ("> NOERROR app-1.prod.svc.cluster.local A 0.000123").
json dnsperfLatency(int port, const std::string& input, int seconds, int rate,
                    const ClientSettings& client) {
  Output out = capture({"dnsperf",
                        "-s",
                        "127.0.0.1",
                        "-p",
                        std::to_string(port),
                        "-d",
                        input,
                        "-l",
                        std::to_string(seconds),
                        "-c",
                        std::to_string(client.clients),
                        "-T",
                        "1",
                        "-q",
                        std::to_string(client.outstanding),
                        "-Q",
                        std::to_string(rate),
                        "-t",
                        "2",
                        "-v"});
  std::vector<double> latencies;
  std::istringstream lines(out.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("> ", 0) != 0) continue;
    auto space = line.find_last_of(' ');
    latencies.push_back(std::strtod(line.c_str() + space + 1, nullptr) * 1000);
  }
  std::sort(latencies.begin(), latencies.end());
  json result{{"rate", rate},
              {"samples", latencies.size()},
              {"p50_ms", percentile(latencies, 0.5)},
              {"p99_ms", percentile(latencies, 0.99)},
              {"p999_ms", percentile(latencies, 0.999)},
              {"max_ms", latencies.empty() ? -1 : latencies.back()},
              {"lost", numberAfter(out.out, "Queries lost:")},
              // The server could not keep up with the rate: the figures are queueing.
              {"saturated", double(latencies.size()) < 0.9 * rate * seconds}};
  if (out.exitCode != 0 || latencies.empty())
    result["error"] =
        "dnsperf exit " + std::to_string(out.exitCode) + ": " + out.out.substr(0, 400);
  return result;
}

// One query at a time, as a pod's resolver asks: a fresh UDP socket per
// query (glibc opens one per lookup), send, block until the answer comes.
// Round-trip times in ms; measured here rather than with dnsperf, whose
// smallest load still keeps several queries in flight.
json serialLatency(int port, const dnsbench::QueryMix& mix, int count) {
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons(uint16_t(port));
  std::vector<double> latencies;
  int timeouts = 0;
  for (int i = 0; i < count && !interrupted; ++i) {
    const auto& q = mix.queries[size_t(i) % mix.queries.size()];
    std::string packet{char(i >> 8), char(i), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};  // RD, 1 question
    for (size_t start = 0; start <= q.name.size();) {
      size_t dot = std::min(q.name.find('.', start), q.name.size());
      packet += char(dot - start) + q.name.substr(start, dot - start);
      start = dot + 1;
    }
    uint16_t qtype = q.type == "AAAA" ? 28 : q.type == "SRV" ? 33 : 1;
    packet += std::string{0, char(qtype >> 8), char(qtype), 0, 1};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    timeval timeout{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char reply[4096];
    auto start = Clock::now();
    sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&server),
           sizeof server);
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    auto took = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    close(fd);
    if (n < 12 || reply[0] != packet[0] || reply[1] != packet[1])
      ++timeouts;
    else
      latencies.push_back(took);
  }
  std::sort(latencies.begin(), latencies.end());
  return {{"queries", count},
          {"p50_ms", percentile(latencies, 0.5)},
          {"p90_ms", percentile(latencies, 0.9)},
          {"p99_ms", percentile(latencies, 0.99)},
          {"max_ms", latencies.empty() ? -1 : latencies.back()},
          {"unanswered", timeouts}};
}

// The response codes dnsperf saw must be the mix's: nothing but NOERROR and
// NXDOMAIN, and the NOERROR share within 1 point of what the zone gives for the
// queries sent (lost queries blur it a little).
std::string checkResponseCodes(const json& run, const dnsbench::QueryMix& mix) {
  double total = 0, noerror = 0;
  for (const auto& [code, count] : run["rcodes"].items()) {
    total += count.get<double>();
    if (code == "NOERROR")
      noerror = count.get<double>();
    else if (code != "NXDOMAIN")
      return code + " answers";
  }
  if (total <= 0) return "no answers";
  double share = noerror / total;
  double expected = mix.noerrorFractionOfFirst(size_t(run.value("sent", 0.0)));
  if (std::abs(share - expected) > 0.01) {
    char text[128];
    snprintf(text, sizeof text, "NOERROR share %.3f, the zone gives %.3f", share, expected);
    return text;
  }
  return "";
}

// ---- spot checks ----------------------------------------------------------

// A few names whose answers we know, asked with dig before the load: A, SRV,
// NODATA for AAAA, NXDOMAIN for a missing service and a search-path miss.
std::vector<std::string> spotCheck(int port, const std::vector<dnsbench::Service>& services) {
  std::vector<std::string> failures;
  auto fail = [&](const std::string& what) { failures.push_back(what); };
  for (size_t i : {size_t(0), services.size() / 3, services.size() - 1}) {
    const auto& s = services[i];
    DigAnswer a = dig(port, s.fqdn(), "A");
    if (a.status != "NOERROR" || a.answers.size() != 1 ||
        a.answers[0] != dnsbench::ipv4(s.clusterIp))
      fail("A " + s.fqdn() + ": " + a.status + " " + (a.answers.empty() ? "" : a.answers[0]));
  }
  const auto& s = services[services.size() / 2];
  DigAnswer upper = dig(port, "APP-" + s.name.substr(4) + "." + s.ns + ".SVC.cluster.local", "A");
  if (upper.status != "NOERROR" || upper.answers.size() != 1)
    fail("A in upper case: " + upper.status);
  DigAnswer srv = dig(port, dnsbench::srvOwner(s, dnsbench::kPorts[0]), "SRV");
  if (srv.status != "NOERROR" || srv.answers.size() != 1 ||
      srv.answers[0].find(" 80 " + s.fqdn() + ".") == std::string::npos)
    fail("SRV " + dnsbench::srvOwner(s, dnsbench::kPorts[0]) + ": " + srv.status + " " +
         (srv.answers.empty() ? "" : srv.answers[0]));
  DigAnswer aaaa = dig(port, s.fqdn(), "AAAA");
  if (aaaa.status != "NOERROR" || !aaaa.answers.empty())
    fail("AAAA " + s.fqdn() + " (NODATA expected): " + aaaa.status);
  for (const std::string& missing : std::vector<std::string>{
           "no-such-service." + s.ns + ".svc.cluster.local",
           "example.com.default.svc.cluster.local", "example.com.cluster.local"}) {
    DigAnswer nx = dig(port, missing, "A");
    if (nx.status != "NXDOMAIN") fail("A " + missing + " (NXDOMAIN expected): " + nx.status);
  }
  DigAnswer txt = dig(port, "dns-version.cluster.local", "TXT");
  if (txt.status != "NOERROR" || txt.answers.empty() || txt.answers[0] != "\"1.1.0\"")
    fail("TXT dns-version.cluster.local: " + txt.status);
  return failures;
}

// ---- the run ------------------------------------------------------------

struct Options {
  int seconds = 10;
  int services = 10000;
  int threads = 2;
  int latencyRate = 20000;
  int latencySeconds = 3;
  int serialQueries = 5000;
  int rounds = 5;
  bool keepDir = false;
  bool affinity = true;  // every server with its CPU-affinity option on (bench/dns/peers.h)
  std::vector<std::string> servers{"podnet", "knot", "nsd", "unbound", "dnsmasq"};
  std::string podnet = PODNET_BINARY;
  std::string podnetNoMetrics = "build-nometrics/podnet";  // --podnet-nometrics
  ClientSettings client;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, separator))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--keep-dir") {
      options.keepDir = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    std::string value = argv[++i];
    auto number = [&](int& target) {
      target = atoi(value.c_str());
      return target > 0;
    };
    bool ok = true;
    if (flag == "--seconds")
      ok = number(options.seconds);
    else if (flag == "--services")
      ok = number(options.services);
    else if (flag == "--threads")
      ok = number(options.threads);
    else if (flag == "--latency-rate")
      ok = number(options.latencyRate);
    else if (flag == "--latency-seconds")
      ok = number(options.latencySeconds);
    else if (flag == "--serial-queries")
      ok = number(options.serialQueries);
    else if (flag == "--rounds")
      ok = number(options.rounds);
    else if (flag == "--clients")
      ok = number(options.client.clients);
    else if (flag == "--client-threads")
      ok = number(options.client.threads);
    else if (flag == "--outstanding")
      ok = number(options.client.outstanding);
    else if (flag == "--servers")
      options.servers = split(value, ',');
    else if (flag == "--podnet")
      options.podnet = value;
    else if (flag == "--podnet-nometrics")
      options.podnetNoMetrics = value;
    else if (flag == "--affinity" && (value == "on" || value == "off"))
      options.affinity = value == "on";
    else
      return false;
    if (!ok) return false;
  }
  return true;
}

std::string tail(const std::string& path, size_t bytes = 600) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    fprintf(
        stderr,
        "usage: dns_bench [--seconds S] [--services N] [--threads T] [--servers a,b,...]\n"
        "                 [--podnet PATH] [--clients C] [--client-threads T] "
        "[--outstanding Q]\n"
        "                 [--rounds R] [--latency-rate QPS] [--latency-seconds S] [--keep-dir]\n"
        "                 [--serial-queries N] [--affinity on|off]\n"
        "servers: podnet knot nsd unbound dnsmasq (install the peers with "
        "scripts/setup_bench.sh)\n");
    return 2;
  }
  if (capture({"dnsperf", "-h"}).out.find("dnsperf") == std::string::npos ||
      capture({"dig", "-v"}).exitCode != 0) {
    fprintf(stderr, "dns_bench: dnsperf and dig are needed: run scripts/setup_bench.sh\n");
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);

  // The zone, in every format, and the query mixes; checked before any load.
  auto generateStart = Clock::now();
  const auto services = dnsbench::generateServices(options.services);
  const auto records = dnsbench::zoneRecords(services);
  std::vector<dnsbench::QueryMix> mixes{dnsbench::fqdnMix(services, 100000, 1),
                                        dnsbench::searchPathMix(services, 100000, 2)};
  if (std::string problem = dnsbench::selfCheck(services, records, mixes); !problem.empty()) {
    fprintf(stderr, "dns_bench: zone generator self-check failed: %s\n", problem.c_str());
    return 1;
  }
  char dirTemplate[] = "/tmp/dns-bench-XXXXXX";
  if (!mkdtemp(dirTemplate)) {
    perror("dns_bench: mkdtemp");
    return 1;
  }
  const std::string root = dirTemplate;
  fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  auto writeFile = [](const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  };
  const std::string objectsYaml = dnsbench::objectsYamlDocuments(dnsbench::objectsList(services));
  const std::string zoneFile = dnsbench::rfc1035Zone(records);
  const std::string localData = dnsbench::unboundLocalData(records);
  const std::string dnsmasqHosts = dnsbench::dnsmasqHosts(services);
  const std::string dnsmasqRecords = dnsbench::dnsmasqRecords(services);
  json mixReport = json::object();
  for (const auto& mix : mixes) {
    writeFile(root + "/" + mix.label + ".queries", mix.dnsperfInput());
    mixReport[mix.label] = {{"description", mix.description},
                            {"queries_in_file", mix.queries.size()},
                            {"noerror_share", mix.noerrorFraction()}};
  }
  double generateSeconds = std::chrono::duration<double>(Clock::now() - generateStart).count();

  json report{
      {"bench", "dns"},
      {"services", options.services},
      {"endpoints_per_service", dnsbench::kEndpointsPerService},
      {"namespaces", dnsbench::kNamespaces.size()},
      {"zone_records", records.size()},
      {"objects_yaml_bytes", objectsYaml.size()},
      {"generate_seconds", generateSeconds},
      {"seconds", options.seconds},
      {"rounds", options.rounds},
      {"server_threads", options.threads},
      {"cpu_affinity", options.affinity},
      {"client",
       {{"tool", firstLine(capture({"dnsperf", "-h"})
                               .out.substr(capture({"dnsperf", "-h"}).out.find("Version")))},
        {"clients", options.client.clients},
        {"threads", options.client.threads},
        {"outstanding", options.client.outstanding}}},
      {"latency_phase", {{"rate", options.latencyRate}, {"seconds", options.latencySeconds}}},
      {"mixes", mixReport},
      {"servers", json::object()}};

  // 1. Start every server (each on its own port; idle ones cost no CPU), wait
  // until it answers, spot-check it.
  struct Running {
    std::string label;
    int port;
    pid_t pid;
    std::string log;
  };
  std::vector<Running> running;
  int failures = 0;
  for (const auto& label : options.servers) {
    if (interrupted) break;
    const std::string dir = root + "/" + label;
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
    const int port = freePort();
    dnsbench::ServerSetup setup;
    if (label == "podnet" || label == "podnet-nometrics") {
      // podnet-nometrics: a build with -DPODNET_METRICS=OFF, for what counting costs.
      setup = dnsbench::podnetSetup(label == "podnet" ? options.podnet : options.podnetNoMetrics,
                                    dir, port, options.threads, objectsYaml, options.affinity);
    } else if (label == "knot") {
      setup = dnsbench::knotSetup(dir, port, options.threads, zoneFile, options.affinity);
    } else if (label == "nsd") {
      setup = dnsbench::nsdSetup(dir, port, options.threads, zoneFile, options.affinity);
    } else if (label == "unbound") {
      setup = dnsbench::unboundSetup(dir, port, options.threads, localData);
    } else if (label == "dnsmasq") {
      setup = dnsbench::dnsmasqSetup(dir, port, dnsmasqHosts, dnsmasqRecords);
    } else {
      fprintf(stderr, "dns_bench: unknown server %s\n", label.c_str());
      ++failures;
      continue;
    }
    json result{{"port", port}, {"command", setup.argv}};
    if (!setup.notes.empty()) result["notes"] = setup.notes;
    if (!setup.versionCommand.empty())
      result["version"] = firstLine(capture(split(setup.versionCommand, ' ')).out);
    else  // podnet: the last commit of src/dns in the tree the bench was built from
      result["version"] = firstLine(capture({"git", "-C", fs::path(__FILE__).parent_path().string(),
                                             "log", "-1", "--format=%h %cI %s", "--", "../src/dns"})
                                        .out);
    for (const auto& [name, content] : setup.files) writeFile(dir + "/" + name, content);
    if (access(setup.argv[0].c_str(), X_OK) != 0) {
      result["error"] = setup.argv[0] + " is not installed (scripts/setup_bench.sh)";
      report["servers"][label] = result;
      ++failures;
      continue;
    }
    fprintf(stderr, "dns_bench: %s on 127.0.0.1:%d\n", label.c_str(), port);

    const std::string log = dir + "/server.log";
    auto startTime = Clock::now();
    pid_t pid = spawn(setup.argv, log);
    // Ready when it answers a Service's A record; SERVFAIL (podnet before its
    // first sync) or silence means not yet. Zone loading takes a few seconds.
    std::string startError;
    for (;;) {
      if (int code = exited(pid); code >= 0) {
        startError = "exited with " + std::to_string(code) + ": " + tail(log);
        pid = 0;
        break;
      }
      if (interrupted) {
        startError = "interrupted";
        break;
      }
      if (std::chrono::duration<double>(Clock::now() - startTime).count() > 60) {
        startError = "did not answer within 60 s: " + tail(log);
        break;
      }
      DigAnswer a = dig(port, services[0].fqdn(), "A");
      if (a.status == "NOERROR" && !a.answers.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    result["startup_seconds"] = std::chrono::duration<double>(Clock::now() - startTime).count();
    if (!startError.empty()) {
      result["error"] = startError;
      fprintf(stderr, "dns_bench: %s: %s\n", label.c_str(), startError.c_str());
      stop(pid);
      report["servers"][label] = result;
      ++failures;
      continue;
    }
    auto spotFailures = spotCheck(port, services);
    result["spot_check_failures"] = spotFailures;
    result["correct"] = spotFailures.empty();
    result["rss_mib_loaded"] = rssMiB(pid);
    result["runs"] = json::object();
    report["servers"][label] = result;
    running.push_back({label, port, pid, log});
  }

  // 2. Throughput: --rounds rounds; in each, every mix against every server
  // for seconds/rounds, the servers taking turns, so load from elsewhere on the
  // machine drifting during the run hits all of them alike. Per mix and server
  // the slices add up: queries/s = completed / run time over all slices.
  const int slice = std::max(1, options.seconds / options.rounds);
  for (int round = 0; round < options.rounds && !interrupted; ++round) {
    for (const auto& mix : mixes) {
      const std::string input = root + "/" + mix.label + ".queries";
      for (const auto& server : running) {
        if (interrupted) break;
        json& result = report["servers"][server.label];
        double cpuBefore = cpuSeconds(server.pid);
        json run = dnsperfThroughput(server.port, input, slice, options.client);
        double cpu = cpuSeconds(server.pid) - cpuBefore;
        std::string problem = checkResponseCodes(run, mix);
        if (!problem.empty()) result["correct"] = false;
        json& total = result["runs"][mix.label];
        if (total.is_null())
          total = {{"completed", 0.0},
                   {"sent", 0.0},
                   {"lost", 0.0},
                   {"run_seconds", 0.0},
                   {"latency_sum_s", 0.0},
                   {"max_latency_ms", 0.0},
                   {"server_cpu_seconds", 0.0},
                   {"rcodes", json::object()},
                   {"qps_per_round", json::array()}};
        double completed = std::max(0.0, run.value("completed", 0.0));
        total["completed"] = total["completed"].get<double>() + completed;
        total["sent"] = total["sent"].get<double>() + std::max(0.0, run.value("sent", 0.0));
        total["lost"] = total["lost"].get<double>() + std::max(0.0, run.value("lost", 0.0));
        total["run_seconds"] =
            total["run_seconds"].get<double>() + std::max(0.0, run.value("run_seconds", 0.0));
        total["latency_sum_s"] = total["latency_sum_s"].get<double>() +
                                 completed * std::max(0.0, run.value("avg_latency_ms", 0.0)) / 1000;
        total["max_latency_ms"] =
            std::max(total["max_latency_ms"].get<double>(), run.value("max_latency_ms", 0.0));
        total["server_cpu_seconds"] = total["server_cpu_seconds"].get<double>() + cpu;
        for (const auto& [code, count] : run["rcodes"].items())
          total["rcodes"][code] = total["rcodes"].value(code, 0.0) + count.get<double>();
        total["qps_per_round"].push_back(std::round(run.value("qps", 0.0)));
        if (!problem.empty()) total["rcode_mismatch"] = problem;
        if (run.contains("error")) total["error"] = run["error"];
        fprintf(stderr, "dns_bench: round %d %s %s: %.0f queries/s\n", round + 1,
                server.label.c_str(), mix.label.c_str(), run.value("qps", 0.0));
      }
    }
  }
  for (const auto& server : running) {
    json& result = report["servers"][server.label];
    for (auto& [label, total] : result["runs"].items()) {
      double seconds = total["run_seconds"].get<double>(), done = total["completed"].get<double>();
      total["qps"] = seconds > 0 ? done / seconds : 0;
      total["avg_latency_ms"] = done > 0 ? total["latency_sum_s"].get<double>() / done * 1000 : -1;
      total["server_cpu_per_second"] =
          seconds > 0 ? total["server_cpu_seconds"].get<double>() / seconds : 0;
      total.erase("latency_sum_s");
    }
  }

  // 3. Latency at a fixed rate, per-query (-v), one server at a time.
  for (const auto& server : running) {
    for (const auto& mix : mixes) {
      if (interrupted) break;
      report["servers"][server.label]["runs"][mix.label]["latency_at_fixed_rate"] =
          dnsperfLatency(server.port, root + "/" + mix.label + ".queries", options.latencySeconds,
                         options.latencyRate, options.client);
    }
  }

  // 3b. Latency one query at a time (a blocking client), one server at a time.
  for (const auto& server : running)
    for (const auto& mix : mixes) {
      if (interrupted) break;
      report["servers"][server.label]["runs"][mix.label]["latency_one_at_a_time"] =
          serialLatency(server.port, mix, options.serialQueries);
    }

  // 4. Stop them all, by pid.
  for (const auto& server : running) {
    json& result = report["servers"][server.label];
    result["rss_mib_after"] = rssMiB(server.pid);
    if (exited(server.pid) >= 0) {
      result["error"] = "server died during the run: " + tail(server.log);
      result["correct"] = false;
    } else {
      stop(server.pid);
    }
    if (!result.value("correct", false)) ++failures;
  }

  // Who answered most queries per second, per mix, among the correct servers.
  json fastest = json::object();
  for (const auto& mix : mixes) {
    std::string best;
    double bestQps = -1;
    for (const auto& [label, result] : report["servers"].items()) {
      if (!result.value("correct", false) || !result["runs"].contains(mix.label)) continue;
      double qps = result["runs"][mix.label].value("qps", -1.0);
      if (qps > bestQps) bestQps = qps, best = label;
    }
    fastest[mix.label] = best;
  }
  report["fastest"] = fastest;
  if (interrupted) report["interrupted"] = true;

  if (options.keepDir) {
    report["dir"] = root;
  } else {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  printf("%s\n", report.dump(2).c_str());
  return failures || interrupted ? 1 : 0;
}
