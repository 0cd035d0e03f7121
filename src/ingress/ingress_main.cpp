#include "ingress/ingress_main.h"

#include <signal.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/codec.h"
#include "api/object.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "core/flags.h"
#include "core/heap.h"
#include "ingress/controller.h"
#include "ingress/proxy.h"

namespace podnet::ingress {

namespace {

std::atomic<bool> stopRequested{false};
void onSignal(int) { stopRequested = true; }

constexpr const char* kUsage =
    "usage: podnet ingress (--kubeconfig FILE | --objects FILE) [flags]\n"
    "  --kubeconfig FILE            the cluster whose Ingresses to serve\n"
    "  --objects FILE               serve a fixed JSON/YAML file of Ingresses, IngressClasses,\n"
    "                               Services, EndpointSlices and Secrets, and of GatewayClasses,\n"
    "                               Gateways, HTTPRoutes, ReferenceGrants and Namespaces (a\n"
    "                               Gateway is served on the ports its Service annotated\n"
    "                               podnet.io/gateway maps its listeners to) (no API server)\n"
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
    "  --proxy-body-size BYTES      request body limit (0: none), default 1048576\n"
    "  --upstream-keepalive-connections N\n"
    "                               idle connections kept per endpoint and thread, default 320\n";

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

core::Result<RouteInputs> loadRouteInputs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::badRequest("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto decoded = api::decodeObjects(text.str());
  if (!decoded) return core::badRequest(path + ": " + decoded.error().message);
  RouteInputs inputs;
  for (auto& object : *decoded) {
    std::string kind = api::kindOf(object);
    auto shared = std::make_shared<const Json>(std::move(object));
    if (kind == "Ingress")
      inputs.ingresses.push_back(shared);
    else if (kind == "IngressClass")
      inputs.ingressClasses.push_back(shared);
    else if (kind == "Service")
      inputs.services.push_back(shared);
    else if (kind == "EndpointSlice")
      inputs.endpointSlices.push_back(shared);
    else if (kind == "Secret")
      inputs.secrets.push_back(shared);
    else if (kind == "GatewayClass")
      inputs.gatewayClasses.push_back(shared);
    else if (kind == "Gateway")
      inputs.gateways.push_back(shared);
    else if (kind == "HTTPRoute")
      inputs.httpRoutes.push_back(shared);
    else if (kind == "ReferenceGrant")
      inputs.referenceGrants.push_back(shared);
    else if (kind == "Namespace")
      inputs.namespaces.push_back(shared);
  }
  inputs.now = api::nowRfc3339();
  return inputs;
}

int runIngressMain(const std::vector<std::string>& args) {
  // Proxy threads allocate per request: no arena cap.
  core::tuneHeapForBursts(0);
  ProxyOptions proxyOptions;
  ControllerOptions controllerOptions;
  std::string kubeconfig, objectsFile;
  core::Flags flags = core::splitFlags(args);
  if (flags.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!flags.missingValue.empty()) {
    std::fprintf(stderr, "podnet ingress: %s needs a value\n%s", flags.missingValue.c_str(),
                 kUsage);
    return 2;
  }
  for (const auto& [flag, value] : flags.values) {
    long number = 0;
    if (flag == "--kubeconfig") {
      kubeconfig = value;
    } else if (flag == "--objects") {
      objectsFile = value;
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
    } else if (flag == "--threads" && core::parseWholeNumber(value, number) && number > 0 &&
               number <= 256) {
      proxyOptions.threads = int(number);
    } else if (flag == "--upstream-keepalive-connections" &&
               core::parseWholeNumber(value, number) && number >= 0 && number <= 100000) {
      proxyOptions.idlePerEndpoint = size_t(number);
    } else if (flag == "--proxy-body-size" && core::parseWholeNumber(value, number) &&
               number >= 0) {
      proxyOptions.exchange.bodyLimit = uint64_t(number);
    } else {
      std::fprintf(stderr, "podnet ingress: unknown or invalid flag %s %s\n%s", flag.c_str(),
                   value.c_str(), kUsage);
      return 2;
    }
  }
  if (kubeconfig.empty() == objectsFile.empty()) {
    std::fprintf(stderr, "podnet ingress: give exactly one of --kubeconfig and --objects\n%s",
                 kUsage);
    return 2;
  }
  std::unique_ptr<client::Client> api;
  CompiledRoutes fixed;
  if (!objectsFile.empty()) {
    auto inputs = loadRouteInputs(objectsFile);
    if (!inputs) {
      std::fprintf(stderr, "podnet ingress: %s\n", inputs.error().message.c_str());
      return 1;
    }
    inputs->classes = controllerOptions.classes;
    fixed = compileRoutes(*inputs);
    for (const auto& d : fixed.diagnostics)
      std::fprintf(stderr, "podnet ingress: %s: %s: %s\n", d.ingress.c_str(), d.reason.c_str(),
                   d.message.c_str());
  } else {
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
    api = std::move(*made);
  }

  struct sigaction action {};
  action.sa_handler = onSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Proxy proxy(proxyOptions);
  std::atomic<Controller*> readiness{nullptr};
  std::atomic<bool> fixedReady{false};
  proxy.setReadyCheck([&readiness, &fixedReady] {
    Controller* controller = readiness.load();
    return fixedReady.load() || (controller && controller->ready());
  });
  if (auto started = proxy.start(); !started) {
    std::fprintf(stderr, "podnet ingress: %s\n", started.error().message.c_str());
    return 1;
  }
  std::unique_ptr<Controller> controller;
  if (api) {
    controller = std::make_unique<Controller>(*api, proxy, controllerOptions);
    readiness.store(controller.get());
    controller->start();
  } else {
    proxy.publish(fixed.table, fixed.diagnostics.size());
    fixedReady.store(true);
  }
  std::printf("podnet ingress: serving HTTP on %s, HTTPS on %s, metrics on %s\n",
              proxyOptions.httpListen.empty() ? "-" : proxyOptions.httpListen.c_str(),
              proxyOptions.httpsListen.empty() ? "-" : proxyOptions.httpsListen.c_str(),
              proxyOptions.metricsListen.empty() ? "-" : proxyOptions.metricsListen.c_str());
  std::fflush(stdout);
  while (!stopRequested.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  proxy.stop();
  if (controller) controller->stop();
  std::fprintf(stderr, "podnet ingress: stopped\n");
  return 0;
}

}  // namespace podnet::ingress
