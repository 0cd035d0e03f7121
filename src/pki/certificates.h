// X.509 certificates made with OpenSSL 3, for whoever serves TLS: the API
// server's CA and serving certificate, the ingress proxy's default
// certificate, and tests that need a CA and certificates for TLS Secrets.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace podnet::pki {

struct Credentials {
  std::string certPem;
  std::string keyPem;  // PKCS#8 PEM
};

struct CertificateRequest {
  std::string commonName;
  std::string organization;        // "" for none
  std::vector<std::string> hosts;  // subjectAltNames: DNS names (wildcards too) or IP addresses
  int days = 365;
  bool isCa = false;
  bool clientAuth = false;  // a client certificate (extended key usage clientAuth, not serverAuth)
};

// A new P-256 key and a certificate for it, signed by `issuer` or, when it
// is null, by itself.
core::Result<Credentials> issueCertificate(const CertificateRequest& request,
                                           const Credentials* issuer = nullptr);

// Whether `certPem` names every host and is valid for at least
// `validForSeconds` more.
bool certificateCovers(const std::string& certPem, const std::vector<std::string>& hosts,
                       long validForSeconds);
// Whether `certPem` was signed by `issuerKeyPem` and goes with `keyPem`.
bool certificateMatches(const std::string& certPem, const std::string& keyPem,
                        const std::string& issuerKeyPem);
// Whether a PEM certificate and a PEM key parse and belong together (what a
// kubernetes.io/tls Secret must hold).
bool validKeyPair(const std::string& certPem, const std::string& keyPem);

// Keeps the certificate at `certPath` (key at `keyPath`) if `issuer` signed
// it and it still covers `request.hosts` for 30 more days; otherwise issues a
// new one and writes both (key 0600, certificate 0644). How a node's API gets
// its serving certificate from the cluster CA.
core::Status ensureCertificate(const CertificateRequest& request, const Credentials& issuer,
                               const std::string& certPath, const std::string& keyPath);

// kubeadm's --discovery-token-ca-cert-hash of a CA: "sha256:" and the hex
// SHA-256 of its DER SubjectPublicKeyInfo ("" when the PEM does not parse).
// A joining node checks the CA it is shown against it.
std::string caCertHash(const std::string& caCertPem);

bool isIpAddress(const std::string& host);
// 2 * `bytes` random hex digits ("" if the random source fails).
std::string randomHex(size_t bytes);

}  // namespace podnet::pki
