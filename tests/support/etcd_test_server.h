// A real etcd (Debian's etcd-server) for the store tests: one member, or
// several forming a cluster, on free loopback ports in a temporary
// directory, without fsync (the tests are about semantics, not disks).
// Every process is stopped by its pid, and the directory removed, on
// destruction.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/socket_address.h"
#include "store/etcd_store.h"

namespace podnet::store::testing {

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";

using core::freeLoopbackPort;

class EtcdCluster {
 public:
  // `extraArgs` go to every member (e.g. --quota-backend-bytes).
  explicit EtcdCluster(int members = 1, std::vector<std::string> extraArgs = {})
      : extraArgs_(std::move(extraArgs)) {
    char pattern[] = "/tmp/podnet-etcd-test-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return;
    dir_ = pattern;
    std::string initial;
    for (int i = 0; i < members; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.clientPort = freeLoopbackPort();
      m.peerPort = freeLoopbackPort();
      initial +=
          (initial.empty() ? "" : ",") + m.name + "=http://127.0.0.1:" + std::to_string(m.peerPort);
      members_.push_back(m);
    }
    initial_ = initial;
    for (size_t i = 0; i < members_.size(); ++i) start(i);
  }
  ~EtcdCluster() {
    for (size_t i = 0; i < members_.size(); ++i) stop(i);
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  static bool available() { return ::access(kEtcdBinary, X_OK) == 0; }

  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const Member& m : members_)
      out.push_back("http://127.0.0.1:" + std::to_string(m.clientPort));
    return out;
  }

  // A store on the cluster, once it answers (a new cluster elects a leader
  // first: up to a few seconds).
  std::unique_ptr<Store> open(EtcdOptions options = {}) {
    options.endpoints = endpoints();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto store = openEtcd(options);
      if (store.ok()) return std::move(store).value();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "etcd did not answer at " << endpoints().front();
    return nullptr;
  }

  void stop(size_t i, int signal = SIGTERM) {
    Member& m = members_[i];
    if (m.pid <= 0) return;
    ::kill(m.pid, signal);
    int status = 0;
    ::waitpid(m.pid, &status, 0);
    m.pid = 0;
  }

  void start(size_t i) {
    Member& m = members_[i];
    std::string client = "http://127.0.0.1:" + std::to_string(m.clientPort);
    std::string peer = "http://127.0.0.1:" + std::to_string(m.peerPort);
    std::string data = dir_ + "/" + m.name;
    bool fresh = !std::filesystem::exists(data);
    std::vector<std::string> args = {kEtcdBinary,
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
                                     "podnet-test",
                                     "--unsafe-no-fsync",
                                     "--log-level",
                                     "error"};
    args.insert(args.end(), extraArgs_.begin(), extraArgs_.end());
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves no etcd behind
      std::string log = dir_ + "/" + m.name + ".log";
      FILE* out = std::freopen(log.c_str(), "a", stdout);
      FILE* err = std::freopen(log.c_str(), "a", stderr);
      (void)out;
      (void)err;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kEtcdBinary, argv.data());
      ::_exit(127);
    }
    m.pid = pid;
  }

  size_t size() const { return members_.size(); }

  // etcdctl (Debian's etcd-client) against the running members; its output.
  std::string etcdctl(const std::string& args) const {
    std::string endpoints;
    for (const auto& m : members_)
      if (m.pid > 0)
        endpoints += (endpoints.empty() ? "" : ",") + std::string("http://127.0.0.1:") +
                     std::to_string(m.clientPort);
    return runEtcdctl(endpoints, args);
  }

  // The index of the member that leads now, or -1.
  int leaderIndex() const {
    for (size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].pid <= 0) continue;
      std::string status = etcdctlOn(i, "endpoint status --write-out=fields");
      // "MemberID" : 123 ... "Leader" : 123: the member is the leader when both match.
      auto field = [&](const std::string& name) {
        size_t at = status.find("\"" + name + "\" : ");
        if (at == std::string::npos) return std::string();
        at += name.size() + 5;
        return status.substr(at, status.find('\n', at) - at);
      };
      std::string id = field("MemberID"), leader = field("Leader");
      if (!id.empty() && id == leader) return int(i);
    }
    return -1;
  }

 private:
  std::string etcdctlOn(size_t i, const std::string& args) const {
    return runEtcdctl("http://127.0.0.1:" + std::to_string(members_[i].clientPort), args);
  }
  static std::string runEtcdctl(const std::string& endpoints, const std::string& args) {
    std::string command =
        "ETCDCTL_API=3 /usr/bin/etcdctl --endpoints=" + endpoints + " " + args + " 2>&1";
    std::string out;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
      ::pclose(pipe);
    }
    return out;
  }

  struct Member {
    std::string name;
    int clientPort = 0, peerPort = 0;
    pid_t pid = 0;
  };
  std::string dir_, initial_;
  std::vector<Member> members_;
  std::vector<std::string> extraArgs_;
};

}  // namespace podnet::store::testing
