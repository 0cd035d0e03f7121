#include "api/bootstrap_token.h"

#include "api/object.h"
#include "core/base64.h"

namespace podnet::api {

namespace {

bool tokenCharacters(std::string_view text) {
  for (char c : text)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

// A data value of a stored Secret, decoded ("" when absent or invalid).
std::string dataValue(const Json& secret, const char* key) {
  if (!secret.is_object()) return {};
  auto data = secret.find("data");
  if (data == secret.end() || !data->is_object()) return {};
  auto value = data->find(key);
  if (value == data->end() || !value->is_string()) return {};
  return core::decodeBase64(value->get<std::string>()).value_or("");
}

std::string typeOf(const Json& secret) {
  auto type = secret.find("type");
  return type != secret.end() && type->is_string() ? type->get<std::string>() : std::string();
}

}  // namespace

bool secretsEqual(std::string_view a, std::string_view b) {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    difference |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return difference == 0;
}

std::optional<BootstrapToken> parseBootstrapToken(std::string_view text) {
  if (text.size() != 23 || text[6] != '.') return std::nullopt;
  std::string_view id = text.substr(0, 6), secret = text.substr(7);
  if (!tokenCharacters(id) || !tokenCharacters(secret)) return std::nullopt;
  return BootstrapToken{std::string(id), std::string(secret)};
}

BootstrapToken bootstrapTokenFromRandom(std::string_view randomHex) {
  std::string chars(randomHex.substr(0, 22));
  chars.resize(22, '0');
  return BootstrapToken{chars.substr(0, 6), chars.substr(6, 16)};
}

Json bootstrapTokenSecret(const BootstrapToken& token, int64_t expiresUnix,
                          const std::string& description) {
  Json data = {
      {"token-id", core::encodeBase64(token.id)},
      {"token-secret", core::encodeBase64(token.secret)},
      {"usage-bootstrap-authentication", core::encodeBase64("true")},
      {"usage-bootstrap-signing", core::encodeBase64("true")},
      {"auth-extra-groups", core::encodeBase64("system:bootstrappers:kubeadm:default-node-token")}};
  if (expiresUnix > 0) data["expiration"] = core::encodeBase64(formatRfc3339(expiresUnix));
  if (!description.empty()) data["description"] = core::encodeBase64(description);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"type", kBootstrapTokenType},
          {"metadata",
           {{"name", std::string(kBootstrapTokenPrefix) + token.id}, {"namespace", "kube-system"}}},
          {"data", data}};
}

std::optional<std::string> bootstrapTokenRefusal(const Json& secret, const BootstrapToken& token,
                                                 int64_t nowUnix) {
  if (!secret.is_object() || typeOf(secret) != kBootstrapTokenType) return "not a bootstrap token";
  if (dataValue(secret, "token-id") != token.id ||
      !secretsEqual(dataValue(secret, "token-secret"), token.secret))
    return "wrong token";
  if (dataValue(secret, "usage-bootstrap-authentication") != "true")
    return "the token is not for authentication";
  std::string expiration = dataValue(secret, "expiration");
  if (!expiration.empty()) {
    long long expires = parseRfc3339(expiration);
    if (expires <= 0 || expires <= nowUnix) return "the token expired";
  }
  return std::nullopt;
}

std::vector<std::string> bootstrapTokenGroups(const Json& secret) {
  std::vector<std::string> groups;
  if (!secret.is_object()) return groups;
  std::string text = dataValue(secret, "auth-extra-groups");
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string group = text.substr(start, comma - start);
    // Only groups under system:bootstrappers: may be added, as upstream.
    if (group.rfind("system:bootstrappers:", 0) == 0) groups.push_back(group);
    start = comma + 1;
  }
  return groups;
}

std::optional<NodeToken> parseNodeToken(std::string_view text) {
  constexpr std::string_view kPrefix = "pnode.";
  if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = text.substr(kPrefix.size());
  size_t dot = rest.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= rest.size()) return std::nullopt;
  return NodeToken{std::string(rest.substr(0, dot)), std::string(rest.substr(dot + 1))};
}

Json nodeTokenSecret(const NodeToken& token) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"type", kNodeTokenType},
          {"metadata",
           {{"name", std::string(kNodeTokenPrefix) + token.node},
            {"namespace", "kube-system"},
            {"labels", {{"podnet.io/node", token.node}}}}},
          {"data", {{"token", core::encodeBase64(token.secret)}}}};
}

bool nodeTokenMatches(const Json& secret, const NodeToken& token) {
  if (!secret.is_object() || typeOf(secret) != kNodeTokenType) return false;
  std::string stored = dataValue(secret, "token");
  return !stored.empty() && secretsEqual(stored, token.secret);
}

}  // namespace podnet::api
