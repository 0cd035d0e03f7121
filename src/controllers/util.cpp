#include "controllers/util.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <random>

#include "api/object.h"
#include "client/informer.h"

namespace podnet::controllers {

const Json* at(const Json& obj, std::initializer_list<std::string_view> path) {
  const Json* cur = &obj;
  for (auto key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string stringAt(const Json& obj, std::initializer_list<std::string_view> path) {
  const Json* v = at(obj, path);
  return v && v->is_string() ? v->get<std::string>() : std::string{};
}

int64_t intAt(const Json& obj, std::initializer_list<std::string_view> path, int64_t fallback) {
  const Json* v = at(obj, path);
  if (!v) return fallback;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned()) return int64_t(v->get<uint64_t>());
  return fallback;
}

bool boolAt(const Json& obj, std::initializer_list<std::string_view> path, bool fallback) {
  const Json* v = at(obj, path);
  return v && v->is_boolean() ? v->get<bool>() : fallback;
}

const Json& arrayAt(const Json& obj, std::initializer_list<std::string_view> path) {
  static const Json empty = Json::array();
  const Json* v = at(obj, path);
  return v && v->is_array() ? *v : empty;
}

const Json& objectAt(const Json& obj, std::initializer_list<std::string_view> path) {
  static const Json empty = Json::object();
  const Json* v = at(obj, path);
  return v && v->is_object() ? *v : empty;
}

std::string randomSuffix(size_t length) {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (size_t i = 0; i < length; ++i) out += kAlphabet[pick(rng)];
  return out;
}

std::optional<OwnerRef> controllerOf(const Json& obj) {
  for (const auto& ref : arrayAt(obj, {"metadata", "ownerReferences"})) {
    if (!boolAt(ref, {"controller"}, false)) continue;
    return OwnerRef{stringAt(ref, {"apiVersion"}), stringAt(ref, {"kind"}), stringAt(ref, {"name"}),
                    stringAt(ref, {"uid"})};
  }
  return std::nullopt;
}

long long nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t revisionOf(const Json& obj) {
  return client::parseResourceVersion(api::resourceVersion(obj));
}

bool ownedBy(const Json& obj, const Json& owner) {
  auto ref = controllerOf(obj);
  return ref && !ref->uid.empty() && ref->uid == api::uid(owner);
}

Json podFromTemplate(const Json& owner, std::string_view apiVersion, std::string_view kind) {
  const Json& podTemplate = objectAt(owner, {"spec", "template"});
  Json metadata = {{"namespace", api::namespaceOf(owner)},
                   {"ownerReferences", Json::array({ownerReference(owner, apiVersion, kind)})}};
  if (const Json* labels = at(podTemplate, {"metadata", "labels"})) metadata["labels"] = *labels;
  if (const Json* annotations = at(podTemplate, {"metadata", "annotations"}))
    metadata["annotations"] = *annotations;
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", std::move(metadata)},
          {"spec", objectAt(podTemplate, {"spec"})}};
}

Json ownerReference(const Json& owner, std::string_view apiVersion, std::string_view kind,
                    bool controller) {
  return Json{{"apiVersion", apiVersion}, {"kind", kind},
              {"name", api::name(owner)}, {"uid", api::uid(owner)},
              {"controller", controller}, {"blockOwnerDeletion", true}};
}

bool isPodTerminal(const Json& pod) {
  std::string phase = stringAt(pod, {"status", "phase"});
  return phase == "Succeeded" || phase == "Failed";
}

bool isPodActive(const Json& pod) { return !isPodTerminal(pod) && !api::isBeingDeleted(pod); }

static const Json* readyCondition(const Json& pod) {
  for (const auto& c : arrayAt(pod, {"status", "conditions"}))
    if (stringAt(c, {"type"}) == "Ready") return &c;
  return nullptr;
}

bool isPodReady(const Json& pod) {
  const Json* c = readyCondition(pod);
  return c && stringAt(*c, {"status"}) == "True";
}

long long podReadySince(const Json& pod) {
  const Json* c = readyCondition(pod);
  if (!c || stringAt(*c, {"status"}) != "True") return -1;
  return api::parseRfc3339(stringAt(*c, {"lastTransitionTime"}));
}

bool isPodAvailable(const Json& pod, int64_t minReadySeconds, long long now) {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  long long since = podReadySince(pod);
  return since >= 0 && since + minReadySeconds <= now;
}

bool mapSelectorMatches(const std::map<std::string, std::string>& selector,
                        const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

int64_t scaledValue(const Json* value, int64_t total, bool roundUp, int64_t fallback) {
  if (!value) return fallback;
  if (value->is_number_integer()) return value->get<int64_t>();
  if (!value->is_string()) return fallback;
  std::string text = value->get<std::string>();
  if (text.empty()) return fallback;
  bool percent = text.back() == '%';
  if (percent) text.pop_back();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 0) return fallback;
  if (!percent) return n;
  double scaled = double(n) * double(total) / 100.0;
  return int64_t(roundUp ? std::ceil(scaled) : std::floor(scaled));
}

}  // namespace podnet::controllers
