// Server-side Tables (meta.k8s.io/v1 Table): what `kubectl get` prints.
// kubectl 1.32 has no per-type printers of its own; it asks for
// `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the cells it is
// sent, hiding columns with priority > 0 unless -o wide. The columns and
// cell formats follow upstream pkg/printers/internalversion/printers.go,
// which kube-apiserver always runs with Wide=true.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/resource.h"
#include "apiserver/route.h"
#include "core/result.h"

namespace podnet::apiserver {

// One media range of an Accept header: the lowercased bare type and its
// parameters (names lowercased, values as sent; q is kept like any other).
struct MediaRange {
  std::string type;
  std::map<std::string, std::string> params;
};
std::vector<MediaRange> parseAccept(std::string_view accept);

// The Table version ("v1" or "v1beta1") when Accept prefers a Table to a
// plain JSON/YAML representation; nullopt otherwise.
std::optional<std::string> tableVersionFor(std::string_view accept);
// The Content-Type of a Table reply, e.g.
// "application/json;as=Table;v=v1;g=meta.k8s.io".
std::string tableContentType(const std::string& version);

// ?includeObject=: what each row's `object` carries.
enum class IncludeObject { None, Metadata, Object };
// "" means Metadata, as upstream; other values than None/Metadata/Object
// are a 400.
core::Result<IncludeObject> includeObjectFrom(std::string_view value);

struct TableOptions {
  std::string version = "v1";
  IncludeObject includeObject = IncludeObject::Metadata;
  // Watch events after the first leave the columns out (upstream PR #71548).
  bool withColumns = true;
  // Seconds since the epoch that ages are measured against; 0 means the
  // current time (taken anew for each watch event).
  long long now = 0;
};

// Upstream's duration.HumanDuration: "45s", "3m20s", "2d4h", "3y".
std::string humanDuration(long long seconds);

// The columnDefinitions for a resource's kind (a Name / Created At pair for
// kinds without a printer, as upstream's default table convertor).
api::Json tableColumns(const api::ResourceInfo& resource);
// The cells of one object's row, one per column of tableColumns().
api::Json tableCells(const api::ResourceInfo& resource, const api::Json& obj, long long now);

// A Table from a list (its items become rows) or from a single object.
api::Json toTable(const api::ResourceInfo& resource, const api::Json& listOrObject,
                  const TableOptions& options);

// Turns watch events into one-row Tables, sending the columns only with the
// first row; Status objects (ERROR events) pass through unchanged.
class TableWatchEncoder {
 public:
  TableWatchEncoder(const api::ResourceInfo& resource, TableOptions options)
      : resource_(resource), options_(std::move(options)) {}
  api::Json encode(const std::string& type, const api::Json& object);

 private:
  const api::ResourceInfo& resource_;
  TableOptions options_;
  bool columnsSent_ = false;
};

// ------------------------------------------------ glue for the REST handler

struct HttpResponse;  // handler.h

// The reply to a get or list whose Accept asks for a Table (`version` from
// tableVersionFor): the Table, or a 400 for a bad ?includeObject.
HttpResponse tableResponse(const std::string& version, const Route& route,
                           const api::ResourceInfo& resource, const api::Json& listOrObject);

// For a watch whose Accept asks for a Table: what turns each event's object
// into a one-row Table (for WatchStream::setEventTransform), or the 400 for a
// bad ?includeObject.
using WatchEventTransform =
    std::function<api::Json(const std::string& type, const api::Json& object)>;
core::Result<WatchEventTransform> tableWatchTransform(const std::string& version,
                                                      const Route& route,
                                                      const api::ResourceInfo& resource);

}  // namespace podnet::apiserver
