// What a served version of a custom resource adds to its api::ResourceInfo:
// the CRD's printer columns, scale paths and storage version, and its schema
// behind a small interface (implemented by the apiextensions component), so
// the registry, validation and the REST layer treat custom resources as they
// treat built-ins.
#pragma once

#include <string>
#include <vector>

#include "api/codec.h"
#include "core/error.h"

namespace podnet::api {

// additionalPrinterColumns[] of a CRD version.
struct PrinterColumn {
  std::string name;
  std::string type;  // integer, number, string, boolean, date
  std::string format;
  std::string description;
  std::string jsonPath;
  int priority = 0;  // > 0: only with -o wide
};

struct CustomResource {
  virtual ~CustomResource() = default;

  std::string crdName;         // "httproutes.gateway.networking.k8s.io"
  std::string crdUid;          // objects are the CRD's while its uid is the same
  std::string storageVersion;  // the version objects are stored at
  std::vector<PrinterColumn> columns;
  // subresources.scale: where replicas and the selector live ("" = none).
  std::string specReplicasPath, statusReplicasPath, labelSelectorPath;
  bool terminating = false;  // the CRD is being deleted: no new objects
  bool deprecated = false;
  std::string deprecationWarning;
  // The version's openAPIV3Schema as the CRD holds it (for /openapi/v3).
  Json openApiSchema;

  // Drops unknown fields, returning their paths (for fieldValidation).
  virtual std::vector<std::string> prune(Json& obj) const = 0;
  // The schema's defaults (on write and on read from storage).
  virtual void applyDefaults(Json& obj) const = 0;
  // The schema's value validation; metadata is checked as for every kind.
  virtual std::vector<core::Cause> validate(const Json& obj) const = 0;
};

}  // namespace podnet::api
