// Standard base64 (RFC 4648 section 4), as Kubernetes puts bytes in JSON
// (Secret data, kubeconfig certificate data).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace podnet::core {

// With padding.
std::string encodeBase64(std::string_view data);
// Padding optional, whitespace ignored; nullopt if invalid.
std::optional<std::string> decodeBase64(std::string_view text);

}  // namespace podnet::core
