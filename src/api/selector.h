// Label selectors (the query-string form "a=b,c!=d,e in (x,y),!f" and the
// metav1.LabelSelector object form) and field selectors.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/resource.h"
#include "core/result.h"

namespace podnet::api {

struct Requirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
  std::string key;
  Op op = Op::Equals;
  std::vector<std::string> values;
};

class LabelSelector {
 public:
  // The query-parameter form; an empty string selects everything.
  static core::Result<LabelSelector> parse(std::string_view text);
  // metav1.LabelSelector {matchLabels, matchExpressions}. An empty or null
  // object selects everything (as NetworkPolicy podSelector: {} does).
  static core::Result<LabelSelector> fromJson(const Json& selector);
  // A Service-style selector map: every pair must match. An empty map
  // selects nothing (as a Service with an empty selector gets no endpoints)
  // unless selectEverythingWhenEmpty.
  static LabelSelector fromMap(const std::map<std::string, std::string>& labels,
                               bool selectEverythingWhenEmpty = false);

  bool matches(const std::map<std::string, std::string>& labels) const;
  bool selectsEverything() const { return requirements_.empty() && !nothing_; }
  const std::vector<Requirement>& requirements() const { return requirements_; }
  std::string toString() const;

 private:
  std::vector<Requirement> requirements_;
  bool nothing_ = false;
};

// Field selectors: "metadata.name=foo,spec.nodeName!=n1". Which fields are
// supported depends on the kind, as on a real API server (metadata.name and
// metadata.namespace everywhere; spec.nodeName and status.phase for pods;
// involvedObject.* for events; ...). An unsupported field is a BadRequest.
class FieldSelector {
 public:
  static core::Result<FieldSelector> parse(const ResourceInfo& resource, std::string_view text);
  bool matches(const Json& obj) const;
  bool empty() const { return terms_.empty(); }

 private:
  struct Term {
    std::string field;
    bool equals = true;
    std::string value;
  };
  std::vector<Term> terms_;
};

// The value of a selectable field of an object ("" when unset).
std::string fieldValue(const Json& obj, std::string_view field);

}  // namespace podnet::api
