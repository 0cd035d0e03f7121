// Values sealed and opened as kube-apiserver stores them: the first key of
// the first provider seals every write under the prefix
// "k8s:enc:<provider>:v1:<key name>:"; any key of any provider opens what
// carries its prefix; the identity provider reads values without one.
//
// Layouts after the prefix (kube-apiserver's, so a store moves between the
// two): aesgcm nonce(12) | ciphertext | tag(16), the storage key as
// additional authenticated data; aescbc iv(16) | ciphertext (PKCS#7);
// secretbox nonce(24) | tag(16) | ciphertext (NaCl's crypto_secretbox).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "encryption/encryption_config.h"

namespace podnet::encryption {

constexpr std::string_view kEncryptedPrefix = "k8s:enc:";

struct Opened {
  std::string value;
  // Opened with another key than the one that seals: a rewrite would
  // change what is stored (the update must not be skipped as a no-op).
  bool stale = false;
};

class Transformer {
 public:
  // The providers of one rule, in order.
  static core::Result<std::shared_ptr<const Transformer>> make(
      const std::vector<Provider>& providers);
  ~Transformer();

  // `context`: the storage key, authenticated by aesgcm.
  core::Result<std::string> seal(std::string_view plain, std::string_view context) const;
  core::Result<Opened> open(std::string_view stored, std::string_view context) const;

  // "secretbox key \"key1\"" or "identity": what seals, for the log.
  std::string sealer() const;

  struct Slot {
    Cipher cipher = Cipher::Identity;
    std::string keyName;
    std::string key;
    std::string prefix;  // "" for identity
  };

 private:
  Transformer() = default;
  std::vector<Slot> slots_;  // slots_[0] seals
};

// The provider and key a stored value names ("aesgcm key \"key1\""), or ""
// when it carries no encryption prefix.
std::string describeSealed(std::string_view stored);

}  // namespace podnet::encryption
