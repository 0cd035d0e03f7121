#include "cni/entry.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>

#include "cni/netlink_backend.h"
#include "cni/plugin.h"
#include "cni/trace.h"
#include "cni/types.h"

namespace podnet::cni {

namespace {

// Reads all of fd 0; false on a read error.
bool readStdin(std::string& out) {
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out.append(buffer, size_t(n));
  }
}

void emit(const Response& response) {
  if (!response.stdoutJson.empty()) {
    std::fwrite(response.stdoutJson.data(), 1, response.stdoutJson.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
}

int run() {
  traceMark("main");
  auto invocation = invocationFromProcessEnvironment();
  std::string config;
  // VERSION needs no config; not reading lets it be run by hand from a terminal.
  bool needsConfig = !invocation || invocation->command != Command::kVersion;
  if (needsConfig && !(!invocation && isatty(STDIN_FILENO)) && !readStdin(config)) {
    Response response = errorResponse({kIoFailure, "reading stdin failed", ""}, kLatestVersion);
    std::fprintf(stderr, "podnet-cni: reading stdin failed\n");
    emit(response);
    return response.exitCode;
  }
  if (!invocation) {
    std::fprintf(stderr, "podnet-cni: %s\n", invocation.error().msg.c_str());
    Response response = errorResponse(invocation.error(), peekCniVersion(config));
    emit(response);
    return response.exitCode;
  }
  traceMark("stdin read");
  NetlinkBackend backend;
  Response response = runPlugin(*invocation, config, backend);
  if (response.exitCode != 0)
    std::fprintf(stderr, "podnet-cni: %s %s/%s failed: %s\n",
                 std::string(commandName(invocation->command)).c_str(),
                 invocation->containerId.c_str(), invocation->ifname.c_str(),
                 response.stdoutJson.c_str());
  emit(response);
  traceMark("result written");
  return response.exitCode;
}

}  // namespace

int runCniMain() {
  // Last resort (e.g. bad_alloc): still answer in the CNI error format.
  try {
    return run();
  } catch (const std::exception& error) {
    Response response = errorResponse({kIoFailure, error.what(), ""}, kLatestVersion);
    emit(response);
    return response.exitCode;
  } catch (...) {
    Response response = errorResponse({kIoFailure, "unexpected failure", ""}, kLatestVersion);
    emit(response);
    return response.exitCode;
  }
}

}  // namespace podnet::cni
