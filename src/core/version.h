// The Kubernetes version podnet speaks: what the API server reports in
// /version and what nodes report as their kubelet and kube-proxy versions
// (kubectl compares them; `kubectl get nodes` shows the kubelet's).
#pragma once

namespace podnet::core {

inline constexpr const char* kKubernetesMinor = "32";
inline constexpr const char* kKubernetesVersion = "v1.32.0-podnet";

}  // namespace podnet::core
