// Who a request comes from and what that identity may do.
//
// Authentication, by bearer token: the admin token (system:masters), a
// ServiceAccount token, a bootstrap token (system:bootstrap:<id>, group
// system:bootstrappers: it may only ask for a node's credentials), a node
// token (system:node:<name>, group system:nodes). No token: anonymous, let
// in only to read kube-public/cluster-info, what a joining node needs to
// check the cluster's CA against the hash it was given.
//
// Authorization: everyone but nodes, bootstrappers and anonymous may do
// everything (podnet has no RBAC yet). A node is held to what
// kube-apiserver's Node authorizer and NodeRestriction admission allow: it
// writes only its own Node, the status of pods bound to it (and deletes
// them), events, tokens for its pods' ServiceAccounts and its own Lease; it
// reads a Secret only when a pod bound to it uses that Secret, and never
// lists Secrets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/route.h"
#include "client/client.h"
#include "core/result.h"

namespace podnet::apiserver {

class TokenIssuer;

struct Identity {
  enum class Kind { Admin, ServiceAccount, Bootstrap, Node, Anonymous };
  Kind kind = Kind::Anonymous;
  std::string user;
  std::vector<std::string> groups;
  std::string node;  // Kind::Node: the node's name
};

struct AuthConfig {
  std::string adminToken;  // "" turns authentication off (unit tests)
  const TokenIssuer* serviceAccountTokens = nullptr;
};

// The identity of an Authorization header ("" for none), or nullopt when it
// carries a token nobody issued (401).
std::optional<Identity> authenticate(client::Client& api, const AuthConfig& config,
                                     std::string_view authorization, int64_t nowUnix);

// Ok, or the 403 Status upstream gives for the same refusal.
core::Status authorize(client::Client& api, const Identity& identity, std::string_view method,
                       const Route& route, std::string_view body);

}  // namespace podnet::apiserver
