#include "agent/pod_plan.h"

#include <cctype>
#include <optional>
#include <set>

#include "core/base64.h"
#include "core/error.h"

namespace podnet::agent {

namespace {

std::string stringAt(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> stringsAt(const Json& object, const char* key) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const Json& item : *it)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

}  // namespace

std::string imageName(const std::string& image) {
  std::string name = image;
  if (size_t at = name.find('@'); at != std::string::npos) name.resize(at);
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    name.resize(colon);
  // A first component with a dot or colon, or "localhost", is a registry.
  if (size_t first = name.find('/'); first != std::string::npos) {
    std::string head = name.substr(0, first);
    if (head.find('.') != std::string::npos || head.find(':') != std::string::npos ||
        head == "localhost")
      name = name.substr(first + 1);
  }
  if (name.rfind("library/", 0) == 0) name = name.substr(8);
  return name;
}

std::vector<std::string> containerArgv(const Json& container, const std::string& selfBinary,
                                       const std::string& reportedName) {
  std::vector<std::string> command = stringsAt(container, "command");
  std::vector<std::string> args = stringsAt(container, "args");
  if (!command.empty()) {
    command.insert(command.end(), args.begin(), args.end());
    return command;
  }
  std::string image = imageName(stringAt(container, "image"));
  if (image == "curlimages/curl" || image == "curl") {
    std::vector<std::string> argv{"curl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  if (image == "busybox") {
    if (args.empty()) return {"sh"};
    return args;
  }
  std::vector<std::string> argv{selfBinary, "testserver"};
  bool any = false;
  if (auto ports = container.find("ports"); ports != container.end() && ports->is_array()) {
    for (const Json& port : *ports) {
      if (!port.is_object() || !port.contains("containerPort") ||
          !port["containerPort"].is_number_integer())
        continue;
      std::string protocol = stringAt(port, "protocol");
      argv.push_back(protocol == "UDP" ? "--udp" : "--tcp");
      argv.push_back(std::to_string(port["containerPort"].get<int64_t>()));
      any = true;
    }
  }
  // agnhost's own port flags (netexec --http-port/--udp-port, serve-hostname
  // and porter --port): the ports the program listens on, as there.
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[i + 1];
    }
    const char* kind = flag == "--http-port" || flag == "--port" ? "--tcp"
                       : flag == "--udp-port"                    ? "--udp"
                                                                 : nullptr;
    if (!kind || value.empty() || value.size() > 5 ||
        value.find_first_not_of("0123456789") != std::string::npos || std::stoi(value) == 0 ||
        std::stoi(value) > 65535)
      continue;
    bool listed = false;
    for (size_t j = 2; j + 1 < argv.size(); j += 2)
      listed = listed || (argv[j] == kind && argv[j + 1] == value);
    if (listed) continue;
    argv.push_back(kind);
    argv.push_back(value);
    any = true;
  }
  if (!any) {
    argv.push_back("--tcp");
    argv.push_back("8080");
  }
  if (!reportedName.empty()) {
    argv.push_back("--name");
    argv.push_back(reportedName);
  }
  return argv;
}

namespace {

// kubelet's check for envFrom keys (validation.IsEnvVarName): letters,
// digits, '_', '-', '.', not starting with a digit.
bool isEnvVarName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return false;
  return true;
}

// The key/value pairs of a ConfigMap (data, then binaryData) or a Secret
// (data, base64 decoded).
std::vector<std::pair<std::string, std::string>> entriesOf(const std::string& kind,
                                                           const Json& object) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const char* field, bool base64) {
    auto it = object.find(field);
    if (it == object.end() || !it->is_object()) return;
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) continue;
      if (!base64) {
        out.emplace_back(key, value.get<std::string>());
      } else if (auto decoded = core::decodeBase64(value.get<std::string>())) {
        out.emplace_back(key, *decoded);
      }
    }
  };
  if (kind == "Secret") {
    add("data", true);
  } else {
    add("data", false);
    add("binaryData", true);
  }
  return out;
}

core::Error configError(std::string message) {
  return core::Error{400, "CreateContainerConfigError", std::move(message)};
}

std::string lowerKind(const std::string& kind) { return kind == "Secret" ? "secret" : "configmap"; }

}  // namespace

std::vector<std::string> containerEnvironment(const Json& pod, const Json& container,
                                              const PodFacts& facts) {
  auto env = containerEnvironment(pod, container, facts, nullptr);
  return env ? std::move(*env) : std::vector<std::string>{};
}

core::Result<std::vector<std::string>> containerEnvironment(const Json& pod, const Json& container,
                                                            const PodFacts& facts,
                                                            const ObjectLookup& lookup) {
  std::vector<std::string> env{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                               "HOSTNAME=" + podHostname(pod)};
  std::set<std::string> named;
  auto fieldValue = [&](const std::string& path) -> std::string {
    if (path == "metadata.name") return facts.name;
    if (path == "metadata.namespace") return facts.ns;
    if (path == "metadata.uid") return api::uid(pod);
    if (path == "spec.nodeName") return facts.nodeName;
    if (path == "spec.serviceAccountName") return facts.serviceAccount;
    if (path == "status.podIP") return facts.podIp;
    if (path == "status.hostIP") return facts.hostIp;
    return "";
  };
  // The object a reference names: nullopt when it is optional and missing.
  auto fetch = [&](const std::string& kind, const Json& ref) -> core::Result<std::optional<Json>> {
    std::string name = stringAt(ref, "name");
    bool optional = ref.value("optional", false);
    if (!lookup) return std::optional<Json>();
    auto object = lookup(kind, name);
    if (object) return std::optional<Json>(std::move(*object));
    if (object.error().code != 404) return object.takeError();
    if (optional) return std::optional<Json>();
    return configError(lowerKind(kind) + " \"" + name + "\" not found");
  };
  // Variables in order; a later one of the same name replaces an earlier.
  std::vector<std::pair<std::string, std::string>> own;
  auto set = [&](const std::string& name, std::string value) {
    named.insert(name);
    for (auto& [existing, old] : own)
      if (existing == name) {
        old = std::move(value);
        return;
      }
    own.emplace_back(name, std::move(value));
  };
  if (auto sources = container.find("envFrom"); sources != container.end() && sources->is_array()) {
    for (const Json& source : *sources) {
      if (!source.is_object()) continue;
      std::string prefix = stringAt(source, "prefix");
      for (const auto& [kind, field] :
           {std::pair{"ConfigMap", "configMapRef"}, std::pair{"Secret", "secretRef"}}) {
        auto ref = source.find(field);
        if (ref == source.end() || !ref->is_object()) continue;
        auto object = fetch(kind, *ref);
        if (!object) return object.takeError();
        if (!*object) continue;
        for (auto& [key, value] : entriesOf(kind, **object))
          if (isEnvVarName(prefix + key)) set(prefix + key, std::move(value));
      }
    }
  }
  if (auto list = container.find("env"); list != container.end() && list->is_array()) {
    for (const Json& item : *list) {
      if (!item.is_object()) continue;
      std::string name = stringAt(item, "name");
      if (name.empty()) continue;
      std::string value = stringAt(item, "value");
      bool unset = false;  // an optional reference to nothing
      if (auto from = item.find("valueFrom"); from != item.end() && from->is_object()) {
        if (auto ref = from->find("fieldRef"); ref != from->end() && ref->is_object())
          value = fieldValue(stringAt(*ref, "fieldPath"));
        for (const auto& [kind, field] :
             {std::pair{"ConfigMap", "configMapKeyRef"}, std::pair{"Secret", "secretKeyRef"}}) {
          auto ref = from->find(field);
          if (ref == from->end() || !ref->is_object()) continue;
          auto object = fetch(kind, *ref);
          if (!object) return object.takeError();
          if (!*object) {  // optional and missing: the variable is not set
            unset = true;
            continue;
          }
          std::string key = stringAt(*ref, "key");
          bool found = false;
          for (auto& [entry, entryValue] : entriesOf(kind, **object))
            if (entry == key) {
              value = std::move(entryValue);
              found = true;
            }
          if (!found && !ref->value("optional", false))
            return configError("couldn't find key " + key + " in " + kind + " " + facts.ns + "/" +
                               stringAt(*ref, "name"));
          unset = unset || !found;
        }
      }
      if (!unset) set(name, value);
    }
  }
  auto add = [&](const std::string& name, const std::string& value) {
    if (!named.count(name)) env.push_back(name + "=" + value);
  };
  for (const std::string& link : facts.serviceLinks)
    add(link.substr(0, link.find('=')), link.substr(link.find('=') + 1));
  add("POD_NAME", facts.name);
  add("POD_NAMESPACE", facts.ns);
  add("POD_IP", facts.podIp);
  for (auto& [name, value] : own) env.push_back(name + "=" + value);
  return env;
}

std::vector<std::string> serviceLinkEnvironment(const std::vector<Json>& services) {
  std::vector<std::string> env;
  for (const Json& service : services) {
    const Json& spec = service.value("spec", Json::object());
    std::string ip = stringAt(spec, "clusterIP");
    if (ip.empty() || ip == "None") continue;
    auto ports = spec.find("ports");
    if (ports == spec.end() || !ports->is_array() || ports->empty()) continue;
    auto envName = [](std::string text) {
      for (char& c : text)
        c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return text;
    };
    std::string prefix = envName(api::name(service));
    auto portOf = [](const Json& port) {
      return port.contains("port") && port["port"].is_number_integer()
                 ? std::to_string(port["port"].get<int64_t>())
                 : std::string();
    };
    auto protocolOf = [](const Json& port) {
      std::string protocol = stringAt(port, "protocol");
      if (protocol.empty()) protocol = "TCP";
      return protocol;
    };
    const Json& first = (*ports)[0];
    env.push_back(prefix + "_SERVICE_HOST=" + ip);
    env.push_back(prefix + "_SERVICE_PORT=" + portOf(first));
    for (const Json& port : *ports) {
      std::string name = stringAt(port, "name");
      if (!name.empty())
        env.push_back(prefix + "_SERVICE_PORT_" + envName(name) + "=" + portOf(port));
    }
    std::string firstProtocol = protocolOf(first);
    for (char& c : firstProtocol)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    env.push_back(prefix + "_PORT=" + firstProtocol + "://" + ip + ":" + portOf(first));
    for (const Json& port : *ports) {
      std::string protocol = protocolOf(port);
      std::string lower = protocol;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string key = prefix + "_PORT_" + portOf(port) + "_" + protocol;
      env.push_back(key + "=" + lower + "://" + ip + ":" + portOf(port));
      env.push_back(key + "_PROTO=" + lower);
      env.push_back(key + "_PORT=" + portOf(port));
      env.push_back(key + "_ADDR=" + ip);
    }
  }
  return env;
}

std::string resolvConf(const Json& pod, const std::string& clusterDns,
                       const std::string& clusterDomain, const std::string& hostResolvConf) {
  const Json& spec = pod.contains("spec") ? pod["spec"] : Json::object();
  std::string policy = stringAt(spec, "dnsPolicy");
  if (policy.empty()) policy = "ClusterFirst";
  std::vector<std::string> servers, searches, options;
  bool hostNetwork = spec.value("hostNetwork", false);
  if (policy == "Default" || (policy == "ClusterFirst" && hostNetwork)) {
    // The host's file: its nameservers, search and options.
    size_t start = 0;
    while (start < hostResolvConf.size()) {
      size_t end = hostResolvConf.find('\n', start);
      if (end == std::string::npos) end = hostResolvConf.size();
      std::string line = hostResolvConf.substr(start, end - start);
      start = end + 1;
      auto rest = [&](size_t skip) { return line.substr(skip); };
      if (line.rfind("nameserver ", 0) == 0) servers.push_back(rest(11));
      if (line.rfind("search ", 0) == 0) searches.push_back(rest(7));
      if (line.rfind("options ", 0) == 0) options.push_back(rest(8));
    }
  } else if (policy != "None") {
    servers.push_back(clusterDns);
    std::string ns = api::namespaceOf(pod);
    if (ns.empty()) ns = "default";
    searches = {ns + ".svc." + clusterDomain, "svc." + clusterDomain, clusterDomain};
    options = {"ndots:5"};
  }
  if (auto config = spec.find("dnsConfig"); config != spec.end() && config->is_object()) {
    for (const std::string& server : stringsAt(*config, "nameservers")) servers.push_back(server);
    for (const std::string& search : stringsAt(*config, "searches")) searches.push_back(search);
    if (auto list = config->find("options"); list != config->end() && list->is_array()) {
      for (const Json& option : *list) {
        if (!option.is_object()) continue;
        std::string name = stringAt(option, "name");
        std::string value = stringAt(option, "value");
        if (name.empty()) continue;
        std::string text = value.empty() ? name : name + ":" + value;
        std::erase_if(options, [&](const std::string& existing) {
          return existing.substr(0, existing.find(':')) == name;
        });
        options.push_back(text);
      }
    }
  }
  std::string out;
  if (!searches.empty()) {
    out += "search";
    for (const std::string& search : searches) out += " " + search;
    out += "\n";
  }
  for (size_t i = 0; i < servers.size() && i < 3; ++i) out += "nameserver " + servers[i] + "\n";
  if (!options.empty()) {
    out += "options";
    for (const std::string& option : options) out += " " + option;
    out += "\n";
  }
  return out;
}

std::string podHostname(const Json& pod) {
  std::string hostname;
  // A hostNetwork pod shares the node's network and sees the node's name.
  if (pod.contains("spec") && pod["spec"].is_object() && pod["spec"].value("hostNetwork", false))
    hostname = stringAt(pod["spec"], "nodeName");
  if (pod.contains("spec") && hostname.empty()) hostname = stringAt(pod["spec"], "hostname");
  if (hostname.empty()) hostname = api::name(pod);
  if (hostname.size() > 63) hostname.resize(63);
  return hostname;
}

std::string hostsFile(const Json& pod, const std::string& podIp, const std::string& clusterDomain) {
  std::string out =
      "# Kubernetes-managed hosts file.\n"
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n";
  std::string hostname = podHostname(pod);
  std::string subdomain = pod.contains("spec") ? stringAt(pod["spec"], "subdomain") : "";
  if (!podIp.empty()) {
    if (!subdomain.empty()) {
      std::string ns = api::namespaceOf(pod);
      out += podIp + "\t" + hostname + "." + subdomain + "." + ns + ".svc." + clusterDomain + "\t" +
             hostname + "\n";
    } else {
      out += podIp + "\t" + hostname + "\n";
    }
  }
  if (pod.contains("spec")) {
    if (auto aliases = pod["spec"].find("hostAliases");
        aliases != pod["spec"].end() && aliases->is_array()) {
      out += "\n# Entries added by HostAliases.\n";
      for (const Json& alias : *aliases) {
        if (!alias.is_object()) continue;
        std::string ip = stringAt(alias, "ip");
        std::vector<std::string> names = stringsAt(alias, "hostnames");
        if (ip.empty() || names.empty()) continue;
        out += ip;
        for (const std::string& name : names) out += "\t" + name;
        out += "\n";
      }
    }
  }
  return out;
}

}  // namespace podnet::agent
