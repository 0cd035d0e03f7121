#include "controllers/value_claims.h"

#include "api/object.h"
#include "controllers/util.h"

namespace podnet::controllers {

std::string claimOwner(const api::Json& obj) {
  return api::namespaceOf(obj) + "/" + api::name(obj) + "/" + api::uid(obj);
}

std::string ValueClaims::prefix() const { return std::string(kAllocationsPrefix) + kind_ + "/"; }

std::string ValueClaims::key(std::string_view value) const { return prefix() + std::string(value); }

std::string ValueClaims::valueOf(std::string_view key) const {
  std::string p = prefix();
  if (key.substr(0, p.size()) != p) return {};
  return std::string(key.substr(p.size()));
}

std::string ValueClaims::ownerOf(std::string_view stored) {
  auto doc = api::decodeJson(stored);
  if (!doc.ok() || !doc->is_object()) return {};
  const Json& ref = objectAt(*doc, {"spec", "parentRef"});
  return stringAt(ref, {"namespace"}) + "/" + stringAt(ref, {"name"}) + "/" +
         stringAt(ref, {"uid"});
}

static Json claimDocument(const std::string& kind, const std::string& value,
                          const std::string& owner) {
  // owner is "namespace/name/uid"; names and namespaces hold no slash.
  size_t first = owner.find('/');
  size_t last = owner.rfind('/');
  Json ref = {{"group", ""}, {"resource", "services"}};
  if (first != std::string::npos && last > first) {
    ref["namespace"] = owner.substr(0, first);
    ref["name"] = owner.substr(first + 1, last - first - 1);
    ref["uid"] = owner.substr(last + 1);
  }
  return {{"apiVersion", "podnet.io/v1"},
          {"kind", kind},
          {"metadata", {{"name", value}}},
          {"spec", {{"parentRef", std::move(ref)}}}};
}

core::Result<ValueClaims::Holder> ValueClaims::claim(const std::string& value,
                                                     const std::string& owner) {
  std::string k = key(value);
  std::string document = claimDocument(kind_, value, owner).dump();
  // Twice at most: a claim released between our create and our read is
  // decided by one more create.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto created = store_.create(k, document);
    if (created.ok()) return Holder{owner, created->modRevision};
    if (created.error().code != 409) return created.takeError();
    auto existing = store_.get(k);
    if (existing.ok()) return Holder{ownerOf(existing->value), existing->modRevision};
    if (existing.error().code != 404) return existing.takeError();
  }
  return core::conflict("", "allocations", value, "claimed and released while being read");
}

core::Result<int64_t> ValueClaims::release(const std::string& value, const std::string& owner) {
  std::string k = key(value);
  auto existing = store_.get(k);
  if (!existing.ok()) {
    if (existing.error().code == 404) return int64_t(0);
    return existing.takeError();
  }
  if (ownerOf(existing->value) != owner) return int64_t(0);
  auto removed = store_.remove(k, existing->modRevision);
  if (removed.ok()) return removed->modRevision;
  if (removed.error().code != 404 && removed.error().code != 409) return removed.takeError();
  return int64_t(0);
}

core::Status ValueClaims::releaseAt(const std::string& value, int64_t modRevision) {
  auto removed = store_.remove(key(value), modRevision);
  if (!removed.ok() && removed.error().code != 404 && removed.error().code != 409)
    return removed.takeError();
  return core::Ok{};
}

core::Result<ValueClaims::Snapshot> ValueClaims::list() {
  Snapshot out;
  std::string after;
  int64_t at = 0;
  for (;;) {
    auto page = store_.list(prefix(), after, 1000, at);
    if (!page.ok()) return page.takeError();
    at = page->revision;
    for (const auto& kv : page->items) {
      std::string value = valueOf(kv.key);
      out.owners[value] = ownerOf(kv.value);
      out.revisions[value] = kv.modRevision;
    }
    if (!page->more || page->items.empty()) break;
    after = page->items.back().key;
  }
  out.revision = at;
  return out;
}

}  // namespace podnet::controllers
