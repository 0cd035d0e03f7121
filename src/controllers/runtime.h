// What every controller shares: the registry it writes through, the shared
// informers it reads from, an event recorder, and a worker loop over a work
// queue (one key at a time, retries with backoff on error).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/events.h"
#include "client/informer.h"
#include "controllers/controllers.h"
#include "controllers/load_balancer_pool.h"
#include "controllers/workqueue.h"
#include "registry/registry.h"

namespace podnet::controllers {

using api::Json;

using client::EventRecorder;

struct Context {
  registry::Registry& registry;
  client::SharedInformers& informers;
  Config config;
};

class Controller {
 public:
  Controller(std::string name, Context& context);
  virtual ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Runs after the informers synced, before the workers start.
  virtual void prepare() {}
  void startWorkers(int count = 1);
  void stop();
  const std::string& name() const { return name_; }
  WorkQueue& queue() { return queue_; }

 protected:
  // Brings the object named by `key` to its desired state; an error retries
  // the key with backoff.
  virtual core::Status sync(const std::string& key) = 0;
  void enqueue(const Json& obj) { queue_.add(client::objectKey(obj)); }
  // Writes `status` through the status subresource of `obj` (of `resource`)
  // unless it holds that already, then waits until `informer` has the write,
  // so the next sync reads it. A vanished object is no error.
  core::Status writeStatus(const api::ResourceInfo& resource, const Json& obj, const Json& status,
                           client::Informer& informer);

  std::string name_;
  Context& context_;
  WorkQueue queue_;

 private:
  void work();
  std::vector<std::thread> workers_;
  metrics::Histogram workDuration_;  // client-go's workqueue_work_duration_seconds
  friend void writeControllerMetrics(metrics::Writer& out);
};

// client-go's workqueue metrics of every controller running in this process
// (workqueue_depth, _adds_total, _retries_total, _work_duration_seconds, by name).
void writeControllerMetrics(metrics::Writer& out);

std::unique_ptr<Controller> makeEndpointSliceController(Context& context);
std::unique_ptr<Controller> makeEndpointsController(Context& context);
std::unique_ptr<Controller> makeDeploymentController(Context& context);
std::unique_ptr<Controller> makeReplicaSetController(Context& context);
std::unique_ptr<Controller> makeSchedulerController(Context& context);
std::unique_ptr<Controller> makeNamespaceController(Context& context);
std::unique_ptr<Controller> makeCrdCleanupController(Context& context);
std::unique_ptr<Controller> makeStatefulSetController(Context& context);
std::unique_ptr<Controller> makeDaemonSetController(Context& context);
std::unique_ptr<Controller> makeNodeIpamController(Context& context);
std::unique_ptr<Controller> makeLoadBalancerIpamController(Context& context, LoadBalancerPool pool);
std::unique_ptr<Controller> makeJobController(Context& context);
std::unique_ptr<Controller> makeCronJobController(Context& context);
std::unique_ptr<Controller> makeServiceAccountController(Context& context);

// Enqueues the controlling owner (of `kind`) of a dependent object.
void enqueueOwner(WorkQueue& queue, const Json& obj, const std::string& kind);

// "ns/name" -> {ns, name} (cluster-scoped keys have no slash).
std::pair<std::string, std::string> splitKey(const std::string& key);

}  // namespace podnet::controllers
