#include "encryption/encrypting_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"

namespace podnet::encryption {

namespace {

constexpr std::string_view kRegistry = "/registry/";

core::Error unreadable(std::string_view key, const std::string& why) {
  return core::Error{500, "InternalError", "cannot decrypt " + std::string(key) + ": " + why};
}

// What a client is told: kube-apiserver's internal error.
core::Error toClient(const core::Error& error) { return core::internal(error.message); }

class OpeningWatch : public store::Watch {
 public:
  OpeningWatch(std::unique_ptr<store::Watch> inner, const std::vector<PrefixRule>& rules)
      : inner_(std::move(inner)), rules_(rules) {}

  core::Result<std::vector<store::Event>> next(std::chrono::milliseconds timeout) override {
    auto events = inner_->next(timeout);
    if (!events) return events;
    for (store::Event& event : *events)
      if (auto opened = openStored(rules_, event.kv); !opened) return toClient(opened.error());
    return events;
  }

 private:
  std::unique_ptr<store::Watch> inner_;
  const std::vector<PrefixRule>& rules_;  // the store's, which outlives its watches
};

const Transformer* transformerFor(const std::vector<PrefixRule>& rules, std::string_view key) {
  for (const PrefixRule& rule : rules)
    if (key.substr(0, rule.prefix.size()) == rule.prefix) return rule.transformer.get();
  return nullptr;
}

}  // namespace

core::Result<std::vector<PrefixRule>> resolvePrefixes(const Config& config,
                                                      const std::vector<StoredResource>& builtins) {
  std::vector<PrefixRule> rules;
  std::set<std::string> taken;
  for (const ResourceRule& rule : config.rules) {
    auto transformer = Transformer::make(rule.providers);
    if (!transformer) return transformer.takeError();
    auto add = [&](const std::string& prefix, const std::string& resource) {
      if (taken.insert(prefix).second) rules.push_back({prefix, *transformer, resource});
    };
    for (const std::string& resource : rule.resources) {
      if (resource == "*.*") {
        add(std::string(kRegistry), resource);
        continue;
      }
      size_t dot = resource.find('.');
      std::string plural = resource.substr(0, dot);
      std::string group = dot == std::string::npos ? "" : resource.substr(dot + 1);
      bool found = false;
      for (const StoredResource& builtin : builtins)
        if (builtin.group == group && (plural == "*" || builtin.plural == plural)) {
          add(builtin.storagePrefix, resource);
          found = true;
        }
      // Custom resources are stored under /registry/<group>/<plural>/.
      if (!group.empty() && (plural == "*" || !found)) {
        add(std::string(kRegistry) + group + "/" + (plural == "*" ? "" : plural + "/"), resource);
        found = true;
      }
      if (!found && plural != "*")
        return core::badRequest("invalid encryption configuration: \"" + resource +
                                "\" is not a resource of the core group; name others "
                                "\"<plural>.<group>\"");
    }
  }
  return rules;
}

core::Result<std::vector<PrefixRule>> loadRules(const std::string& path,
                                                const std::vector<StoredResource>& builtins) {
  auto config = loadConfig(path);
  if (!config) return config.takeError();
  auto rules = resolvePrefixes(*config, builtins);
  if (!rules) return core::badRequest(path + ": " + rules.error().message);
  return rules;
}

std::string describeRules(const std::vector<PrefixRule>& rules) {
  std::vector<std::string> resources;
  for (const PrefixRule& rule : rules)
    if (std::find(resources.begin(), resources.end(), rule.resource) == resources.end())
      resources.push_back(rule.resource);
  std::string text;
  for (const std::string& resource : resources) text += (text.empty() ? "" : ", ") + resource;
  return rules.empty() ? "" : text + " sealed with " + rules.front().transformer->sealer();
}

EncryptingStore::EncryptingStore(std::unique_ptr<store::Store> inner, std::vector<PrefixRule> rules)
    : inner_(std::move(inner)), rules_(std::move(rules)) {}

core::Status openStored(const std::vector<PrefixRule>& rules, store::KeyValue& kv) {
  const Transformer* transformer = transformerFor(rules, kv.key);
  if (!transformer) {
    if (kv.value.compare(0, kEncryptedPrefix.size(), kEncryptedPrefix) == 0)
      return unreadable(kv.key, "it is encrypted with " + describeSealed(kv.value) +
                                    ", and no rule of the encryption configuration covers its "
                                    "resource");
    return core::Ok{};
  }
  auto opened = transformer->open(kv.value, kv.key);
  if (!opened) return unreadable(kv.key, opened.error().message);
  kv.value = std::move(opened->value);
  kv.stale = opened->stale;
  return core::Ok{};
}

core::Result<store::KeyValue> EncryptingStore::get(std::string_view key) {
  auto kv = inner_->get(key);
  if (!kv) return kv;
  if (auto opened = openStored(rules_, *kv); !opened) return toClient(opened.error());
  return kv;
}

core::Result<store::KeyValue> EncryptingStore::create(std::string_view key,
                                                      std::string_view value) {
  const Transformer* transformer = transformerFor(rules_, key);
  if (!transformer) return inner_->create(key, value);
  auto sealed = transformer->seal(value, key);
  if (!sealed) return toClient(sealed.error());
  auto kv = inner_->create(key, *sealed);
  if (kv) kv->value = std::string(value);
  return kv;
}

core::Result<store::KeyValue> EncryptingStore::update(std::string_view key, std::string_view value,
                                                      int64_t expectedModRevision) {
  const Transformer* transformer = transformerFor(rules_, key);
  if (!transformer) return inner_->update(key, value, expectedModRevision);
  auto sealed = transformer->seal(value, key);
  if (!sealed) return toClient(sealed.error());
  auto kv = inner_->update(key, *sealed, expectedModRevision);
  if (kv) kv->value = std::string(value);
  return kv;
}

core::Result<store::KeyValue> EncryptingStore::remove(std::string_view key,
                                                      int64_t expectedModRevision) {
  auto kv = inner_->remove(key, expectedModRevision);
  if (!kv) return kv;
  // The object is gone either way; a value that will not open is reported
  // as an empty one rather than failing a delete that happened.
  if (!openStored(rules_, *kv)) kv->value.clear();
  return kv;
}

core::Result<store::ListResult> EncryptingStore::list(std::string_view prefix,
                                                      std::string_view startAfter, int64_t limit,
                                                      int64_t atRevision) {
  auto listed = inner_->list(prefix, startAfter, limit, atRevision);
  if (!listed) return listed;
  for (store::KeyValue& kv : listed->items)
    if (auto opened = openStored(rules_, kv); !opened) return toClient(opened.error());
  return listed;
}

core::Result<std::vector<store::KeyValue>> EncryptingStore::listContaining(
    std::string_view prefix, std::string_view needle) {
  auto plain = inner_->listContaining(prefix, needle);
  if (!plain) return plain;
  auto sealed = inner_->listContaining(prefix, kEncryptedPrefix);
  if (!sealed) return sealed;
  std::map<std::string, store::KeyValue> found;  // a value can be in both
  for (auto* batch : {&*plain, &*sealed}) {
    for (store::KeyValue& kv : *batch) {
      if (auto opened = openStored(rules_, kv); !opened) return toClient(opened.error());
      if (kv.value.find(needle) != std::string::npos) found.insert_or_assign(kv.key, std::move(kv));
    }
  }
  std::vector<store::KeyValue> out;
  out.reserve(found.size());
  for (auto& [key, kv] : found) out.push_back(std::move(kv));
  return out;
}

core::Result<std::unique_ptr<store::Watch>> EncryptingStore::watch(std::string_view prefix,
                                                                   int64_t afterRevision) {
  auto inner = inner_->watch(prefix, afterRevision);
  if (!inner) return inner;
  return std::unique_ptr<store::Watch>(std::make_unique<OpeningWatch>(std::move(*inner), rules_));
}

core::Result<Readability> verifyReadable(store::Store& store,
                                         const std::vector<PrefixRule>& rules) {
  Readability result;
  std::string after;
  for (;;) {
    auto page = store.list(kRegistry, after, 1000, 0);
    if (!page) return page.takeError();
    for (store::KeyValue& kv : page->items) {
      if (auto opened = openStored(rules, kv); !opened) return opened.takeError();
      ++result.values;
      if (kv.stale) ++result.stale;
    }
    if (!page->more || page->items.empty()) break;
    after = page->items.back().key;
  }
  return result;
}

}  // namespace podnet::encryption
