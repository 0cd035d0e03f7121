// core/v1 Events as `kubectl describe` shows them, recorded by any
// component (controllers in the server, the agent on its node). Repeats of
// one (object, reason, message) within the process bump count and
// lastTimestamp instead of creating another Event, as client-go's event
// correlator does.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "client/client.h"

namespace podnet::client {

class EventRecorder {
 public:
  EventRecorder(Client& client, std::string component);
  void normal(const Json& object, const std::string& reason, const std::string& message);
  void warning(const Json& object, const std::string& reason, const std::string& message);
  void record(const Json& object, const std::string& type, const std::string& reason,
              const std::string& message);

 private:
  Client& client_;
  std::string component_;
  std::mutex mutex_;
  std::map<std::string, std::string> recent_;  // correlation key -> event name
};

}  // namespace podnet::client
