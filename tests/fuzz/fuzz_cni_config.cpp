// Fuzzes the CNI plugin with arbitrary stdin configs: every command (ADD,
// CHECK, DEL, GC, STATUS, VERSION, and ADD with a requested IP) runs through
// the dispatcher with a fake backend and a private IPAM directory. It must
// never crash, and every reply must be well-formed: a JSON object on stdout
// for ADD/VERSION and errors, nothing else for a successful DEL/CHECK/GC/STATUS.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cni/ipam.h"
#include "cni/plugin.h"
#include "cni/types.h"

namespace {

using namespace podnet::cni;

class FuzzBackend : public NetworkBackend {
 public:
  bool failSetUp = false;
  Outcome<PodLinks> setUpPod(const PodNetworkSpec& spec) override {
    if (failSetUp) return CniError{kIoFailure, "injected failure", ""};
    return PodLinks{{spec.bridge, "0a:00:00:00:00:01", spec.mtu},
                    {"veth0", "0a:00:00:00:00:02", spec.mtu},
                    {spec.ifname, "0a:00:00:00:00:03", spec.mtu}};
  }
  CniStatus tearDownPod(const std::string&, const std::string&) override { return Done{}; }
  CniStatus checkPod(const PodNetworkSpec&) override { return Done{}; }
  bool ready() override { return true; }
};

// One IPAM directory per process, emptied after every input and removed at exit.
struct ScratchDirectory {
  std::string path;
  ScratchDirectory() {
    std::string pattern = "/tmp/podnet-fuzz-cni-XXXXXX";
    if (::mkdtemp(pattern.data())) path = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  void empty() {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
      std::filesystem::remove_all(it->path(), ec);
  }
};

void expectWellFormed(const Response& response, Command command) {
  bool printsOnSuccess = command == Command::kAdd || command == Command::kVersion;
  if (response.exitCode == 0 && !printsOnSuccess) {
    if (!response.stdoutJson.empty()) {
      std::fprintf(stderr, "unexpected output for %s: %s\n",
                   std::string(commandName(command)).c_str(), response.stdoutJson.c_str());
      __builtin_trap();
    }
    return;
  }
  auto json = Json::parse(response.stdoutJson, nullptr, false);
  bool valid = json.is_object() && json.contains("cniVersion");
  if (response.exitCode != 0)
    valid = valid && json.contains("code") && json["code"].is_number_integer() &&
            json.contains("msg") && json["msg"].is_string();
  if (!valid) {
    std::fprintf(stderr, "malformed reply (exit %d): %s\n", response.exitCode,
                 response.stdoutJson.c_str());
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ScratchDirectory scratch;
  if (scratch.path.empty()) return 0;
  std::string_view config(reinterpret_cast<const char*>(data), size);
  FuzzBackend backend;
  backend.failSetUp = size % 7 == 0;  // sometimes exercise the release-on-failure path
  PluginOptions options;
  options.dataDirOverride = scratch.path;

  struct Variant {
    const char* command;
    const char* args;
    bool withNetns;
  };
  static const Variant variants[] = {
      {"VERSION", "", false}, {"ADD", "", true},
      {"CHECK", "", true},    {"ADD", "IP=10.244.0.7;IgnoreUnknown=1", true},
      {"STATUS", "", false},  {"DEL", "", true},
      {"DEL", "", false},     {"GC", "", false},
  };
  int index = 0;
  for (const auto& variant : variants) {
    std::map<std::string, std::string> env = {
        {"CNI_COMMAND", variant.command},
        {"CNI_CONTAINERID", "fuzz" + std::to_string(index++ % 2)},
        {"CNI_IFNAME", "eth0"},
        {"CNI_PATH", "/usr/lib/cni"}};
    if (variant.withNetns) env["CNI_NETNS"] = "/run/netns/fuzz";
    if (*variant.args) env["CNI_ARGS"] = variant.args;
    auto invocation = parseInvocation(env);
    if (!invocation) __builtin_trap();  // the variants are all valid environments
    expectWellFormed(runPlugin(*invocation, config, backend, options), invocation->command);
  }
  // Invalid environments must be error JSON too.
  expectWellFormed(runPlugin(std::map<std::string, std::string>{{"CNI_COMMAND", "ADD"}}, config,
                             backend, options),
                   Command::kAdd);
  scratch.empty();
  return 0;
}
