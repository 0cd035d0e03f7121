#include "ingress/balancer.h"

#include <algorithm>

#include "core/ip.h"

namespace podnet::ingress {

namespace {

// "always" / "never" / anything else (no opinion).
enum class Vote { always, never, none };

Vote vote(std::string_view value) {
  if (value == "always") return Vote::always;
  if (value == "never") return Vote::never;
  return Vote::none;
}

}  // namespace

const Route& chooseCanary(const Route& main, const std::vector<http::Header>& headers,
                          uint32_t random) {
  for (const auto& canaryPtr : main.canaries) {
    const Route& canary = *canaryPtr;
    const Annotations& a = *canary.annotations;
    if (!canary.backend || canary.backend->endpoints.empty()) continue;
    if (!a.canaryByHeader.empty()) {
      if (const http::Header* h = http::findHeader(headers, a.canaryByHeader)) {
        if (!a.canaryByHeaderValue.empty()) {
          if (h->value == a.canaryByHeaderValue) return canary;
        } else {
          Vote v = vote(h->value);
          if (v == Vote::always) return canary;
          if (v == Vote::never) continue;
        }
      }
    }
    if (!a.canaryByCookie.empty()) {
      Vote v = vote(cookieValue(headers, a.canaryByCookie));
      if (v == Vote::always) return canary;
      if (v == Vote::never) continue;
    }
    if (a.canaryWeight && a.canaryWeightTotal > 0) {
      uint64_t draw = (uint64_t(random) * a.canaryWeightTotal) >> 32;  // [0, total)
      if (draw < *a.canaryWeight) return canary;
    }
  }
  return main;
}

std::string_view cookieValue(const std::vector<http::Header>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (!http::equalsIgnoreCase(h.name, "cookie")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        std::string_view value = pair.substr(eq + 1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
          value = value.substr(1, value.size() - 2);
        return value;
      }
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
  }
  return {};
}

std::string affinityValue(const Endpoint& endpoint) {
  // FNV-1a over the address and port: stable across proxy restarts and
  // threads, so a client keeps its pod while the pod is there.
  std::string key = endpoint.ip.toString() + ":" + std::to_string(endpoint.port);
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  static const char* hex = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[size_t(i)] = hex[hash & 15];
    hash >>= 4;
  }
  return out;
}

EndpointChoice chooseEndpoint(const Route& route, const BackendTarget& target,
                              const std::vector<http::Header>& headers,
                              const std::vector<Endpoint>& tried) {
  EndpointChoice choice;
  const auto& endpoints = target.endpoints;
  if (endpoints.empty()) return choice;
  auto wasTried = [&](const Endpoint& e) {
    return std::find(tried.begin(), tried.end(), e) != tried.end();
  };
  const Annotations* a = route.annotations.get();
  bool affinity = a && a->affinityCookie;
  if (affinity) {
    std::string_view wanted = cookieValue(headers, *a->affinityCookie);
    if (!wanted.empty())
      for (const auto& e : endpoints)
        if (!wasTried(e) && affinityValue(e) == wanted) {
          choice.endpoint = &e;
          return choice;
        }
  }
  size_t n = endpoints.size();
  uint32_t start = target.next.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    const Endpoint& e = endpoints[(start + i) % n];
    if (wasTried(e)) continue;
    choice.endpoint = &e;
    break;
  }
  if (affinity && choice.endpoint) {
    std::string path = route.path.empty() || route.regex ? "/" : route.path;
    choice.setCookie = "Set-Cookie: " + *a->affinityCookie + "=" + affinityValue(*choice.endpoint) +
                       "; Path=" + path + "; HttpOnly\r\n";
  }
  return choice;
}

}  // namespace podnet::ingress
