// Bootstrap tokens as kubeadm keeps them (the bootstrap.kubernetes.io/token
// Secret "bootstrap-token-<id>" in kube-system, token "<id>.<secret>" with
// 6 and 16 characters of [a-z0-9]), and podnet's node credentials (the
// Secret "node-token-<node>" a joining node receives a bearer token from).
// Pure: shared by the API server (authentication), `podnet token` and
// `podnet join`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"

namespace podnet::api {

inline constexpr const char* kBootstrapTokenType = "bootstrap.kubernetes.io/token";
inline constexpr const char* kBootstrapTokenPrefix = "bootstrap-token-";
inline constexpr const char* kBootstrappersGroup = "system:bootstrappers";
inline constexpr const char* kNodeTokenType = "podnet.io/node-token";
inline constexpr const char* kNodeTokenPrefix = "node-token-";

struct BootstrapToken {
  std::string id;      // 6 characters
  std::string secret;  // 16 characters
  std::string text() const { return id + "." + secret; }
};

// Whether two secrets are equal, in time that depends on their length only.
bool secretsEqual(std::string_view a, std::string_view b);

// "abcdef.0123456789abcdef" -> its parts; nullopt when it is not one.
std::optional<BootstrapToken> parseBootstrapToken(std::string_view text);
// A new random token (OpenSSL's RAND_bytes through pki::randomHex is not
// reachable from here: the caller passes 22 random characters' worth of
// hex, of which the alphabet [a-z0-9] keeps every character).
BootstrapToken bootstrapTokenFromRandom(std::string_view randomHex);

// The Secret for a token: usages signing and authentication, the group
// system:bootstrappers:kubeadm:default-node-token, expiring at
// `expiresUnix` (0: never), with `description`.
Json bootstrapTokenSecret(const BootstrapToken& token, int64_t expiresUnix,
                          const std::string& description);

// Whether `secret` (as stored: data base64) lets `token` authenticate at
// `nowUnix`: the type, id and secret match, usage-bootstrap-authentication
// is "true" and it has not expired. The reason when it does not.
std::optional<std::string> bootstrapTokenRefusal(const Json& secret, const BootstrapToken& token,
                                                 int64_t nowUnix);
// The extra groups the Secret grants (auth-extra-groups, comma-separated).
std::vector<std::string> bootstrapTokenGroups(const Json& secret);

// Node credentials: "pnode.<node>.<secret>" bearer tokens.
struct NodeToken {
  std::string node;
  std::string secret;
  std::string text() const { return "pnode." + node + "." + secret; }
};
std::optional<NodeToken> parseNodeToken(std::string_view text);
Json nodeTokenSecret(const NodeToken& token);
// Whether the stored Secret holds `token` (constant time in the secret).
bool nodeTokenMatches(const Json& secret, const NodeToken& token);

}  // namespace podnet::api
