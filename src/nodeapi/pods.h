// What the node API needs to know of the pods on its node, as the agent
// publishes it after every sync: where each container's logs are, whether
// it runs, how to reach its stdin, and the namespaces an exec joins.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/container_process.h"

namespace podnet::nodeapi {

struct ContainerView {
  std::string name;
  std::string logDir;  // its instances' logs (runtime/container_log.h)
  int instance = -1;   // the running or last instance; -1: never started
  bool running = false;
  std::string waitingReason;  // ContainerCreating, CrashLoopBackOff, ... when not running
  std::string attachSocket;   // the shim's socket (runtime/container_shim.h)
  bool stdinOpen = false, tty = false;
  runtime::ProcessSpec execTemplate;  // namespaces, files and env of an exec (argv replaced)
};

struct PodView {
  std::string ns, name, uid, podIp;
  std::string netnsPath;
  std::string resolvConfPath;  // the pod's /etc/resolv.conf, as written on the node
  std::vector<ContainerView> containers;

  const ContainerView* container(const std::string& name) const {
    for (const ContainerView& c : containers)
      if (c.name == name) return &c;
    return nullptr;
  }
};

// The agent's pods, replaced as a whole after each sync; readers get a
// consistent snapshot without holding anything.
class PodDirectory {
 public:
  using Snapshot = std::map<std::pair<std::string, std::string>, PodView>;  // by (ns, name)

  void publish(std::shared_ptr<const Snapshot> pods) {
    std::lock_guard lock(mutex_);
    pods_ = std::move(pods);
  }
  std::optional<PodView> find(const std::string& ns, const std::string& name) const {
    std::shared_ptr<const Snapshot> pods;
    {
      std::lock_guard lock(mutex_);
      pods = pods_;
    }
    if (!pods) return std::nullopt;
    auto it = pods->find({ns, name});
    if (it == pods->end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> pods_;
};

}  // namespace podnet::nodeapi
