// The EncryptionConfiguration of kube-apiserver's --encryption-provider-config
// (apiserver.config.k8s.io/v1): which resources are encrypted at rest, with
// which providers and keys. Parsing and validation only; transformer.h does
// the sealing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace podnet::encryption {

enum class Cipher { Identity, AesGcm, AesCbc, Secretbox };

// "identity", "aesgcm", "aescbc", "secretbox": the provider's name in the
// configuration and in the stored prefix.
std::string_view cipherName(Cipher cipher);

struct Key {
  std::string name;
  std::string secret;  // the raw key bytes (base64 in the file)
};

struct Provider {
  Cipher cipher = Cipher::Identity;
  std::vector<Key> keys;  // the first encrypts; all decrypt
};

struct ResourceRule {
  // "secrets", "deployments.apps", "*.apps", "*." (the core group), "*.*".
  std::vector<std::string> resources;
  // The first provider's first key encrypts every write; every key of every
  // provider decrypts.
  std::vector<Provider> providers;
};

struct Config {
  std::vector<ResourceRule> rules;  // the first rule naming a resource applies
};

// Errors name the field as kube-apiserver does: "resources[0].providers[1].
// aescbc.keys[0].secret: ...".
core::Result<Config> parseConfig(std::string_view yaml);
core::Result<Config> loadConfig(const std::string& path);

// A configuration encrypting `resources` with a fresh random secretbox key
// named `keyName`, identity after it so data written before still reads (what
// `podnet up` starts servers with).
std::string generateConfig(const std::vector<std::string>& resources, const std::string& keyName);

}  // namespace podnet::encryption
