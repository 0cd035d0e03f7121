#include "ingress/ingress_main.h"

#include <signal.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "ingress/controller.h"
#include "ingress/proxy.h"

namespace podnet::ingress {

namespace {

std::atomic<bool> stopRequested{false};
void onSignal(int) { stopRequested = true; }

constexpr const char* kUsage =
    "usage: podnet ingress --kubeconfig FILE [flags]\n"
    "  --kubeconfig FILE            the cluster whose Ingresses to serve\n"
    "  --listen-http ADDR:PORT      default :80 ('' for none)\n"
    "  --listen-https ADDR:PORT     default :443 ('' for none)\n"
    "  --listen-metrics ADDR:PORT   /metrics and /healthz, default :10254 ('' for none)\n"
    "  --classes A,B                IngressClass names served even without an IngressClass\n"
    "                               object; classes whose controller is podnet.io/ingress\n"
    "                               are always served; default podnet,nginx\n"
    "  --publish-service NS/NAME    the LoadBalancer Service whose address goes into\n"
    "                               Ingress status\n"
    "  --publish-status-address A   a fixed address for Ingress status instead (repeatable)\n"
    "  --threads N                  proxy threads, default: one per CPU\n"
    "  --proxy-body-size BYTES      request body limit (0: none), default 1048576\n";

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool parseNumber(const std::string& text, long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

int runIngressMain(const std::vector<std::string>& args) {
  ProxyOptions proxyOptions;
  ControllerOptions controllerOptions;
  std::string kubeconfig;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (size_t equals = flag.find('='); equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag.resize(equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      std::fprintf(stderr, "podnet ingress: %s needs a value\n%s", flag.c_str(), kUsage);
      return 2;
    }
    long number = 0;
    if (flag == "--kubeconfig") {
      kubeconfig = value;
    } else if (flag == "--listen-http") {
      proxyOptions.httpListen = value;
    } else if (flag == "--listen-https") {
      proxyOptions.httpsListen = value;
    } else if (flag == "--listen-metrics") {
      proxyOptions.metricsListen = value;
    } else if (flag == "--classes") {
      controllerOptions.classes = splitList(value);
    } else if (flag == "--publish-service" && value.find('/') != std::string::npos) {
      controllerOptions.publishService = value;
    } else if (flag == "--publish-status-address") {
      controllerOptions.publishAddresses.push_back(value);
    } else if (flag == "--threads" && parseNumber(value, number) && number > 0 && number <= 256) {
      proxyOptions.threads = int(number);
    } else if (flag == "--proxy-body-size" && parseNumber(value, number) && number >= 0) {
      proxyOptions.exchange.bodyLimit = uint64_t(number);
    } else {
      std::fprintf(stderr, "podnet ingress: unknown or invalid flag %s %s\n%s", flag.c_str(),
                   value.c_str(), kUsage);
      return 2;
    }
  }
  if (kubeconfig.empty()) {
    std::fprintf(stderr, "podnet ingress: --kubeconfig is required\n%s", kUsage);
    return 2;
  }
  auto rest = client::loadKubeconfig(kubeconfig);
  if (!rest) {
    std::fprintf(stderr, "podnet ingress: %s\n", rest.error().message.c_str());
    return 1;
  }
  rest->userAgent = "podnet/ingress";
  auto made = client::RestClient::make(*rest);
  if (!made) {
    std::fprintf(stderr, "podnet ingress: %s\n", made.error().message.c_str());
    return 1;
  }
  std::unique_ptr<client::Client> api = std::move(*made);

  struct sigaction action {};
  action.sa_handler = onSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Proxy proxy(proxyOptions);
  std::atomic<Controller*> readiness{nullptr};
  proxy.setReadyCheck([&readiness] {
    Controller* controller = readiness.load();
    return controller && controller->ready();
  });
  if (auto started = proxy.start(); !started) {
    std::fprintf(stderr, "podnet ingress: %s\n", started.error().message.c_str());
    return 1;
  }
  Controller controller(*api, proxy, controllerOptions);
  readiness.store(&controller);
  controller.start();
  std::printf("podnet ingress: serving HTTP on %s, HTTPS on %s, metrics on %s\n",
              proxyOptions.httpListen.empty() ? "-" : proxyOptions.httpListen.c_str(),
              proxyOptions.httpsListen.empty() ? "-" : proxyOptions.httpsListen.c_str(),
              proxyOptions.metricsListen.empty() ? "-" : proxyOptions.metricsListen.c_str());
  std::fflush(stdout);
  while (!stopRequested.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  proxy.stop();
  controller.stop();
  std::fprintf(stderr, "podnet ingress: stopped\n");
  return 0;
}

}  // namespace podnet::ingress
