// ServiceAccount tokens as kube-apiserver issues and accepts them: RS256
// JWTs (OpenSSL 3 EVP) signed with a key kept in DIR/pki/sa.key, with
// upstream's claims (iss, aud, sub system:serviceaccount:NS:NAME,
// kubernetes.io{namespace, serviceaccount{name,uid}, pod?}, exp/iat/nbf,
// jti); the TokenRequest of `serviceaccounts/NAME/token`; and the check that
// lets such a token in (signature, audience, expiry, the ServiceAccount and
// any bound pod still there with the same uid).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "client/client.h"
#include "core/result.h"

namespace podnet::apiserver {

constexpr const char* kServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local";

struct TokenClaims {
  std::string ns;
  std::string name;  // the ServiceAccount
  std::string uid;   // its uid
  std::vector<std::string> audiences;
  int64_t issuedAt = 0;
  int64_t expires = 0;
  std::string id;  // jti
  struct Bound {
    std::string kind;  // Pod or Secret
    std::string name, uid;
  };
  std::optional<Bound> bound;
  std::string username() const { return "system:serviceaccount:" + ns + ":" + name; }
};

class TokenIssuer {
 public:
  ~TokenIssuer();
  TokenIssuer(const TokenIssuer&) = delete;
  TokenIssuer& operator=(const TokenIssuer&) = delete;

  // DIR/pki/sa.key (RSA 2048, PKCS#8 PEM, mode 0600), made when missing.
  static core::Result<std::shared_ptr<TokenIssuer>> loadOrCreate(const std::string& dataDir);
  static core::Result<std::shared_ptr<TokenIssuer>> fromPem(const std::string& keyPem);

  std::string issue(const TokenClaims& claims) const;
  // Signature, algorithm, issuer, audience (the issuer) and time checks; the
  // claims when the token passes. Never throws on any input.
  core::Result<TokenClaims> verify(std::string_view token, int64_t now) const;

  // POST serviceaccounts/NAME/token: `request` is the decoded TokenRequest
  // (kind and apiVersion checked by the caller); the answer has status.token
  // and status.expirationTimestamp.
  core::Result<api::Json> tokenRequest(client::Client& api, const std::string& ns,
                                       const std::string& name, api::Json request,
                                       int64_t now) const;
  // A bearer token of a ServiceAccount that still exists (same uid, and the
  // bound pod or secret too): its user name; nullopt for anything else.
  std::optional<std::string> authenticate(client::Client& api, std::string_view token,
                                          int64_t now) const;

 private:
  TokenIssuer() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  std::string keyId_;
};

// base64url without padding (RFC 7515), and back (nullopt on bad input).
std::string base64UrlEncode(std::string_view data);
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace podnet::apiserver
