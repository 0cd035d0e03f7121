// Ingress proxy throughput and latency: podnet ingress against nginx 1.22 and
// HAProxy 2.6, all in front of the same backend (nginx serving a 100-byte
// /small and a 64 KiB /big), measured with wrk on loopback: plain HTTP and
// TLS, each proxy with one worker thread, plus the backend directly as the
// reference row. Then a config-churn test: one configuration change per
// second while wrk runs, counting failed requests.
//
// Every process is started by the bench on free 127.0.0.1 ports with its
// config in a temp dir (bench/ingress/peers.h), checked with curl before any
// load (status and body size through every proxy, both schemes, both paths),
// and stopped by pid at the end, on failure or on a signal; the temp dir is
// removed. Cells run in rounds; within a cell the targets take turns in an
// order that rotates from cell to cell, so load drifting on the shared
// machine hits all of them alike. Per run: requests/s, p50/p90/p99 latency,
// errors (socket errors and statuses >= 400, as wrk counts them), bytes per
// response, the CPU the proxy and the backend used, and how many connections
// and requests reached the backend (its stub_status), which shows whether the
// proxy reused its upstream connections.
//
// Routes (issue 18): the routes-small cell sends GET /t999/small with
// x-tenant: t999 to a port where podnet serves 1,000 HTTPRoutes (PathPrefix
// /tN and header x-tenant: tN each) and nginx 1,000 equivalent locations.
//
// Churn: nginx gets a new location and SIGHUP, HAProxy (master-worker) a new
// rule and SIGUSR2, podnet a changed Ingress through an in-memory API
// (bench/ingress/memory_api.h explains why not through `podnet server`).
//
// Output: one JSON object per line on stdout (setup, one per run, one per
// churn test, summary); progress on stderr.
//
// Usage: build/bench/ingress_bench [--seconds S] [--rounds R] [--connections C]
//          [--churn-seconds S] [--targets podnet,nginx,haproxy,direct]
//          [--podnet-nometrics PATH] (target podnet-nometrics: a -DPODNET_METRICS=OFF build,
//          for what counting costs; not in the default targets)
//          [--cells http-small,http-big,https-small,https-big,routes-small] [--no-churn]
//          [--podnet PATH] [--keep-dir]
// Defaults: 5 s per run, 2 rounds, 10 s of churn per proxy (about 3.5 minutes in
// all). INGRESS_BENCH_SECONDS overrides the default of --seconds.
// Peers: scripts/setup_bench.sh (nginx-light, haproxy, wrk).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingress/memory_api.h"
#include "ingress/objects.h"
#include "ingress/peers.h"
#include "ingress/processes.h"
#include "ingress/wrk.h"
#include "pki/certificates.h"

namespace {

using namespace ingressbench;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kHaproxy = "/usr/sbin/haproxy";
constexpr const char* kWrk = "/usr/bin/wrk";

struct Options {
  int seconds = 5;
  int rounds = 2;
  int connections = 64;
  int churnSeconds = 10;
  bool churn = true;
  bool keepDir = false;
  std::vector<std::string> targets{"podnet", "nginx", "haproxy", "direct"};
  std::vector<std::string> cells{"http-small", "http-big", "https-small", "https-big",
                                 "routes-small"};
  std::string podnet = PODNET_BINARY;
  // Target podnet-nometrics: a -DPODNET_METRICS=OFF build, for what counting costs.
  std::string podnetNoMetrics = "build-nometrics/podnet";
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
  if (const char* seconds = getenv("INGRESS_BENCH_SECONDS"); seconds && atoi(seconds) > 0)
    options.seconds = atoi(seconds);
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--keep-dir") {
      options.keepDir = true;
      continue;
    }
    if (flag == "--no-churn") {
      options.churn = false;
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
    else if (flag == "--rounds")
      ok = number(options.rounds);
    else if (flag == "--connections")
      ok = number(options.connections);
    else if (flag == "--churn-seconds")
      ok = number(options.churnSeconds);
    else if (flag == "--targets")
      options.targets = split(value, ',');
    else if (flag == "--cells")
      options.cells = split(value, ',');
    else if (flag == "--podnet")
      options.podnet = value;
    else if (flag == "--podnet-nometrics")
      options.podnetNoMetrics = value;
    else
      return false;
    if (!ok) return false;
  }
  for (const auto& target : options.targets)
    if (target != "podnet" && target != "podnet-nometrics" && target != "nginx" &&
        target != "haproxy" && target != "direct")
      return false;
  for (const auto& cell : options.cells)
    if (cell != "http-small" && cell != "http-big" && cell != "https-small" &&
        cell != "https-big" && cell != "routes-small")
      return false;
  return true;
}

void progress(const char* format, auto... args) {
  std::fprintf(stderr, "ingress_bench: ");
  std::fprintf(stderr, format, args...);
  std::fprintf(stderr, "\n");
}

void emit(const json& line) {
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

// ---- what is measured --------------------------------------------------------

// One thing wrk sends load to: a proxy, or the backend itself.
struct Target {
  std::string label;
  std::string dir;
  int httpPort = 0, httpsPort = 0;
  int routesPort = 0;  // the routes cells (HTTP); 0: not served
  Child process;
  std::string log;
  json description;  // command, version, notes
};

// The routes cells: this many HTTPRoutes (nginx: locations), and the one
// the requests take (the last defined: the worst case for a list scan).
constexpr int kRoutes = 1000;
constexpr const char* kRoutePath = "/t999/small";
constexpr const char* kRouteHeader = "x-tenant: t999";

struct Cell {
  std::string label;   // http-small ...
  std::string scheme;  // http, https, or routes (HTTP to the routes port)
  std::string path;
  size_t bodyBytes;
  std::string header;  // one more request header ("" for none)
};

Cell cellFor(const std::string& label) {
  if (label == "routes-small") return {label, "routes", kRoutePath, kSmallBytes, kRouteHeader};
  bool tls = label.rfind("https", 0) == 0;
  bool big = label.find("big") != std::string::npos;
  return {label, tls ? "https" : "http", big ? "/big" : "/small", big ? kBigBytes : kSmallBytes,
          ""};
}

int portOf(const Target& target, const std::string& scheme) {
  return scheme == "https"    ? target.httpsPort
         : scheme == "routes" ? target.routesPort
                              : target.httpPort;
}

std::string urlOf(const Target& target, const std::string& scheme, const std::string& path) {
  return std::string(scheme == "https" ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(portOf(target, scheme)) + path;
}

// Status and body size of one request with curl, Host and SNI bench.local.
std::pair<int, long> curlGet(const Target& target, const std::string& scheme,
                             const std::string& path, const std::string& header = "") {
  int port = portOf(target, scheme);
  std::string host = std::string(kHost) + ":" + std::to_string(port);
  Output out = capture({"curl", "-sS", "-k", "--max-time", "3", "-o", "/dev/null", "-w",
                        "%{http_code} %{size_download}", "--resolve", host + ":127.0.0.1", "-H",
                        header.empty() ? "X-Bench: 1" : header,
                        std::string(scheme == "https" ? "https" : "http") + "://" + host + path});
  std::istringstream fields(out.text);
  int status = 0;
  long size = -1;
  fields >> status >> size;
  return {status, size};
}

// The TLS version, cipher and certificate subject a target presents to a
// client sending SNI 127.0.0.1, as wrk does.
json tlsSession(int port) {
  Output out = capture({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                        "-servername", "127.0.0.1", "-brief"},
                       "Q\n");
  json session = json::object();
  std::istringstream lines(out.text);
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "Protocol version") session["protocol"] = value;
    if (key == "Ciphersuite") session["cipher"] = value;
    if (key == "Peer certificate") session["certificate"] = value;
    if (key == "Peer Temp Key" || key == "Server Temp Key") session["key_exchange"] = value;
  }
  return session;
}

// The backend's stub_status counters: connections accepted, requests.
std::pair<double, double> backendCounters(int statusPort) {
  Output out = capture({"curl", "-sS", "--max-time", "3",
                        "http://127.0.0.1:" + std::to_string(statusPort) + "/status"});
  // "Active connections: 3 \nserver accepts handled requests\n 10 10 200 \n..."
  auto at = out.text.find("requests\n");
  if (at == std::string::npos) return {-1, -1};
  std::istringstream numbers(out.text.substr(at + 9));
  double accepts = -1, handled = -1, requests = -1;
  numbers >> accepts >> handled >> requests;
  return {accepts, requests};
}

// Runs wrk to its end; `whileRunning` is called about once per second.
json runWrk(const Options& options, const std::string& url, int seconds, const std::string& dir,
            const std::function<void(int)>& whileRunning = nullptr,
            const std::string& header = "") {
  const std::string log = dir + "/wrk.out";
  std::vector<std::string> argv{kWrk,
                                "-t1",
                                "-c" + std::to_string(options.connections),
                                "-d" + std::to_string(seconds) + "s",
                                "--latency",
                                "-H",
                                std::string("Host: ") + kHost};
  if (!header.empty()) argv.insert(argv.end(), {"-H", header});
  argv.push_back(url);
  Child wrk(argv, log);
  auto start = Clock::now();
  int tick = 0;
  while (wrk.exitCode() < 0) {
    if (interrupted) {
      wrk.stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (whileRunning && Clock::now() - start >= std::chrono::seconds(tick + 1) &&
        tick + 1 < seconds) {
      ++tick;
      whileRunning(tick);
    }
  }
  json result = parseWrk(readFile(log));
  if (wrk.exitCode() != 0) result["wrk_exit"] = wrk.exitCode();
  // wrk's own CPU: with one thread it can be the bottleneck (TLS cells).
  result["client_cpu_cores"] =
      wrk.cpuSecondsAtExit() / std::max(0.001, result.value("seconds", 0.0));
  return result;
}

// CPU seconds the whole machine spent busy so far (all CPUs, /proc/stat):
// around a run, what the measured processes did not use went elsewhere (the
// other processes of a shared machine).
double machineBusySeconds() {
  std::istringstream stat(readFile("/proc/stat"));
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq + steal) / double(sysconf(_SC_CLK_TCK));
}

double median(std::vector<double> values) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string podnetVersion() {
  // The last commit of src/ingress in the tree the bench was built from,
  // and whether src/ingress had uncommitted changes when it ran (the
  // binary may hold them).
  const std::string tree = fs::path(__FILE__).parent_path().string();
  std::string version = firstLine(
      capture({"git", "-C", tree, "log", "-1", "--format=%h %cI %s", "--", "../src/ingress"}).text);
  if (!capture({"git", "-C", tree, "status", "--porcelain", "--", "../src/ingress"}).text.empty())
    version += " (+ uncommitted changes in src/ingress)";
  return version;
}

json machine() {
  std::string model;
  std::istringstream cpuinfo(readFile("/proc/cpuinfo"));
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return {{"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
          {"cpu", model},
          {"kernel", firstLine(capture({"uname", "-r"}).text)},
          {"loadavg", firstLine(readFile("/proc/loadavg"))}};
}

// Waits until `ready` holds or the process exits or 20 s pass; an error text.
std::string waitUntil(Target& target, const std::function<bool()>& ready) {
  auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(20)) {
    if (interrupted) return "interrupted";
    if (int code = target.process.exitCode(); code >= 0)
      return "exited with " + std::to_string(code) + ": " + tail(target.log);
    if (ready()) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "not ready within 20 s: " + tail(target.log);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--serve-podnet-memory-api")
    return serveWithMemoryApi(argc, argv);
  Options options;
  if (!parse(argc, argv, options)) {
    std::fprintf(
        stderr,
        "usage: ingress_bench [--seconds S] [--rounds R] [--connections C]\n"
        "                     [--churn-seconds S] [--no-churn] [--keep-dir]\n"
        "                     [--targets podnet,nginx,haproxy,direct]\n"
        "                     [--cells http-small,http-big,https-small,https-big,routes-small]\n"
        "                     [--podnet PATH]\n"
        "defaults: --seconds 5 (or INGRESS_BENCH_SECONDS), --rounds 2, --churn-seconds 10\n"
        "peers: scripts/setup_bench.sh installs nginx-light, haproxy and wrk\n");
    return 2;
  }
  for (const char* tool : {kNginx, kHaproxy, kWrk, "/usr/bin/curl", "/usr/bin/openssl"})
    if (access(tool, X_OK) != 0) {
      progress("%s is missing: run scripts/setup_bench.sh", tool);
      return 1;
    }
  if (access(options.podnet.c_str(), X_OK) != 0) {
    progress("%s is missing: cmake --build build --target podnet", options.podnet.c_str());
    return 1;
  }
  installSignalHandlers();

  TempDir root("ingress-bench");
  if (root.path().empty()) {
    progress("cannot make a temp dir");
    return 1;
  }
  if (options.keepDir) root.keep();
  auto certificate = podnet::pki::issueCertificate({kHost, "", {kHost, "127.0.0.1"}, 30, false});
  if (!certificate) {
    progress("certificate: %s", certificate.error().message.c_str());
    return 1;
  }
  writeFile(root.path() + "/bench.crt", certificate->certPem);
  writeFile(root.path() + "/bench.key", certificate->keyPem);
  writeFile(root.path() + "/bench.pem", certificate->certPem + certificate->keyPem);

  json setup{{"bench", "ingress"},
             {"kind", "setup"},
             {"machine", machine()},
             {"seconds", options.seconds},
             {"rounds", options.rounds},
             {"churn_seconds", options.churn ? options.churnSeconds : 0},
             {"client",
              {{"tool", firstLine(capture({kWrk, "-v"}).text)},
               {"command", std::string("wrk -t1 -c") + std::to_string(options.connections) +
                               " -d<seconds>s --latency -H 'Host: bench.local' URL"}}},
             {"certificate", "P-256, self-signed, CN and SAN bench.local, SAN IP 127.0.0.1"},
             {"targets", json::object()}};

  // 1. The backend.
  Target backend;
  backend.label = "direct";
  backend.dir = root.path() + "/backend";
  fs::create_directories(backend.dir + "/www");
  fs::create_directories(backend.dir + "/tmp");
  for (const auto& d : {backend.dir, backend.dir + "/www"})
    fs::permissions(d, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  {
    // Text, so a wrong body is easy to see with curl.
    std::string small =
        "ingress_bench /small: a body of exactly one hundred bytes, for the request rate cells" +
        std::string(kSmallBytes, '.');
    small.resize(kSmallBytes - 1);
    small += '\n';
    std::string big(kBigBytes, '\0');
    std::mt19937 random(13);
    for (char& c : big) c = char('a' + random() % 26);
    writeFile(backend.dir + "/www/small", small);
    writeFile(backend.dir + "/www/big", big);
  }
  const int backendStatusPort = freePort();
  backend.httpPort = freePort();
  backend.routesPort = backend.httpPort;  // it serves /t<N>/small itself
  backend.httpsPort = freePort();
  writeFile(backend.dir + "/nginx.conf",
            fill(kBackendConfig, {{"@DIR@", backend.dir},
                                  {"@HTTP_PORT@", std::to_string(backend.httpPort)},
                                  {"@HTTPS_PORT@", std::to_string(backend.httpsPort)},
                                  {"@STATUS_PORT@", std::to_string(backendStatusPort)}}));
  backend.log = backend.dir + "/stderr.log";
  backend.process = Child({kNginx, "-p", backend.dir + "/", "-c", backend.dir + "/nginx.conf", "-e",
                           backend.dir + "/error.log"},
                          backend.log);
  if (std::string error = waitUntil(backend, [&] { return accepting(backend.httpPort); });
      !error.empty()) {
    progress("backend nginx: %s", error.c_str());
    return 1;
  }
  progress("backend nginx on 127.0.0.1:%d (https %d)", backend.httpPort, backend.httpsPort);
  const std::string nginxVersion = firstLine(capture({kNginx, "-v"}).text);
  const std::string haproxyVersion = firstLine(capture({kHaproxy, "-v"}).text);
  backend.description = {{"command", "nginx, one worker, static files, sendfile, open_file_cache"},
                         {"version", nginxVersion},
                         {"port", backend.httpPort}};

  // 2. The proxies.
  std::vector<Target> targets;
  int failures = 0;
  for (const auto& label : options.targets) {
    if (label == "direct") continue;
    Target target;
    target.label = label;
    target.dir = root.path() + "/" + label;
    fs::create_directories(target.dir + "/tmp");
    target.httpPort = freePort();
    target.httpsPort = freePort();
    target.log = target.dir + "/stderr.log";
    std::vector<std::string> argv;
    const std::vector<std::pair<std::string, std::string>> values{
        {"@DIR@", target.dir},
        {"@HTTP_PORT@", std::to_string(target.httpPort)},
        {"@HTTPS_PORT@", std::to_string(target.httpsPort)},
        {"@BACKEND_PORT@", std::to_string(backend.httpPort)},
        {"@CHURN@", ""},
        {"@ROUTES@", ""}};
    if (label != "haproxy") target.routesPort = freePort();
    if (label == "podnet" || label == "podnet-nometrics") {
      json objects = benchObjects(backend.httpPort, certificate->certPem, certificate->keyPem);
      for (json& item : benchRouteObjects(target.routesPort, kRoutes))
        objects["items"].push_back(std::move(item));
      writeFile(target.dir + "/objects.yaml", objects.dump(2) + "\n");
      argv = {label == "podnet" ? options.podnet : options.podnetNoMetrics,
              "ingress",
              "--objects",
              target.dir + "/objects.yaml",
              "--listen-http",
              "127.0.0.1:" + std::to_string(target.httpPort),
              "--listen-https",
              "127.0.0.1:" + std::to_string(target.httpsPort),
              "--listen-metrics",
              "127.0.0.1:" + std::to_string(freePort()),
              "--threads",
              "1"};
      target.description = {
          {"version", podnetVersion()},
          {"notes",
           "podnet ingress --objects (Service, EndpointSlice 127.0.0.1:<backend>, TLS Secret, "
           "Ingress class podnet, ssl-redirect false), --threads 1; upstream keep-alive is "
           "built in (32 idle per endpoint and thread); no request log"}};
    } else if (label == "nginx") {
      auto withRoutes = values;
      withRoutes.back().second = nginxRoutesServer(target.routesPort, kRoutes);
      writeFile(target.dir + "/nginx.conf", fill(kNginxProxyConfig, withRoutes));
      argv = {kNginx,
              "-p",
              target.dir + "/",
              "-c",
              target.dir + "/nginx.conf",
              "-e",
              target.dir + "/error.log"};
      target.description = {{"version", nginxVersion},
                            {"notes",
                             "worker_processes 1, upstream keepalive 64, proxy_http_version 1.1, "
                             "proxy_buffering off, ingress-nginx's request headers, access_log "
                             "off, keepalive_requests unlimited"}};
    } else {
      writeFile(target.dir + "/haproxy.cfg", fill(kHaproxyConfig, values));
      argv = {kHaproxy, "-W", "-db", "-f", target.dir + "/haproxy.cfg"};
      target.description = {{"version", haproxyVersion},
                            {"notes",
                             "master-worker (-W), nbthread 1, mode http, http-reuse always, "
                             "ingress-nginx's request headers, no log"}};
    }
    target.description["command"] = argv;
    target.description["http_port"] = target.httpPort;
    target.description["https_port"] = target.httpsPort;
    target.process = Child(argv, target.log);
    progress("%s on 127.0.0.1:%d (https %d)", label.c_str(), target.httpPort, target.httpsPort);
    std::string error =
        waitUntil(target, [&] { return curlGet(target, "http", "/small").first == 200; });
    if (!error.empty()) {
      progress("%s: %s", label.c_str(), error.c_str());
      target.description["error"] = error;
      setup["targets"][label] = target.description;
      ++failures;
      continue;
    }
    targets.push_back(std::move(target));
  }
  const bool measureDirect =
      std::find(options.targets.begin(), options.targets.end(), "direct") != options.targets.end();
  // The rows: the proxies, then the backend itself (the reference).
  std::vector<Target*> rows;
  for (auto& target : targets) rows.push_back(&target);
  if (measureDirect) rows.push_back(&backend);

  // 3. Before any load: every row answers 200 with the right body size on
  // both schemes and paths, and which TLS session it offers wrk.
  const std::vector<std::string> allCells{"http-small", "http-big", "https-small", "https-big",
                                          "routes-small"};
  std::vector<Target*> correctRows;
  for (Target* target : rows) {
    json checks = json::object();
    bool correct = true;
    for (const auto& label : allCells) {
      Cell cell = cellFor(label);
      if (cell.scheme == "routes" && !target->routesPort) continue;  // HAProxy: not measured
      auto [status, size] = curlGet(*target, cell.scheme, cell.path, cell.header);
      checks[label] = {{"status", status}, {"body_bytes", size}};
      if (status != 200 || size != long(cell.bodyBytes)) correct = false;
    }
    target->description["checks"] = checks;
    target->description["correct"] = correct;
    target->description["tls_offered_to_wrk"] = tlsSession(target->httpsPort);
    setup["targets"][target->label] = target->description;
    if (correct) {
      correctRows.push_back(target);
    } else {
      progress("%s answers wrongly: %s", target->label.c_str(), checks.dump().c_str());
      ++failures;
    }
  }
  emit(setup);

  // 4. Warm-up (connections, caches, TLS contexts), not reported.
  for (Target* target : correctRows) {
    if (interrupted) break;
    runWrk(options, urlOf(*target, "http", "/small"), 1, root.path());
  }

  // 5. The cells, in rounds; the order of the targets rotates.
  std::map<std::string, std::map<std::string, std::vector<json>>> results;  // cell -> target
  for (int round = 0; round < options.rounds && !interrupted; ++round) {
    for (size_t cellIndex = 0; cellIndex < options.cells.size() && !interrupted; ++cellIndex) {
      Cell cell = cellFor(options.cells[cellIndex]);
      for (size_t turn = 0; turn < correctRows.size() && !interrupted; ++turn) {
        Target& target = *correctRows[(turn + cellIndex + size_t(round)) % correctRows.size()];
        if (cell.scheme == "routes" && !target.routesPort) continue;
        const bool direct = &target == &backend;
        auto [acceptsBefore, requestsBefore] = backendCounters(backendStatusPort);
        double proxyCpuBefore = direct ? 0 : cpuSeconds(target.process.pid());
        double backendCpuBefore = cpuSeconds(backend.process.pid());
        double machineBefore = machineBusySeconds();
        auto start = Clock::now();
        json run = runWrk(options, urlOf(target, cell.scheme, cell.path), options.seconds,
                          root.path(), nullptr, cell.header);
        if (interrupted) break;  // every child got SIGTERM: this run's figures are void
        double wall = std::chrono::duration<double>(Clock::now() - start).count();
        double proxyCpu = direct ? 0 : cpuSeconds(target.process.pid()) - proxyCpuBefore;
        double backendCpu = cpuSeconds(backend.process.pid()) - backendCpuBefore;
        double machineCpu = machineBusySeconds() - machineBefore;
        auto [acceptsAfter, requestsAfter] = backendCounters(backendStatusPort);
        json line{{"bench", "ingress"},     {"kind", "run"},
                  {"round", round + 1},     {"cell", cell.label},
                  {"target", target.label}, {"url", urlOf(target, cell.scheme, cell.path)}};
        line.update(run);
        const double requests = std::max(1.0, run.value("requests", 0.0));
        line["proxy_cpu_cores"] = direct ? json(nullptr) : json(proxyCpu / wall);
        // CPU per request: steadier than requests/s on a shared machine.
        line["proxy_cpu_us_per_request"] = direct ? json(nullptr) : json(proxyCpu / requests * 1e6);
        line["backend_cpu_cores"] = backendCpu / wall;
        line["backend_cpu_us_per_request"] = backendCpu / requests * 1e6;
        // Busy CPUs of the whole machine, and the part neither the proxy,
        // the backend nor wrk used: load from elsewhere during the run.
        line["machine_busy_cores"] = machineCpu / wall;
        line["other_busy_cores"] =
            std::max(0.0, machineCpu / wall - proxyCpu / wall - backendCpu / wall -
                              run.value("client_cpu_cores", 0.0));
        line["loadavg"] = firstLine(readFile("/proc/loadavg"));
        // Both status requests are counted by the second reading; the first
        // is not in the difference, the second is.
        line["backend_requests"] = requestsAfter - requestsBefore - 1;
        line["backend_connections_opened"] = acceptsAfter - acceptsBefore;
        line["backend_connections_per_1k_requests"] =
            (acceptsAfter - acceptsBefore) / requests * 1000;
        if (run.value("bytes_per_response", 0.0) < double(cell.bodyBytes))
          line["problem"] = "responses shorter than the body";
        if (!direct && target.process.exitCode() >= 0) {
          line["problem"] = "the proxy exited: " + tail(target.log);
          ++failures;
        }
        emit(line);
        progress(
            "round %d %-11s %-8s %7.0f req/s  p50 %5.2f ms  p99 %6.2f ms  errors %.0f  "
            "CPU proxy %.2f (%.0f us/req) backend %.2f wrk %.2f other %.2f  backend "
            "connections +%.0f",
            round + 1, cell.label.c_str(), target.label.c_str(), run.value("requests_per_s", -1.0),
            run.value("p50_ms", -1.0), run.value("p99_ms", -1.0),
            run["errors"].value("total", -1.0), proxyCpu / wall, proxyCpu / requests * 1e6,
            backendCpu / wall, run.value("client_cpu_cores", -1.0),
            line["other_busy_cores"].get<double>(), acceptsAfter - acceptsBefore);
        results[cell.label][target.label].push_back(line);
      }
    }
  }

  // 6. Config churn: plain HTTP, /small, one change per second.
  json churnResults = json::object();
  std::map<std::string, Target*> byLabel;
  for (Target* target : correctRows) byLabel[target->label] = target;
  for (const std::string label : {"podnet", "nginx", "haproxy"}) {
    if (!options.churn || interrupted || !byLabel.count(label)) continue;
    Target& steady = *byLabel[label];
    json line{{"bench", "ingress"},
              {"kind", "churn"},
              {"target", label},
              {"cell", "http-small"},
              {"seconds", options.churnSeconds}};
    std::optional<Target> helper;  // podnet: the controller over the in-memory API
    Target* loaded = &steady;
    std::function<void(int)> change;
    int changes = 0;
    if (label == "podnet") {
      helper.emplace();
      helper->label = "podnet-memory-api";
      helper->dir = steady.dir;
      helper->httpPort = freePort();
      helper->httpsPort = freePort();
      helper->log = steady.dir + "/memory-api.log";
      std::vector<std::string> argv{fs::read_symlink("/proc/self/exe").string(),
                                    "--serve-podnet-memory-api",
                                    steady.dir + "/objects.yaml",
                                    "127.0.0.1:" + std::to_string(helper->httpPort),
                                    "127.0.0.1:" + std::to_string(helper->httpsPort),
                                    "127.0.0.1:" + std::to_string(freePort())};
      helper->process = Child(argv, helper->log);
      line["command"] = argv;
      line["notes"] =
          "podnet's Controller + Proxy (one thread) over an in-memory API in a child of the "
          "bench; each change replaces an extra Ingress path (/churn-N) and bumps the "
          "generation: watch event -> compile -> publish. podnet server cannot hold the "
          "127.0.0.1 endpoint (loopback endpoints fail validation, as in Kubernetes)";
      std::string error =
          waitUntil(*helper, [&] { return curlGet(*helper, "http", "/small").first == 200; });
      if (!error.empty()) {
        line["error"] = error;
        emit(line);
        ++failures;
        continue;
      }
      loaded = &*helper;
      change = [&](int) {
        helper->process.signal(SIGUSR1);
        ++changes;
      };
    } else if (label == "nginx") {
      line["notes"] =
          "each change: a new location = /churn-N in nginx.conf, then SIGHUP to the "
          "master (nginx -s reload)";
      change = [&](int generation) {
        writeFile(
            steady.dir + "/nginx.conf",
            fill(kNginxProxyConfig, {{"@DIR@", steady.dir},
                                     {"@HTTP_PORT@", std::to_string(steady.httpPort)},
                                     {"@HTTPS_PORT@", std::to_string(steady.httpsPort)},
                                     {"@BACKEND_PORT@", std::to_string(backend.httpPort)},
                                     {"@CHURN@", nginxChurnLocation(generation)},
                                     {"@ROUTES@", nginxRoutesServer(steady.routesPort, kRoutes)}}));
        steady.process.signal(SIGHUP);
        ++changes;
      };
    } else {
      line["notes"] =
          "each change: a new `http-request return status 204 if { path /churn-N }` "
          "in haproxy.cfg, then SIGUSR2 to the master (master-worker reload, "
          "listeners passed over the stats socket)";
      change = [&](int generation) {
        writeFile(steady.dir + "/haproxy.cfg",
                  fill(kHaproxyConfig, {{"@DIR@", steady.dir},
                                        {"@HTTP_PORT@", std::to_string(steady.httpPort)},
                                        {"@HTTPS_PORT@", std::to_string(steady.httpsPort)},
                                        {"@BACKEND_PORT@", std::to_string(backend.httpPort)},
                                        {"@CHURN@", haproxyChurnRule(generation)}}));
        steady.process.signal(SIGUSR2);
        ++changes;
      };
    }
    progress("churn %s: %d s of load, one change per second", label.c_str(), options.churnSeconds);
    json run = runWrk(options, urlOf(*loaded, "http", "/small"), options.churnSeconds, root.path(),
                      change);
    if (interrupted) break;
    line.update(run);
    line["changes"] = changes;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    if (label == "podnet") {
      helper->process.stop();
      std::string report = readFile(helper->log);
      // The helper's last line is its JSON report.
      size_t start = report.rfind("{\"changes\"");
      json published =
          start == std::string::npos ? json() : json::parse(report.substr(start), nullptr, false);
      if (published.is_object()) {
        std::vector<double> ms = published["publish_ms"].get<std::vector<double>>();
        line["changes_published"] = ms.size();
        line["publish_ms_median"] = median(ms);
        line["publish_ms_max"] = ms.empty() ? -1 : *std::max_element(ms.begin(), ms.end());
        line["unpublished_within_2s"] = published["unpublished_within_2s"];
      } else {
        line["problem"] = "no report from the helper: " + tail(helper->log);
      }
    } else {
      // The last change must be live: /churn-N answers 204 from the proxy itself.
      auto [status, size] = curlGet(steady, "http", "/churn-" + std::to_string(changes));
      line["last_change_live"] = status == 204;
      if (steady.process.exitCode() >= 0) {
        line["problem"] = "the proxy exited: " + tail(steady.log);
        ++failures;
      }
    }
    emit(line);
    progress(
        "churn %-8s %9.0f req/s  %d changes  errors %.0f (connect %.0f read %.0f write %.0f "
        "timeout %.0f status %.0f)",
        label.c_str(), run.value("requests_per_s", -1.0), changes,
        run["errors"].value("total", -1.0), run["errors"].value("connect", -1.0),
        run["errors"].value("read", -1.0), run["errors"].value("write", -1.0),
        run["errors"].value("timeout", -1.0), run["errors"].value("non_2xx_3xx", -1.0));
    churnResults[label] = line;
  }

  // 7. Summary: medians over the rounds. Runs during which other processes
  // kept more than a quarter of a CPU busy are left out of the medians when
  // at least one undisturbed run of that cell and target exists (they stay
  // in the run lines above).
  constexpr double kDisturbedAbove = 0.25;  // other_busy_cores
  json summary{{"bench", "ingress"},
               {"kind", "summary"},
               {"disturbed_above_other_busy_cores", kDisturbedAbove},
               {"cells", json::object()}};
  for (const auto& [cell, byTarget] : results)
    for (const auto& [label, allLines] : byTarget) {
      std::vector<json> lines;
      for (const auto& l : allLines)
        if (l.value("other_busy_cores", 0.0) <= kDisturbedAbove) lines.push_back(l);
      const size_t disturbed = allLines.size() - lines.size();
      if (lines.empty()) lines = allLines;
      std::vector<double> rps, p50, p99, proxyCpu, proxyCpuPerRequest, connectionsPer1k;
      double errors = 0;
      for (const auto& l : lines) {
        rps.push_back(l.value("requests_per_s", -1.0));
        p50.push_back(l.value("p50_ms", -1.0));
        p99.push_back(l.value("p99_ms", -1.0));
        if (l["proxy_cpu_cores"].is_number()) {
          proxyCpu.push_back(l["proxy_cpu_cores"].get<double>());
          proxyCpuPerRequest.push_back(l["proxy_cpu_us_per_request"].get<double>());
        }
        connectionsPer1k.push_back(l.value("backend_connections_per_1k_requests", -1.0));
      }
      for (const auto& l : allLines) errors += l["errors"].value("total", 0.0);  // every run
      summary["cells"][cell][label] = {
          {"requests_per_s", median(rps)},
          {"requests_per_s_runs_used", rps},
          {"runs_disturbed", disturbed},
          {"only_disturbed_runs", disturbed == allLines.size()},
          {"p50_ms", median(p50)},
          {"p99_ms", median(p99)},
          {"errors", errors},
          {"proxy_cpu_cores", proxyCpu.empty() ? json(nullptr) : json(median(proxyCpu))},
          {"proxy_cpu_us_per_request",
           proxyCpuPerRequest.empty() ? json(nullptr) : json(median(proxyCpuPerRequest))},
          {"backend_connections_per_1k_requests", median(connectionsPer1k)}};
    }
  if (options.churn) {
    summary["churn"] = json::object();
    for (const auto& [label, line] : churnResults.items())
      summary["churn"][label] = {{"requests_per_s", line.value("requests_per_s", -1.0)},
                                 {"changes", line.value("changes", 0)},
                                 {"errors", line["errors"]}};
    if (std::find(options.targets.begin(), options.targets.end(), "podnet") !=
        options.targets.end())
      summary["churn_podnet_path"] =
          "in-memory API -> informers -> Controller -> Proxy::publish (not podnet server + "
          "kubectl)";
  }
  summary["rss_mib_after"] = json::object();
  for (Target* target : rows)
    summary["rss_mib_after"][target->label] = rssMiB(target->process.pid());
  summary["loadavg_after"] = firstLine(readFile("/proc/loadavg"));
  if (interrupted) summary["interrupted"] = true;
  if (options.keepDir) summary["dir"] = root.path();
  emit(summary);
  return failures || interrupted ? 1 : 0;
}
