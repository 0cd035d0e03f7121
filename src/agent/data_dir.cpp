#include "agent/data_dir.h"

#include <vector>

namespace podnet::agent {

namespace {

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    if (slash != 0) parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path = path.substr(slash + 1);
  }
  return parts;
}

}  // namespace

bool isPodFacing(std::string_view relative) {
  std::vector<std::string_view> parts = components(relative);
  if (parts.empty()) return false;
  if (parts[0] == "volumes") return true;  // local PersistentVolumes
  if (parts[0] != "pods" || parts.size() < 3) return false;
  std::string_view name = parts[2];  // pods/<uid>/<name>
  return name == "volumes" || name == "mnt" || name == "hosts" || name == "resolv.conf" ||
         name == "hostname";
}

}  // namespace podnet::agent
