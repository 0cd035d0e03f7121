#include "agent/pod_volumes.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/base64.h"
#include "core/files.h"

namespace podnet::agent {

namespace fs = std::filesystem;

namespace {

using api::stringAt;

int modeAt(const Json& object, const char* key, int fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int>() & 07777 : fallback;
}

bool optionalAt(const Json& object) { return object.value("optional", false); }

// The member `key`, or an empty value when absent.
const Json& member(const Json& object, const char* key) {
  static const Json empty;
  if (!object.is_object()) return empty;
  auto it = object.find(key);
  return it == object.end() ? empty : *it;
}

// kubelet's downward API formatting of labels and annotations: key="value"
// lines, sorted, values quoted as Go's %q does.
std::string formatMap(const Json& map) {
  std::vector<std::string> lines;
  if (map.is_object())
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it.value().is_string()) continue;
      std::string quoted = "\"";
      for (char c : it.value().get<std::string>()) {
        if (c == '"' || c == '\\') quoted += '\\';
        if (c == '\n') {
          quoted += "\\n";
          continue;
        }
        quoted += c;
      }
      lines.push_back(it.key() + "=" + quoted + "\"");
    }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" : "") + lines[i];
  return out;
}

core::Result<std::string> fieldValue(const Json& pod, const std::string& path) {
  const Json& metadata = member(pod, "metadata");
  const Json& spec = member(pod, "spec");
  const Json& status = member(pod, "status");
  if (path == "metadata.name") return stringAt(metadata, "name");
  if (path == "metadata.namespace") return stringAt(metadata, "namespace");
  if (path == "metadata.uid") return stringAt(metadata, "uid");
  if (path == "metadata.labels") return formatMap(member(metadata, "labels"));
  if (path == "metadata.annotations") return formatMap(member(metadata, "annotations"));
  for (const char* map : {"metadata.labels['", "metadata.annotations['"}) {
    std::string prefix = map;
    if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + 2 &&
        path.compare(path.size() - 2, 2, "']") == 0) {
      std::string key = path.substr(prefix.size(), path.size() - prefix.size() - 2);
      const Json& values =
          member(metadata, prefix == "metadata.labels['" ? "labels" : "annotations");
      return values.is_object() ? stringAt(values, key.c_str()) : std::string();
    }
  }
  if (path == "spec.nodeName") return stringAt(spec, "nodeName");
  if (path == "spec.serviceAccountName") return stringAt(spec, "serviceAccountName");
  if (path == "status.podIP") return stringAt(status, "podIP");
  if (path == "status.hostIP") return stringAt(status, "hostIP");
  return core::badRequest("unsupported fieldPath: " + path);
}

// resourceFieldRef: the container's own value, else what kubelet uses for an
// unset limit (the node's capacity) or request (0).
std::string resourceValue(const Json& pod, const Json& ref, const VolumeLookup& lookup) {
  std::string name = stringAt(ref, "containerName");
  std::string resource = stringAt(ref, "resource");
  const Json* container = nullptr;
  const Json& list = member(member(pod, "spec"), "containers");
  if (list.is_array())
    for (const Json& c : list)
      if (stringAt(c, "name") == name || (name.empty() && !container)) container = &c;
  if (container) {
    size_t dot = resource.find('.');
    if (dot != std::string::npos) {
      const Json& group = member(member(*container, "resources"), resource.substr(0, dot).c_str());
      if (group.is_object()) {
        std::string value = stringAt(group, resource.substr(dot + 1).c_str());
        if (!value.empty()) return value;
      }
    }
  }
  if (resource == "limits.cpu") return std::to_string(lookup.nodeCpus);
  if (resource == "limits.memory") return std::to_string(lookup.nodeMemoryBytes);
  return "0";
}

// The keys of a ConfigMap or Secret, decoded.
std::map<std::string, std::string> objectData(const Json& object, bool secret) {
  std::map<std::string, std::string> data;
  auto add = [&](const char* field, bool encoded) {
    auto it = object.find(field);
    if (it == object.end() || !it->is_object()) return;
    for (auto entry = it->begin(); entry != it->end(); ++entry) {
      if (!entry.value().is_string()) continue;
      std::string value = entry.value().get<std::string>();
      if (encoded) {
        auto decoded = core::decodeBase64(value);
        if (!decoded) continue;
        value = *decoded;
      }
      data[entry.key()] = value;
    }
  };
  if (secret) {
    add("data", true);
  } else {
    add("data", false);
    add("binaryData", true);
  }
  return data;
}

core::Status addObjectFiles(const std::string& kind, const Json& source, int defaultMode,
                            const VolumeLookup& lookup, std::vector<VolumeFile>& files) {
  bool secret = kind == "Secret";
  std::string name =
      stringAt(source, secret && source.contains("secretName") ? "secretName" : "name");
  std::string lower = secret ? "secret" : "configmap";
  auto object = lookup.object(kind, name);
  if (!object) {
    if (object.error().code == 404) {
      if (optionalAt(source)) return core::Ok{};
      return core::Error{404, "NotFound", lower + " \"" + name + "\" not found"};
    }
    return object.takeError();
  }
  std::map<std::string, std::string> data = objectData(*object, secret);
  auto items = source.find("items");
  if (items != source.end() && items->is_array() && !items->empty()) {
    for (const Json& item : *items) {
      std::string key = stringAt(item, "key");
      auto found = data.find(key);
      if (found == data.end()) {
        if (optionalAt(source)) continue;
        return core::badRequest(secret ? "references non-existent secret key: " + key
                                       : "configmap references non-existent config key: " + key);
      }
      files.push_back({stringAt(item, "path"), found->second, modeAt(item, "mode", defaultMode)});
    }
    return core::Ok{};
  }
  for (const auto& [key, value] : data) files.push_back({key, value, defaultMode});
  return core::Ok{};
}

core::Status addDownwardFiles(const Json& items, const Json& pod, int defaultMode,
                              const VolumeLookup& lookup, std::vector<VolumeFile>& files) {
  if (!items.is_array()) return core::Ok{};
  for (const Json& item : items) {
    std::string path = stringAt(item, "path");
    std::string value;
    if (auto ref = item.find("fieldRef"); ref != item.end() && ref->is_object()) {
      auto field = fieldValue(pod, stringAt(*ref, "fieldPath"));
      if (!field) return field.takeError();
      value = *field;
    } else if (auto resource = item.find("resourceFieldRef");
               resource != item.end() && resource->is_object()) {
      value = resourceValue(pod, *resource, lookup);
    }
    files.push_back({path, value, modeAt(item, "mode", defaultMode)});
  }
  return core::Ok{};
}

// A relative path that stays inside the volume (validation refuses others;
// this is the node's own guard).
bool safeRelative(const std::string& path) {
  if (path.empty() || path[0] == '/') return false;
  for (const auto& part : fs::path(path))
    if (part == "..") return false;
  return true;
}

}  // namespace

std::string volumeType(const Json& volume) {
  for (const char* type : {"emptyDir", "hostPath", "persistentVolumeClaim", "configMap", "secret",
                           "downwardAPI", "projected"})
    if (volume.contains(type) && volume[type].is_object()) return type;
  return "";
}

core::Result<std::vector<VolumeFile>> volumeFiles(const Json& volume, const Json& pod,
                                                  const VolumeLookup& lookup) {
  std::vector<VolumeFile> files;
  std::string type = volumeType(volume);
  const Json& source = type.empty() ? member(volume, "") : volume[type];
  int defaultMode = modeAt(source, "defaultMode", 0644);
  if (type == "configMap" || type == "secret") {
    auto added = addObjectFiles(type == "secret" ? "Secret" : "ConfigMap", source, defaultMode,
                                lookup, files);
    if (!added) return added.takeError();
  } else if (type == "downwardAPI") {
    auto added = addDownwardFiles(member(source, "items"), pod, defaultMode, lookup, files);
    if (!added) return added.takeError();
  } else if (type == "projected") {
    auto sources = source.find("sources");
    if (sources != source.end() && sources->is_array())
      for (const Json& projection : *sources) {
        if (!projection.is_object()) continue;
        core::Status added = core::Ok{};
        if (auto token = projection.find("serviceAccountToken");
            token != projection.end() && token->is_object()) {
          int64_t expiration = token->value("expirationSeconds", int64_t{3600});
          auto value = lookup.token(stringAt(*token, "audience"), expiration);
          if (!value) return value.takeError();
          files.push_back({stringAt(*token, "path"), *value, defaultMode});
        } else if (auto configMap = projection.find("configMap");
                   configMap != projection.end() && configMap->is_object()) {
          added = addObjectFiles("ConfigMap", *configMap, defaultMode, lookup, files);
        } else if (auto secret = projection.find("secret");
                   secret != projection.end() && secret->is_object()) {
          added = addObjectFiles("Secret", *secret, defaultMode, lookup, files);
        } else if (auto downward = projection.find("downwardAPI");
                   downward != projection.end() && downward->is_object()) {
          added = addDownwardFiles(member(*downward, "items"), pod, defaultMode, lookup, files);
        }
        if (!added) return added.takeError();
      }
  }
  for (const VolumeFile& file : files)
    if (!safeRelative(file.path)) return core::badRequest("invalid path in volume: " + file.path);
  return files;
}

core::Result<std::vector<runtime::Mount>> containerMounts(
    const Json& pod, const Json& container, const std::map<std::string, std::string>& volumePaths,
    const std::vector<std::string>& env) {
  std::map<std::string, std::string> types;
  const Json& volumes = member(member(pod, "spec"), "volumes");
  if (volumes.is_array())
    for (const Json& volume : volumes) types[stringAt(volume, "name")] = volumeType(volume);
  std::map<std::string, std::string> variables;
  for (const std::string& entry : env)
    if (size_t eq = entry.find('='); eq != std::string::npos)
      variables[entry.substr(0, eq)] = entry.substr(eq + 1);
  std::vector<runtime::Mount> mounts;
  auto list = container.find("volumeMounts");
  if (list == container.end() || !list->is_array()) return mounts;
  for (const Json& mount : *list) {
    std::string name = stringAt(mount, "name");
    auto path = volumePaths.find(name);
    if (path == volumePaths.end())
      return core::badRequest("cannot find volume \"" + name + "\" to mount into container \"" +
                              stringAt(container, "name") + "\"");
    std::string subPath = stringAt(mount, "subPath");
    if (std::string expression = stringAt(mount, "subPathExpr"); !expression.empty()) {
      // $(VAR) from the container's environment; an unknown one stays as written.
      subPath.clear();
      for (size_t i = 0; i < expression.size(); ++i) {
        size_t close;
        if (expression.compare(i, 2, "$(") == 0 &&
            (close = expression.find(')', i + 2)) != std::string::npos) {
          std::string variable = expression.substr(i + 2, close - i - 2);
          auto value = variables.find(variable);
          subPath += value != variables.end() ? value->second : expression.substr(i, close - i + 1);
          i = close;
        } else {
          subPath += expression[i];
        }
      }
    }
    std::string source = path->second;
    if (!subPath.empty()) {
      if (!safeRelative(subPath))
        return core::badRequest("subPath \"" + subPath +
                                "\" must be a relative path within the volume");
      source = (fs::path(source) / subPath).string();
      // kubelet makes a missing subPath as a directory in the volume.
      // kubelet makes a missing subPath as a directory in the volume, open
      // as the volume is (the agent's umask would make it root's alone).
      std::error_code error;
      if (!fs::exists(source, error)) {
        fs::create_directories(source, error);
        struct stat volumeRoot {};
        if (::stat(path->second.c_str(), &volumeRoot) == 0)
          ::chmod(source.c_str(), volumeRoot.st_mode & 07777);
      }
    }
    const std::string& type = types[name];
    bool readOnly = mount.value("readOnly", false) || type == "configMap" || type == "secret" ||
                    type == "downwardAPI" || type == "projected";
    mounts.push_back({source, stringAt(mount, "mountPath"), readOnly});
  }
  return mounts;
}

core::Status prepareHostPath(const std::string& path, const std::string& type) {
  struct stat info {};
  bool exists = ::stat(path.c_str(), &info) == 0;
  auto failed = [&](const std::string& what) {
    return core::badRequest("hostPath type check failed: " + path + " is not a " + what);
  };
  std::error_code error;
  if (type.empty() || type == "DirectoryOrCreate") {
    if (exists) {
      if (type == "DirectoryOrCreate" && !S_ISDIR(info.st_mode)) return failed("directory");
      return core::Ok{};
    }
    fs::create_directories(path, error);
    if (error) return core::internal("create " + path + ": " + error.message());
    ::chmod(path.c_str(), 0755);
    return core::Ok{};
  }
  if (type == "Directory")
    return exists && S_ISDIR(info.st_mode) ? core::Status(core::Ok{}) : failed("directory");
  if (type == "FileOrCreate") {
    if (exists) return S_ISREG(info.st_mode) ? core::Status(core::Ok{}) : failed("file");
    auto written = core::writeFileAtomically(path, "", 0644);
    if (!written) return written;
    return core::Ok{};
  }
  if (type == "File")
    return exists && S_ISREG(info.st_mode) ? core::Status(core::Ok{}) : failed("file");
  if (type == "Socket")
    return exists && S_ISSOCK(info.st_mode) ? core::Status(core::Ok{}) : failed("socket");
  if (type == "CharDevice")
    return exists && S_ISCHR(info.st_mode) ? core::Status(core::Ok{}) : failed("character device");
  if (type == "BlockDevice")
    return exists && S_ISBLK(info.st_mode) ? core::Status(core::Ok{}) : failed("block device");
  return core::badRequest("invalid hostPath type \"" + type + "\"");
}

core::Result<bool> writeVolumeFiles(const std::string& dir, const std::vector<VolumeFile>& files) {
  // Directories any container user can read, whatever the agent's umask:
  // the files' own modes (defaultMode, items' mode) say who reads them.
  std::error_code error;
  auto makeReadable = [&](const fs::path& directory) {
    if (fs::exists(directory, error)) return;
    fs::create_directories(directory, error);
    for (fs::path at = directory; !at.empty() && at.string().size() >= dir.size();
         at = at.parent_path()) {
      ::chmod(at.c_str(), 0755);
      if (at == at.parent_path()) break;
    }
  };
  makeReadable(dir);
  if (error) return core::internal("create " + dir + ": " + error.message());
  bool changed = false;
  std::set<std::string> wanted;
  for (const VolumeFile& file : files) {
    fs::path path = fs::path(dir) / file.path;
    wanted.insert(path.lexically_normal().string());
    makeReadable(path.parent_path());
    std::string current = core::readFile(path.string());
    struct stat info {};
    bool sameMode =
        ::stat(path.c_str(), &info) == 0 && static_cast<int>(info.st_mode & 07777) == file.mode;
    if (fs::exists(path, error) && current == file.content && sameMode) continue;
    auto written = core::writeFileAtomically(path.string(), file.content, file.mode, false);
    if (!written) return written.takeError();
    ::chmod(path.c_str(), static_cast<mode_t>(file.mode));
    changed = true;
  }
  // Keys removed from the source go from the volume.
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error))
    if (it->is_regular_file() && !wanted.count(it->path().lexically_normal().string()))
      stale.push_back(it->path());
  for (const fs::path& path : stale) {
    fs::remove(path, error);
    changed = true;
  }
  return changed;
}

}  // namespace podnet::agent
