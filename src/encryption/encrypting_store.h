// Encryption at rest as a Store decorator: values under the key prefixes of
// the encrypted resources are sealed on the way in and opened on the way
// out (gets, lists, watch events, deleted values), so everything above the
// store (registry, watch cache, controllers) sees plain objects and
// everything below it (SQLite's files, etcd) only ciphertext.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "encryption/encryption_config.h"
#include "encryption/transformer.h"
#include "store/store.h"

namespace podnet::encryption {

// A storage key prefix and the providers for the values under it.
struct PrefixRule {
  std::string prefix;  // "/registry/secrets/"
  std::shared_ptr<const Transformer> transformer;
  std::string resource;  // as the configuration names it, for errors
};

// The configuration's resources as storage key prefixes, in the
// configuration's order (the first that matches a key applies). Built-in
// resources by their storage prefix; other "plural.group" names and
// "*.group" wildcards by the prefix custom resources are stored under.
struct StoredResource {
  std::string group;  // "" for the core group
  std::string plural;
  std::string storagePrefix;  // "/registry/secrets/"
};
core::Result<std::vector<PrefixRule>> resolvePrefixes(const Config& config,
                                                      const std::vector<StoredResource>& builtins);

// loadConfig, then resolvePrefixes: what --encryption-provider-config FILE
// means for the store.
core::Result<std::vector<PrefixRule>> loadRules(const std::string& path,
                                                const std::vector<StoredResource>& builtins);

// "secrets, configmaps sealed with secretbox key \"key1\"": the start's log.
std::string describeRules(const std::vector<PrefixRule>& rules);

class EncryptingStore : public store::Store {
 public:
  EncryptingStore(std::unique_ptr<store::Store> inner, std::vector<PrefixRule> rules);

  int64_t revision() const override { return inner_->revision(); }
  int64_t compactedRevision() const override { return inner_->compactedRevision(); }
  core::Result<store::KeyValue> get(std::string_view key) override;
  core::Result<store::KeyValue> create(std::string_view key, std::string_view value) override;
  core::Result<store::KeyValue> update(std::string_view key, std::string_view value,
                                       int64_t expectedModRevision) override;
  core::Result<store::KeyValue> remove(std::string_view key, int64_t expectedModRevision) override;
  core::Result<store::ListResult> list(std::string_view prefix, std::string_view startAfter,
                                       int64_t limit, int64_t atRevision) override;
  core::Result<std::unique_ptr<store::Watch>> watch(std::string_view prefix,
                                                    int64_t afterRevision) override;
  // Plain values are searched by the inner store; sealed ones are opened
  // first (the needle cannot be seen in ciphertext).
  core::Result<std::vector<store::KeyValue>> listContaining(std::string_view prefix,
                                                            std::string_view needle) override;

 private:
  std::unique_ptr<store::Store> inner_;
  std::vector<PrefixRule> rules_;
};

// Opens one stored value in place with the rule its key falls under
// (values no rule covers must not be encrypted); sets kv.stale.
core::Status openStored(const std::vector<PrefixRule>& rules, store::KeyValue& kv);

// Reads every value in `store` once: each must open with `rules` (values of
// resources no rule names must not be encrypted). The first that does not
// is the error, naming the key and the provider and key it needs, so a
// server with a wrong or missing key refuses to start before it writes
// anything.
struct Readability {
  size_t values = 0;  // read
  size_t stale = 0;   // under a key other than the one that seals now (a rewrite moves them)
};
core::Result<Readability> verifyReadable(store::Store& store, const std::vector<PrefixRule>& rules);

}  // namespace podnet::encryption
