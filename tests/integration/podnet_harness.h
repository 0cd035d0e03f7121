// Test harness for integration tests: starts the real podnet binary on a
// free loopback port with a temp data dir, and talks HTTPS to it with the
// credentials it generated (CA-verified TLS, bearer token). Everything it
// starts or creates is removed in destructors, also when a test fails.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace podnet::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Json = nlohmann::json;

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline uint16_t freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Whether process `pid` has ended. A zombie has: daemons `podnet up` starts
// outlive it, so only init reaps them, whenever it gets to it.
inline bool processGone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  return text.empty() ||
         (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z');
}

// A path's permission bits (lstat: a link's own), -1 when it is not there.
inline int fileMode(const std::filesystem::path& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 ? int(info.st_mode & 07777) : -1;
}

// Every regular file under `root` whose bytes hold `needle` (secrets at rest).
inline std::vector<std::string> filesHolding(const std::filesystem::path& root,
                                             const std::string& needle) {
  std::vector<std::string> found;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(root, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error))
    if (it->is_regular_file() && readFile(it->path()).find(needle) != std::string::npos)
      found.push_back(it->path().string());
  return found;
}

// Whether `part` occurs in `text` (command output checks).
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Polls `condition` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

struct HttpResult {
  int status = 0;  // 0: no response (connection failed)
  std::string contentType;
  std::string body;
  Json json() const {
    Json value = Json::parse(body, nullptr, false);
    return value.is_discarded() ? Json() : value;
  }
};

inline std::shared_ptr<ssl::context> clientTlsContext(const std::string& caPem) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->add_certificate_authority(net::buffer(caPem));
  context->set_verify_mode(ssl::verify_peer);
  return context;
}

// A keep-alive HTTPS connection doing one request at a time. Reconnects
// once when the server closed the connection meanwhile.
class HttpsClient {
 public:
  HttpsClient(uint16_t port, std::string caPem, std::string token)
      : port_(port), tls_(clientTlsContext(caPem)), token_(std::move(token)) {}

  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::string& contentType = "application/json",
                     const std::string& accept = "application/json", bool withToken = true) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!stream_ && !connect()) continue;
      http::request<http::string_body> request{http::string_to_verb(method), target, 11};
      request.set(http::field::host, "127.0.0.1");
      request.set(http::field::user_agent, "podnet-integration-test");
      if (!accept.empty()) request.set(http::field::accept, accept);
      if (withToken && !token_.empty()) request.set(http::field::authorization, "Bearer " + token_);
      if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        request.set(http::field::content_type, contentType);
        request.body() = body;
      }
      request.prepare_payload();
      beast::error_code ec;
      http::write(*stream_, request, ec);
      if (ec) {
        stream_.reset();
        continue;
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
      http::read(*stream_, buffer_, parser, ec);
      if (ec) {
        stream_.reset();
        continue;
      }
      HttpResult result;
      auto& response = parser.get();
      result.status = int(response.result_int());
      result.contentType = std::string(response[http::field::content_type]);
      result.body = std::move(response.body());
      if (!response.keep_alive()) stream_.reset();
      return result;
    }
    return HttpResult{};
  }

  HttpResult get(const std::string& target) { return request("GET", target); }
  HttpResult post(const std::string& target, const Json& body) {
    return request("POST", target, body.dump());
  }
  HttpResult put(const std::string& target, const Json& body) {
    return request("PUT", target, body.dump());
  }
  HttpResult patch(const std::string& target, const Json& body,
                   const std::string& type = "application/merge-patch+json") {
    return request("PATCH", target, body.dump(), type);
  }
  HttpResult del(const std::string& target, const std::string& body = "") {
    return request("DELETE", target, body);
  }

 private:
  bool connect() {
    buffer_.clear();
    auto stream = std::make_unique<ssl::stream<tcp::socket>>(ioc_, *tls_);
    stream->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::error_code ec;
    stream->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    if (ec) return false;
    stream->next_layer().set_option(tcp::no_delay(true));
    // Blocking reads give up after a while instead of hanging a test.
    timeval timeout{30, 0};
    ::setsockopt(stream->next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                 sizeof timeout);
    stream->handshake(ssl::stream_base::client, ec);
    if (ec) return false;
    stream_ = std::move(stream);
    return true;
  }

  uint16_t port_;
  std::shared_ptr<ssl::context> tls_;
  std::string token_;
  net::io_context ioc_;
  std::unique_ptr<ssl::stream<tcp::socket>> stream_;
  beast::flat_buffer buffer_;
};

// A ?watch=true request read on a thread of its own; events queue up as
// they arrive, with the time they arrived.
class WatchReader {
 public:
  struct Event {
    Json json;
    std::chrono::steady_clock::time_point received;
  };

  WatchReader(uint16_t port, const std::string& caPem, const std::string& token,
              const std::string& target)
      : tls_(clientTlsContext(caPem)), stream_(ioc_, *tls_) {
    stream_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::error_code ec;
    stream_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return;
    stream_.next_layer().set_option(tcp::no_delay(true));
    stream_.handshake(ssl::stream_base::client, ec);
    if (ec) return;
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::authorization, "Bearer " + token);
    request.set(http::field::accept, "application/json");
    http::write(stream_, request, ec);
    if (ec) return;
    parser_.body_limit((std::numeric_limits<std::uint64_t>::max)());
    http::read_header(stream_, buffer_, parser_, ec);
    if (ec) return;
    status_ = int(parser_.get().result_int());
    thread_ = std::thread([this] { readLoop(); });
  }

  ~WatchReader() {
    ::shutdown(stream_.next_layer().native_handle(), SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
  }

  int status() const { return status_; }

  std::optional<Event> next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_for(lock, timeout, [this] { return !events_.empty() || ended_; }))
      return std::nullopt;
    if (events_.empty()) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

  // Waits for the server to end the stream (the final chunk).
  bool waitEnded(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, timeout, [this] { return ended_; });
  }

 private:
  void readLoop() {
    size_t consumed = 0;
    while (!parser_.is_done()) {
      beast::error_code ec;
      http::read_some(stream_, buffer_, parser_, ec);
      std::string& body = parser_.get().body();
      size_t newline;
      while ((newline = body.find('\n', consumed)) != std::string::npos) {
        Json event = Json::parse(body.substr(consumed, newline - consumed), nullptr, false);
        consumed = newline + 1;
        std::lock_guard lock(mutex_);
        events_.push_back({std::move(event), std::chrono::steady_clock::now()});
        arrived_.notify_all();
      }
      if (ec) break;
    }
    std::lock_guard lock(mutex_);
    ended_ = true;
    arrived_.notify_all();
  }

  std::shared_ptr<ssl::context> tls_;
  net::io_context ioc_;
  ssl::stream<tcp::socket> stream_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  int status_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<Event> events_;
  bool ended_ = false;
};

// The podnet server as a child process with its own temp data dir.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> extraArgs = {})
      : extraArgs_(std::move(extraArgs)) {
    char pattern[] = "/tmp/podnet-it-XXXXXX";
    char* dir = ::mkdtemp(pattern);
    dataDir = dir ? dir : "";
    port = freeLoopbackPort();
  }
  ~ServerProcess() {
    stop();
    std::error_code ec;
    if (!dataDir.empty()) std::filesystem::remove_all(dataDir, ec);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits until /readyz answers; false on failure.
  bool start(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::vector<std::string> args = {PODNET_BINARY, "server",
                                     "--data-dir",  dataDir,
                                     "--listen",    "127.0.0.1:" + std::to_string(port)};
    args.insert(args.end(), extraArgs_.begin(), extraArgs_.end());
    std::string logPath = dataDir + "/server.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      int log = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid_ < 0) return false;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!running()) return false;
      if (std::filesystem::exists(dataDir + "/pki/ca.crt") &&
          std::filesystem::exists(dataDir + "/pki/admin.token")) {
        caPem = readFile(dataDir + "/pki/ca.crt");
        token = readFile(dataDir + "/pki/admin.token");
        while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
        HttpsClient probe(port, caPem, "");
        if (probe.request("GET", "/readyz", "", "", "", false).status == 200) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exitStatus_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }

  // Sends `signal` and waits for the process; returns its wait status.
  int kill(int signal, std::chrono::seconds timeout = std::chrono::seconds(15)) {
    if (pid_ <= 0) return exitStatus_;
    ::kill(pid_, signal);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &exitStatus_, 0);
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exitStatus_;
  }

  void stop() {
    if (pid_ > 0) kill(SIGTERM);
  }

  std::unique_ptr<HttpsClient> client() const {
    return std::make_unique<HttpsClient>(port, caPem, token);
  }
  std::unique_ptr<WatchReader> watch(const std::string& target) const {
    return std::make_unique<WatchReader>(port, caPem, token, target);
  }
  std::string log() const { return readFile(dataDir + "/server.log"); }
  std::string kubeconfig() const { return dataDir + "/kubeconfig"; }
  // The flags after --data-dir and --listen for the next start().
  void setExtraArgs(std::vector<std::string> extraArgs) { extraArgs_ = std::move(extraArgs); }
  // The wait status of the process once it has ended (start() false).
  int exitStatus() const { return exitStatus_; }

  std::string dataDir;
  uint16_t port = 0;
  std::string caPem;
  std::string token;

 private:
  std::vector<std::string> extraArgs_;
  pid_t pid_ = -1;
  int exitStatus_ = 0;
};

// Runs a shell command and returns its exit code and combined output.
inline std::pair<int, std::string> runCommand(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, ""};
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A test suite sharing one podnet server, started once for the suite (CRTP:
// each suite gets its own). A suite may define a public
// `static std::vector<std::string> serverArgs()` for extra flags. Each test
// gets its own HTTPS client as api().
template <typename Suite>
class ServerSuite : public ::testing::Test {
 public:
  static std::vector<std::string> serverArgs() { return {}; }

 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess(Suite::serverArgs());
    if (!server_->start()) {
      std::string log = server_->log();
      delete server_;
      server_ = nullptr;
      FAIL() << "podnet server did not become ready:\n" << log;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    client_ = server_->client();
  }
  HttpsClient& api() { return *client_; }

  static inline ServerProcess* server_ = nullptr;
  std::unique_ptr<HttpsClient> client_;
};

constexpr const char* kKubectl = "/usr/bin/kubectl";

// A test suite that drives the real kubectl against one podnet server started
// for the whole suite (CRTP: each suite gets its own server). The suite may
// define a public `static std::string prepare()` to create objects once; a non-empty
// return fails every test of the suite with that message, and a public
// `static std::vector<std::string> serverArgs()` for extra server flags. Tests
// skip when kubectl is not installed.
template <typename Suite>
class KubectlSuite : public ::testing::Test {
 public:
  static std::vector<std::string> serverArgs() { return {}; }

 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kKubectl)) return;
    server_ = new ServerProcess(Suite::serverArgs());
    if (!server_->start()) {
      setupError_ = "the server did not start:\n" + server_->log();
      return;
    }
    setupError_ = Suite::prepare();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    setupError_.clear();
  }
  void SetUp() override {
    if (!std::filesystem::exists(kKubectl)) GTEST_SKIP() << "no kubectl at " << kKubectl;
    ASSERT_NE(server_, nullptr);
    ASSERT_EQ(setupError_, "");
  }

  static std::string prepare() { return ""; }

  // The start of a kubectl command line for this server: a HOME of its own
  // (kubectl caches discovery there), a timeout, the server's kubeconfig.
  static std::string kubectlCommand(const std::string& env = "") {
    return "HOME=" + server_->dataDir + " " + env + " timeout 60 " + kKubectl + " --kubeconfig " +
           server_->kubeconfig() + " ";
  }

  static inline ServerProcess* server_ = nullptr;
  static inline std::string setupError_;
};

// Collapses runs of spaces, so kubectl's aligned columns compare without
// their padding.
inline std::string squeeze(const std::string& in) {
  std::string out;
  for (char c : in)
    if (!(c == ' ' && !out.empty() && out.back() == ' ')) out += c;
  return out;
}

// A KubectlSuite whose tests each get a namespace of their own, named after
// the test, and helpers that run kubectl in it.
template <typename Suite>
class KubectlNamespaceSuite : public KubectlSuite<Suite> {
 protected:
  using Base = KubectlSuite<Suite>;

  void SetUp() override {
    Base::SetUp();
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return;
    ns_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : ns_) c = char(std::tolower(static_cast<unsigned char>(c)));
    auto created =
        Base::server_->client()->post("/api/v1/namespaces", {{"metadata", {{"name", ns_}}}});
    ASSERT_EQ(created.status, 201) << created.body;
  }

  // Runs kubectl against the server (in this test's namespace unless the
  // arguments name another); returns the exit code and what it printed.
  std::pair<int, std::string> kubectl(const std::string& args, const std::string& env = "") {
    return runCommand(Base::kubectlCommand(env) + (ns_.empty() ? "" : "-n " + ns_ + " ") + args);
  }
  // Writes `text` to a file of this test in the server's data dir.
  std::string file(const std::string& name, const std::string& text) {
    std::string path = Base::server_->dataDir + "/" + ns_ + "-" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string jsonpath(const std::string& object, const std::string& path) {
    auto [code, out] = kubectl("get " + object + " -o jsonpath='" + path + "'");
    return code == 0 ? out : "<error " + out + ">";
  }

  std::string ns_;
};

}  // namespace podnet::testing
