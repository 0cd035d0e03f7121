// Kubernetes protobuf request bodies (Content-Type application/vnd.kubernetes.protobuf),
// decoded into the JSON object the rest of the server takes. kubectl's
// `create <generator>` subcommands send nothing else, with no JSON fallback.
//
// The wire format: the 4 bytes "k8s\0", then a runtime.Unknown
//   {typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4}
// whose `raw` is the object's message, read field by field with the type
// table of api/schema.h. Only decoding: responses are JSON, which kubectl
// accepts because its Accept lists JSON after protobuf.
//
// Zero values: gogo-protobuf writes every non-pointer field, also when it is
// empty ("generateName": "", "nodePort": 0, an empty creationTimestamp). Go
// reads such zeros as "unset" (json omitempty, defaulting), so a singular
// field holding its zero value is left out of the JSON, except for the
// pointer fields where zero means something (replicas: 0, runAsUser: 0,
// automountServiceAccountToken: false, maxUnavailable: 0, ...).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/schema.h"
#include "core/result.h"

namespace podnet::apiserver {

inline constexpr std::string_view kProtobufMagic{"k8s\0", 4};

// Messages nest about 12 deep in the served types (Deployment -> template
// -> spec -> containers -> livenessProbe -> httpGet -> port); anything much
// deeper is hostile.
inline constexpr int kMaxProtobufDepth = 64;

struct DecodedProtobuf {
  api::Json object;
  // Field numbers the type table does not know, skipped, as
  // "spec.template.spec: field 99" (the wire carries numbers, not names).
  // Upstream protobuf decoding is never strict, so callers may ignore them.
  std::vector<std::string> unknownFields;
};

// Finds the message of a kind: api::schema::forKind, or a table in tests.
using KindLookup =
    std::function<const api::schema::Message*(std::string_view apiVersion, std::string_view kind)>;

// Decodes a whole request body: magic, envelope, object. apiVersion and kind
// of the result come from the envelope. Malformed input is a 400 BadRequest
// naming the field and what is wrong; a kind without a table entry, or an
// envelope compressed or holding another format, is 415 UnsupportedMediaType
// (the client can resend as JSON). Never throws.
core::Result<DecodedProtobuf> decodeProtobufBody(std::string_view body, const KindLookup& lookup);

// Decodes one message's bytes (the envelope's `raw`) with `message`.
core::Result<DecodedProtobuf> decodeProtobufMessage(std::string_view bytes,
                                                    const api::schema::Message& message);

}  // namespace podnet::apiserver
