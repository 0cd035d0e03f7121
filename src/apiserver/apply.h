// Server-side apply and metadata.managedFields, after
// k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager and
// sigs.k8s.io/structured-merge-diff, driven by the type table (api/schema.h).
//
// Every write through the REST layer records which manager owns which
// fields: POST/PUT/PATCH as an "Update" entry of their fieldManager, a PATCH
// with application/apply-patch+yaml as an "Apply" entry. Field sets are
// encoded as upstream's FieldsV1: {"f:spec":{"f:ports":{"k:{\"port\":80,
// \"protocol\":\"TCP\"}":{".":{},"f:port":{}}}}}: "f:<name>" for a field,
// "k:<json>" for an item of a listType=map list (by its listMapKeys),
// "v:<json>" for an item of a listType=set list; atomic lists are owned
// whole; "." marks a node that is owned itself and also has owned children.
//
// Simplifications (documented where they matter):
//   - field sets are computed on the request's object, before the registry
//     applies defaults (upstream decodes with defaults, so its Update sets
//     also name defaulted fields such as spec.sessionAffinity);
//   - maps (labels, selector) are always granular, never atomic;
//   - a missing list-map key defaults only for "protocol" ("TCP");
//   - a manager never conflicts with its own entries (upstream keys managers
//     by name and operation);
//   - writes to the status and scale subresources are not tracked.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/resource.h"
#include "api/schema.h"
#include "client/client.h"
#include "core/result.h"

namespace podnet::apiserver {

// A set of field paths, as a tree keyed by FieldsV1 path elements.
struct FieldSet {
  bool member = false;  // this node itself is in the set
  std::map<std::string, FieldSet> children;

  bool empty() const { return !member && children.empty(); }
  bool contains(const std::vector<std::string>& path) const;
  // Whether the path or anything below it is in the set.
  bool touches(const std::vector<std::string>& path) const;
  void insert(const std::vector<std::string>& path);
  void unite(const FieldSet& other);
  void subtract(const FieldSet& other);
  // Calls `visit` with every member path, parents before children.
  void forEachMember(const std::function<void(const std::vector<std::string>&)>& visit) const;

  api::Json toFieldsV1() const;
  static FieldSet fromFieldsV1(const api::Json& fields);
};

// The fields `obj` sets, as server-side apply owns them. `withContainers`
// also marks granular maps and lists themselves ("."), as Update entries
// record them. apiVersion, kind, status and the server-managed metadata
// (name, namespace, uid, resourceVersion, ...) are never part of a set.
FieldSet fieldsOf(const api::Json& obj, const api::schema::Message* type, bool withContainers);

// The upstream display form of a path: .spec.ports[port=80,protocol="TCP"].targetPort
std::string pathString(const std::vector<std::string>& path);

// The manager of a write without ?fieldManager=: the product of its
// User-Agent ("kubectl/v1.32.4 (linux/amd64) ..." -> "kubectl").
std::string defaultFieldManager(std::string_view userAgent);

// Records an Update operation by `manager` turning `old` (null for a create)
// into `updated`: the fields it changed join the manager's Update entry and
// leave every other manager's. Writes updated.metadata.managedFields. A
// managedFields list the client sent that differs from the stored one
// replaces it first (upstream lets clients reset ownership that way).
void recordUpdate(const api::Json& old, api::Json& updated, const api::schema::Message* type,
                  const std::string& manager, const std::string& apiVersion);

struct ApplyOptions {
  std::string manager;  // required
  bool force = false;
  std::string apiVersion;  // of the resource, recorded in the entry
};

// Server-side apply of `config` onto `live` (null: the object does not exist
// yet). Returns the new object with its managedFields, or 409 Conflict with
// FieldManagerConflict causes when `config` changes fields other managers
// own (unless options.force).
core::Result<api::Json> applyConfiguration(const api::Json& live, const api::Json& config,
                                           const api::schema::Message* type,
                                           const ApplyOptions& options);

// Everything a PATCH with Content-Type application/apply-patch+yaml needs
// from the REST layer.
struct ApplyRequest {
  const api::ResourceInfo* resource = nullptr;
  std::string ns;
  std::string name;
  std::string body;  // YAML or JSON
  std::string fieldManager;
  std::string force;            // the query parameter as sent
  std::string fieldValidation;  // Strict, Warn, Ignore or ""
  client::WriteOptions writeOptions;
};

using GuaranteedUpdateFn = std::function<core::Result<api::Json>(
    const api::ResourceInfo& resource, std::string_view ns, std::string_view name,
    const std::function<core::Status(api::Json&)>& mutate, const client::WriteOptions& options)>;

struct ApplyResult {
  api::Json object;
  bool created = false;               // 201 rather than 200
  std::vector<std::string> warnings;  // unknown fields under fieldValidation=Warn
};

// The whole apply request: validates the body and parameters, updates the
// object through `guaranteedUpdate`, or creates it when it is absent.
core::Result<ApplyResult> serverSideApply(client::Client& client,
                                          const GuaranteedUpdateFn& guaranteedUpdate,
                                          const ApplyRequest& request);

}  // namespace podnet::apiserver
