#include "encryption/encryption_config.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cctype>
#include <filesystem>
#include <set>

#include "api/codec.h"
#include "core/base64.h"
#include "core/error.h"
#include "core/files.h"

namespace podnet::encryption {

namespace {

using Json = nlohmann::json;

// Every provider's name, the one place it is spelled.
constexpr std::pair<std::string_view, Cipher> kCiphers[] = {{"identity", Cipher::Identity},
                                                            {"aesgcm", Cipher::AesGcm},
                                                            {"aescbc", Cipher::AesCbc},
                                                            {"secretbox", Cipher::Secretbox}};

core::Error invalidAt(const std::string& field, const std::string& problem) {
  return core::badRequest("invalid encryption configuration: " + field + ": " + problem);
}

// The key lengths kube-apiserver accepts for each cipher.
bool keyLengthFits(Cipher cipher, size_t bytes) {
  if (cipher == Cipher::Secretbox) return bytes == 32;
  return bytes == 16 || bytes == 24 || bytes == 32;
}

core::Result<Provider> parseProvider(const Json& item, const std::string& field) {
  if (!item.is_object()) return invalidAt(field, "must be an object");
  std::vector<std::string> named;
  for (const auto& [name, value] : item.items()) named.push_back(name);
  if (named.size() != 1)
    return invalidAt(field,
                     "exactly one provider must be given (identity, aesgcm, aescbc or "
                     "secretbox), found " +
                         std::to_string(named.size()));
  const std::string& name = named.front();
  if (name == "kms")
    return invalidAt(field + ".kms",
                     "KMS providers need a KMS plugin, which podnet does not run; use aesgcm, "
                     "aescbc or secretbox");
  Provider provider;
  bool known = false;
  for (const auto& [candidate, cipher] : kCiphers)
    if (name == candidate) {
      provider.cipher = cipher;
      known = true;
    }
  if (!known)
    return invalidAt(field + "." + name,
                     "unknown provider (identity, aesgcm, aescbc or secretbox are supported)");
  if (provider.cipher == Cipher::Identity) return provider;

  std::string here = field + "." + name;
  const Json& body = item[name];
  if (!body.is_object() || !body.contains("keys") || !body["keys"].is_array() ||
      body["keys"].empty())
    return invalidAt(here + ".keys", "at least one key is required");
  std::set<std::string> names;
  for (size_t i = 0; i < body["keys"].size(); ++i) {
    const Json& key = body["keys"][i];
    std::string at = here + ".keys[" + std::to_string(i) + "]";
    if (!key.is_object()) return invalidAt(at, "must be an object with name and secret");
    Key parsed;
    if (key.contains("name") && key["name"].is_string()) parsed.name = key["name"];
    if (parsed.name.empty()) return invalidAt(at + ".name", "a key name is required");
    if (parsed.name.find(':') != std::string::npos)
      return invalidAt(at + ".name", "\"" + parsed.name + "\": a key name must not contain ':'");
    if (!names.insert(parsed.name).second)
      return invalidAt(at + ".name", "\"" + parsed.name + "\": key names must be unique");
    std::string secret = key.contains("secret") && key["secret"].is_string()
                             ? key["secret"].get<std::string>()
                             : std::string();
    if (secret.empty()) return invalidAt(at + ".secret", "a secret is required");
    auto bytes = core::decodeBase64(secret);
    if (!bytes) return invalidAt(at + ".secret", "is not valid base64");
    if (!keyLengthFits(provider.cipher, bytes->size()))
      return invalidAt(at + ".secret",
                       "secret is not of the expected length, got " +
                           std::to_string(bytes->size()) + " bytes, expected " +
                           (provider.cipher == Cipher::Secretbox ? "32" : "16, 24 or 32"));
    parsed.secret = std::move(*bytes);
    provider.keys.push_back(std::move(parsed));
  }
  return provider;
}

// Whether `earlier` (a resource or wildcard of an earlier rule) already
// covers `resource`.
bool masks(const std::string& earlier, const std::string& resource) {
  if (earlier == resource || earlier == "*.*") return true;
  if (earlier.rfind("*.", 0) != 0) return false;
  std::string group = earlier.substr(2);
  size_t dot = resource.find('.');
  std::string resourceGroup = dot == std::string::npos ? "" : resource.substr(dot + 1);
  return resource.rfind("*.", 0) != 0 && resourceGroup == group;
}

core::Status checkResourceName(const std::string& resource, const std::string& field) {
  if (resource.empty()) return invalidAt(field, "a resource name is required");
  for (char c : resource)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '*'))
      return invalidAt(field, "\"" + resource + "\": resource names must be lower case");
  if (resource == "*")
    return invalidAt(field, "\"*\" is not a resource: use \"*.\" for the core group or \"*.*\"");
  size_t star = resource.find('*');
  if (star != std::string::npos &&
      (star != 0 || resource.size() < 2 || resource[1] != '.' ||
       resource.find('*', 1) != std::string::npos) &&
      resource != "*.*")
    return invalidAt(field, "\"" + resource + "\": a wildcard must be \"*.<group>\" or \"*.*\"");
  return core::Ok{};
}

}  // namespace

std::string_view cipherName(Cipher cipher) {
  for (const auto& [name, known] : kCiphers)
    if (known == cipher) return name;
  return "identity";
}

core::Result<Config> parseConfig(std::string_view yaml) {
  auto doc = api::decodeYaml(yaml);
  if (!doc) return core::badRequest("invalid encryption configuration: " + doc.error().message);
  const Json& root = *doc;
  if (!root.is_object()) return core::badRequest("invalid encryption configuration: not a mapping");
  std::string kind = root.value("kind", "");
  std::string apiVersion = root.value("apiVersion", "");
  if (kind != "EncryptionConfiguration" || apiVersion != "apiserver.config.k8s.io/v1")
    return core::badRequest(
        "invalid encryption configuration: expected kind EncryptionConfiguration of "
        "apiVersion apiserver.config.k8s.io/v1, found kind \"" +
        kind + "\" of apiVersion \"" + apiVersion + "\"");
  if (!root.contains("resources") || !root["resources"].is_array() || root["resources"].empty())
    return invalidAt("resources", "at least one rule is required");
  Config config;
  std::vector<std::string> seen;
  for (size_t r = 0; r < root["resources"].size(); ++r) {
    const Json& item = root["resources"][r];
    std::string field = "resources[" + std::to_string(r) + "]";
    if (!item.is_object()) return invalidAt(field, "must be an object");
    ResourceRule rule;
    const Json& names = item.contains("resources") ? item["resources"] : Json();
    if (!names.is_array() || names.empty())
      return invalidAt(field + ".resources", "at least one resource is required");
    for (size_t i = 0; i < names.size(); ++i) {
      std::string at = field + ".resources[" + std::to_string(i) + "]";
      if (!names[i].is_string()) return invalidAt(at, "must be a string");
      std::string resource = names[i];
      if (auto ok = checkResourceName(resource, at); !ok) return ok.takeError();
      for (const std::string& earlier : seen)
        if (masks(earlier, resource))
          return invalidAt(at, "\"" + resource + "\" is already covered by \"" + earlier +
                                   "\" earlier in the configuration");
      rule.resources.push_back(resource);
      seen.push_back(resource);
    }
    const Json& providers = item.contains("providers") ? item["providers"] : Json();
    if (!providers.is_array() || providers.empty())
      return invalidAt(field + ".providers", "at least one provider is required");
    for (size_t p = 0; p < providers.size(); ++p) {
      auto provider = parseProvider(providers[p], field + ".providers[" + std::to_string(p) + "]");
      if (!provider) return provider.takeError();
      rule.providers.push_back(std::move(*provider));
    }
    config.rules.push_back(std::move(rule));
  }
  return config;
}

core::Result<Config> loadConfig(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error))
    return core::badRequest("encryption configuration " + path + ": no such file");
  std::string text = core::readFile(path);
  if (text.empty())
    return core::badRequest("encryption configuration " + path + ": cannot read it or it is empty");
  auto config = parseConfig(text);
  if (!config) return core::badRequest(path + ": " + config.error().message);
  return config;
}

std::string generateConfig(const std::vector<std::string>& resources, const std::string& keyName) {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1) return "";
  std::string yaml =
      "# Encryption at rest of the API server's store (kube-apiserver's\n"
      "# --encryption-provider-config). The first provider's first key encrypts;\n"
      "# every key listed decrypts. docs/encryption-at-rest.md tells how to rotate.\n"
      "apiVersion: apiserver.config.k8s.io/v1\n"
      "kind: EncryptionConfiguration\n"
      "resources:\n"
      "  - resources:\n";
  for (const std::string& resource : resources) yaml += "      - " + resource + "\n";
  yaml +=
      "    providers:\n"
      "      - secretbox:\n"
      "          keys:\n"
      "            - name: " +
      keyName +
      "\n"
      "              secret: " +
      core::encodeBase64(std::string_view(reinterpret_cast<const char*>(key), sizeof key)) +
      "\n"
      "      - identity: {}\n";
  OPENSSL_cleanse(key, sizeof key);
  return yaml;
}

}  // namespace podnet::encryption
