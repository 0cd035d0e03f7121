#include "apiserver/service_account_tokens.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <filesystem>

#include "api/object.h"
#include "core/base64.h"
#include "core/files.h"

namespace podnet::apiserver {

namespace {

using api::Json;

constexpr int64_t kDefaultExpirationSeconds = 3600;
constexpr int64_t kMinExpirationSeconds = 600;
constexpr int64_t kMaxExpirationSeconds = int64_t(1) << 32;
// Clock skew tolerated on nbf and exp, as upstream's validator (jwt.DefaultLeeway).
constexpr int64_t kLeewaySeconds = 60;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

Json decodeSegment(std::string_view segment) {
  auto raw = base64UrlDecode(segment);
  if (!raw) return Json();
  Json parsed = Json::parse(*raw, nullptr, false);
  return parsed.is_discarded() ? Json() : parsed;
}

const Json* memberOf(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string stringMember(const Json& obj, const char* key) {
  const Json* v = memberOf(obj, key);
  return v && v->is_string() ? v->get<std::string>() : "";
}

int64_t intMember(const Json& obj, const char* key, int64_t fallback) {
  const Json* v = memberOf(obj, key);
  return v && v->is_number_integer() ? v->get<int64_t>() : fallback;
}

}  // namespace

std::string base64UrlEncode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(data.data()), int(data.size()));
  out.resize(size_t(length));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  std::string standard(text);
  for (auto& c : standard) {
    if (c == '+' || c == '/' || c == '=' || std::isspace(static_cast<unsigned char>(c)))
      return std::nullopt;  // not of the URL alphabet, or padding
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  return core::decodeBase64(standard);
}

struct TokenIssuer::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

TokenIssuer::~TokenIssuer() = default;

core::Result<std::shared_ptr<TokenIssuer>> TokenIssuer::fromPem(const std::string& keyPem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(keyPem.data(), int(keyPem.size())));
  if (!bio) return core::internal("cannot read the service account key");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    EVP_PKEY_free(pkey);
    return core::internal("the service account key is not an RSA private key");
  }
  std::shared_ptr<TokenIssuer> issuer(new TokenIssuer());
  issuer->key_ = std::make_unique<Key>();
  issuer->key_->pkey = pkey;
  // kid: base64url of the SHA-256 of the DER public key, as upstream.
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(pkey, &der);
  if (length > 0) {
    issuer->keyId_ =
        base64UrlEncode(sha256(std::string_view(reinterpret_cast<char*>(der), length)));
    OPENSSL_free(der);
  }
  return issuer;
}

core::Result<std::shared_ptr<TokenIssuer>> TokenIssuer::loadOrCreate(const std::string& dataDir) {
  namespace fs = std::filesystem;
  fs::path path = fs::path(dataDir) / "pki" / "sa.key";
  if (fs::exists(path)) return fromPem(core::readFile(path.string()));
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048));
  if (!pkey) return core::internal("service account key generation failed (OpenSSL)");
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  bool written =
      bio && PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  EVP_PKEY_free(pkey);
  if (!written) return core::internal("cannot encode the service account key");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, size_t(size));
  if (auto ok = core::writeFileAtomically(path.string(), pem, 0600); !ok) return ok.takeError();
  return fromPem(pem);
}

std::string TokenIssuer::issue(const TokenClaims& claims) const {
  Json header = {{"alg", "RS256"}, {"kid", keyId_}};
  Json kubernetes = {{"namespace", claims.ns},
                     {"serviceaccount", {{"name", claims.name}, {"uid", claims.uid}}}};
  if (claims.bound) {
    std::string kind = claims.bound->kind == "Pod" ? "pod" : "secret";
    kubernetes[kind] = {{"name", claims.bound->name}, {"uid", claims.bound->uid}};
  }
  Json payload = {{"aud", claims.audiences}, {"exp", claims.expires},
                  {"iat", claims.issuedAt},  {"iss", kServiceAccountIssuer},
                  {"jti", claims.id},        {"kubernetes.io", kubernetes},
                  {"nbf", claims.issuedAt},  {"sub", claims.username()}};
  std::string input = base64UrlEncode(header.dump()) + "." + base64UrlEncode(payload.dump());
  std::unique_ptr<EVP_MD_CTX, MdContextDeleter> ctx(EVP_MD_CTX_new());
  size_t length = 0;
  std::string signature;
  if (ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1) {
    signature.resize(length);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
      return "";
    signature.resize(length);
  }
  return input + "." + base64UrlEncode(signature);
}

core::Result<TokenClaims> TokenIssuer::verify(std::string_view token, int64_t now) const {
  auto bad = [](const char* why) { return core::Error{401, "Unauthorized", why}; };
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return bad("not a JWT");
  Json header = decodeSegment(token.substr(0, first));
  if (stringMember(header, "alg") != "RS256") return bad("unexpected signing algorithm");
  auto signature = base64UrlDecode(token.substr(second + 1));
  if (!signature) return bad("malformed signature");
  std::string_view input = token.substr(0, second);
  std::unique_ptr<EVP_MD_CTX, MdContextDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                       signature->size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1)
    return bad("invalid signature");
  Json payload = decodeSegment(token.substr(first + 1, second - first - 1));
  if (!payload.is_object() || stringMember(payload, "iss") != kServiceAccountIssuer)
    return bad("unexpected issuer");
  TokenClaims claims;
  if (const Json* aud = memberOf(payload, "aud")) {
    if (aud->is_string()) claims.audiences.push_back(aud->get<std::string>());
    if (aud->is_array())
      for (const auto& a : *aud)
        if (a.is_string()) claims.audiences.push_back(a.get<std::string>());
  }
  bool forUs = false;
  for (const auto& a : claims.audiences) forUs = forUs || a == kServiceAccountIssuer;
  if (!forUs) return bad("token audiences do not include the API server");
  claims.expires = intMember(payload, "exp", -1);
  claims.issuedAt = intMember(payload, "iat", 0);
  int64_t notBefore = intMember(payload, "nbf", 0);
  if (claims.expires < 0 || now > claims.expires + kLeewaySeconds) return bad("token expired");
  if (notBefore > now + kLeewaySeconds) return bad("token not valid yet");
  claims.id = stringMember(payload, "jti");
  const Json* kubernetes = memberOf(payload, "kubernetes.io");
  if (!kubernetes || !kubernetes->is_object()) return bad("no kubernetes.io claims");
  claims.ns = stringMember(*kubernetes, "namespace");
  if (const Json* sa = memberOf(*kubernetes, "serviceaccount")) {
    claims.name = stringMember(*sa, "name");
    claims.uid = stringMember(*sa, "uid");
  }
  for (const char* kind : {"pod", "secret"})
    if (const Json* bound = memberOf(*kubernetes, kind); bound && bound->is_object())
      claims.bound = TokenClaims::Bound{std::string(kind) == "pod" ? "Pod" : "Secret",
                                        stringMember(*bound, "name"), stringMember(*bound, "uid")};
  if (claims.ns.empty() || claims.name.empty() || claims.uid.empty() ||
      stringMember(payload, "sub") != claims.username())
    return bad("incomplete service account claims");
  return claims;
}

core::Result<Json> TokenIssuer::tokenRequest(client::Client& api, const std::string& ns,
                                             const std::string& name, Json request,
                                             int64_t now) const {
  auto sa = api.get(api::resource("ServiceAccount"), ns, name);
  if (!sa) return sa.takeError();
  if (!request.contains("spec") || !request["spec"].is_object()) request["spec"] = Json::object();
  Json& spec = request["spec"];
  if (!spec.contains("expirationSeconds") || spec["expirationSeconds"].is_null())
    spec["expirationSeconds"] = kDefaultExpirationSeconds;
  if (!spec["expirationSeconds"].is_number_integer())
    return core::badRequest("spec.expirationSeconds must be an integer");
  int64_t seconds = spec["expirationSeconds"].get<int64_t>();
  std::vector<core::Cause> causes;
  if (seconds < kMinExpirationSeconds)
    causes.push_back({"FieldValueInvalid",
                      "Invalid value: " + std::to_string(seconds) +
                          ": may not specify a duration less than 10 minutes",
                      "spec.expirationSeconds"});
  if (seconds > kMaxExpirationSeconds)
    causes.push_back({"FieldValueInvalid",
                      "Invalid value: " + std::to_string(seconds) +
                          ": may not specify a duration larger than 2^32 seconds",
                      "spec.expirationSeconds"});
  if (!causes.empty())
    return core::invalid("authentication.k8s.io", "TokenRequest", name, std::move(causes));

  TokenClaims claims;
  claims.ns = ns;
  claims.name = name;
  claims.uid = api::uid(*sa);
  claims.issuedAt = now;
  claims.expires = now + seconds;
  claims.id = api::newUid();
  if (spec.contains("audiences") && spec["audiences"].is_array())
    for (const auto& audience : spec["audiences"])
      if (audience.is_string()) claims.audiences.push_back(audience.get<std::string>());
  if (claims.audiences.empty()) {
    claims.audiences.push_back(kServiceAccountIssuer);
    spec["audiences"] = claims.audiences;
  }
  if (const Json* ref = memberOf(spec, "boundObjectRef"); ref && ref->is_object()) {
    std::string kind = stringMember(*ref, "kind");
    if (kind != "Pod" && kind != "Secret")
      return core::badRequest("cannot bind token for serviceaccount \"" + name +
                              "\" to object of type " + kind);
    std::string boundName = stringMember(*ref, "name");
    auto bound = api.get(api::resource(kind), ns, boundName);
    if (!bound) return bound.takeError();
    std::string wantedUid = stringMember(*ref, "uid");
    if (!wantedUid.empty() && wantedUid != api::uid(*bound))
      return core::conflict("", kind == "Pod" ? "pods" : "secrets", boundName,
                            "the UID in the bound object reference (" + wantedUid +
                                ") does not match the UID in record. The object might have "
                                "been deleted and then recreated");
    claims.bound = TokenClaims::Bound{kind, boundName, api::uid(*bound)};
  }
  std::string token = issue(claims);
  if (token.empty()) return core::internal("failed to sign the token");
  request["kind"] = "TokenRequest";
  request["apiVersion"] = "authentication.k8s.io/v1";
  if (!request.contains("metadata") || !request["metadata"].is_object())
    request["metadata"] = Json::object();
  request["metadata"]["name"] = name;
  request["metadata"]["namespace"] = ns;
  request["metadata"]["creationTimestamp"] = nullptr;
  request["status"] = {{"token", token},
                       {"expirationTimestamp", api::formatRfc3339(claims.expires)}};
  return request;
}

std::optional<std::string> TokenIssuer::authenticate(client::Client& api, std::string_view token,
                                                     int64_t now) const {
  auto claims = verify(token, now);
  if (!claims) return std::nullopt;
  auto sa = api.get(api::resource("ServiceAccount"), claims->ns, claims->name);
  if (!sa || api::uid(*sa) != claims->uid || api::isBeingDeleted(*sa)) return std::nullopt;
  if (claims->bound) {
    auto bound = api.get(api::resource(claims->bound->kind), claims->ns, claims->bound->name);
    if (!bound || api::uid(*bound) != claims->bound->uid || api::isBeingDeleted(*bound))
      return std::nullopt;
  }
  return claims->username();
}

}  // namespace podnet::apiserver
