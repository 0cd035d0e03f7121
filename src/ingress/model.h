// Ingress (networking.k8s.io/v1), IngressClass and the ingress-nginx
// annotations users rely on, as typed values. Annotation values are parsed
// against strict grammars here and refused otherwise: nothing a user writes
// ever becomes configuration text or code (ingress-nginx's CVE-2025-1974
// class of bugs).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/codec.h"
#include "core/ip.h"
#include "core/result.h"

namespace podnet::ingress {

using Json = api::Json;

enum class PathType { exact, prefix, implementationSpecific };

struct Backend {
  // A Service in the Ingress's namespace, by port number or port name ...
  std::string service;
  uint16_t portNumber = 0;
  std::string portName;
  // ... or a resource (not served: a 503 and an Event).
  std::string resourceKind;
  bool isService() const { return !service.empty(); }
};

struct IngressPath {
  std::string path;
  PathType type = PathType::prefix;
  Backend backend;
};

struct IngressRule {
  std::string host;  // "" = every host; "*.example.com" = one label
  std::vector<IngressPath> paths;
};

struct IngressTls {
  std::vector<std::string> hosts;
  std::string secretName;
};

enum class BackendProtocol { http, https, grpc, grpcs };

// The ingress-nginx annotations podnet serves (nginx.ingress.kubernetes.io/...).
struct Annotations {
  std::optional<std::string> rewriteTarget;  // "/$2": literal text and $1-$9 only
  bool useRegex = false;
  std::optional<bool> sslRedirect;  // default: true when the Ingress has TLS for the host
  bool forceSslRedirect = false;
  std::optional<std::string> appRoot;        // "/app": redirects "/" there
  std::optional<uint64_t> proxyBodySize;     // bytes; 0 = no limit
  std::vector<core::Cidr> allowSourceRange;  // empty = everyone
  BackendProtocol backendProtocol = BackendProtocol::http;
  // affinity: cookie
  std::optional<std::string> affinityCookie;  // the cookie's name
  // canary
  bool canary = false;
  std::string canaryByHeader;       // header name
  std::string canaryByHeaderValue;  // exact value ("" = "always"/"never" semantics)
  std::string canaryByCookie;
  std::optional<uint32_t> canaryWeight;  // 0-100 (of canaryWeightTotal)
  uint32_t canaryWeightTotal = 100;
  // seconds
  std::optional<uint32_t> connectTimeout, readTimeout, sendTimeout;
  bool enableCors = false;

  // nginx.ingress.kubernetes.io/<name> annotations podnet does not
  // implement, and those whose value it refused (with why): each becomes a
  // Warning Event, never a silent difference.
  std::vector<std::string> unsupported;
  std::vector<std::pair<std::string, std::string>> invalid;
};

inline constexpr const char* kAnnotationPrefix = "nginx.ingress.kubernetes.io/";
inline constexpr const char* kLegacyClassAnnotation = "kubernetes.io/ingress.class";
inline constexpr const char* kDefaultClassAnnotation =
    "ingressclass.kubernetes.io/is-default-class";
inline constexpr const char* kController = "podnet.io/ingress";

struct Ingress {
  std::string ns, name;
  std::string className;  // the annotation wins over spec.ingressClassName; "" when neither
  int64_t created = 0;    // seconds since the epoch (oldest wins a conflict)
  std::optional<Backend> defaultBackend;
  std::vector<IngressRule> rules;
  std::vector<IngressTls> tls;
  Annotations annotations;
  std::string key() const { return ns + "/" + name; }
};

struct IngressClass {
  std::string name;
  std::string controller;
  bool isDefault = false;
};

// Never throws; an object that is not a readable Ingress is an error.
core::Result<Ingress> ingressFromJson(const Json& object);
IngressClass ingressClassFromJson(const Json& object);
Annotations parseAnnotations(const std::map<std::string, std::string>& annotations);

// An ingress-nginx size ("1m", "512k", "8192", "0"): bytes.
std::optional<uint64_t> parseSize(const std::string& text);

}  // namespace podnet::ingress
