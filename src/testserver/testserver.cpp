#include "testserver/testserver.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "testserver/server.h"

namespace podnet::testserver {

int runMain(const std::vector<std::string>& args) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  ParsedArgs parsed = parseArgs(args, std::getenv("POD_NAME"), std::getenv("POD_IP"), host);
  if (parsed.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "podnet testserver: %s\n%s", parsed.error.c_str(), kUsage);
    return 2;
  }
  if (const char* ns = std::getenv("POD_NAMESPACE")) parsed.options.self.ns = ns;

  // SIGTERM and SIGINT are blocked in every thread and taken by sigwait below.
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, &previous);

  int status = 0;
  {
    Server server(parsed.options);
    std::string error = server.start();
    if (!error.empty()) {
      std::fprintf(stderr, "podnet testserver: %s\n", error.c_str());
      status = 1;
    } else {
      std::string ports;
      for (uint16_t p : server.tcpPorts()) ports += " tcp/" + std::to_string(p);
      for (uint16_t p : server.udpPorts()) ports += " udp/" + std::to_string(p);
      std::fprintf(stderr, "podnet testserver: %s serving on%s\n", parsed.options.self.name.c_str(),
                   ports.c_str());
      int sig = 0;
      while (sigwait(&signals, &sig) != 0) {
      }
      std::fprintf(stderr, "podnet testserver: %s, exiting\n", strsignal(sig));
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return status;
}

}  // namespace podnet::testserver
