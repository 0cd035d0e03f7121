#include "apiserver/pki.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "pki/certificates.h"

namespace podnet::apiserver {

namespace {

constexpr int kCaDays = 3650;
constexpr int kServerDays = 365;
// Re-issue a serving certificate that has less than this left.
constexpr long kRenewBeforeSeconds = 30L * 24 * 3600;

const char* const kServiceNames[] = {"localhost", "kubernetes", "kubernetes.default",
                                     "kubernetes.default.svc",
                                     "kubernetes.default.svc.cluster.local"};

std::string readFile(const std::filesystem::path& path) { return core::readFile(path.string()); }

std::vector<std::string> servingHosts(const std::string& serviceIp,
                                      const std::vector<std::string>& extraHosts) {
  std::vector<std::string> hosts(std::begin(kServiceNames), std::end(kServiceNames));
  hosts.push_back("127.0.0.1");
  if (!serviceIp.empty()) hosts.push_back(serviceIp);
  for (const auto& host : extraHosts) {
    // A wildcard listen address is reached as loopback; it names nothing.
    if (host.empty() || host == "0.0.0.0" || host == "::") continue;
    bool seen = false;
    for (const auto& h : hosts) seen = seen || h == host;
    if (!seen) hosts.push_back(host);
  }
  return hosts;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

}  // namespace

core::Result<Pki> loadOrCreatePki(const std::string& dataDir, const std::string& serviceIp,
                                  const std::vector<std::string>& extraHosts) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(dataDir) / "pki";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::internal("cannot create " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);

  Pki pki;
  // The CA: reused when both halves are there, otherwise made afresh (and
  // then every certificate it signed is re-issued too).
  if (fs::exists(dir / "ca.crt") && fs::exists(dir / "ca.key")) {
    pki.caCertPem = readFile(dir / "ca.crt");
    pki.caKeyPem = readFile(dir / "ca.key");
    if (!pki::validKeyPair(pki.caCertPem, pki.caKeyPem))
      return core::internal("cannot read the CA in " + dir.string());
  } else {
    auto ca = pki::issueCertificate({.commonName = "podnet-ca", .days = kCaDays, .isCa = true});
    if (!ca) return ca.takeError();
    pki.caCertPem = ca->certPem;
    pki.caKeyPem = ca->keyPem;
    if (auto ok = writeFileAtomically((dir / "ca.key").string(), pki.caKeyPem, 0600); !ok)
      return ok.takeError();
    if (auto ok = writeFileAtomically((dir / "ca.crt").string(), pki.caCertPem, 0600); !ok)
      return ok.takeError();
    fs::remove(dir / "server.crt", ec);
  }

  std::vector<std::string> hosts = servingHosts(serviceIp, extraHosts);
  bool reuseServing = false;
  if (fs::exists(dir / "server.crt") && fs::exists(dir / "server.key")) {
    pki.serverCertPem = readFile(dir / "server.crt");
    pki.serverKeyPem = readFile(dir / "server.key");
    reuseServing = pki::certificateMatches(pki.serverCertPem, pki.serverKeyPem, pki.caKeyPem) &&
                   pki::certificateCovers(pki.serverCertPem, hosts, kRenewBeforeSeconds);
  }
  if (!reuseServing) {
    pki::Credentials ca{pki.caCertPem, pki.caKeyPem};
    auto serving = pki::issueCertificate({.commonName = "kube-apiserver",
                                          .organization = "podnet",
                                          .hosts = hosts,
                                          .days = kServerDays},
                                         &ca);
    if (!serving) return serving.takeError();
    pki.serverCertPem = serving->certPem;
    pki.serverKeyPem = serving->keyPem;
    if (auto ok = writeFileAtomically((dir / "server.key").string(), pki.serverKeyPem, 0600); !ok)
      return ok.takeError();
    if (auto ok = writeFileAtomically((dir / "server.crt").string(), pki.serverCertPem, 0600); !ok)
      return ok.takeError();
  }

  // The client certificate for the node API: its name is what the agents
  // let in, so only the name and the CA are checked on reuse.
  if (fs::exists(dir / "kubelet-client.crt") && fs::exists(dir / "kubelet-client.key")) {
    pki.kubeletClientCertPem = readFile(dir / "kubelet-client.crt");
    pki.kubeletClientKeyPem = readFile(dir / "kubelet-client.key");
    if (!pki::certificateMatches(pki.kubeletClientCertPem, pki.kubeletClientKeyPem, pki.caKeyPem) ||
        !pki::certificateCovers(pki.kubeletClientCertPem, {}, kRenewBeforeSeconds))
      pki.kubeletClientCertPem.clear();
  }
  if (pki.kubeletClientCertPem.empty()) {
    pki::Credentials ca{pki.caCertPem, pki.caKeyPem};
    auto client = pki::issueCertificate({.commonName = "kube-apiserver-kubelet-client",
                                         .organization = "system:masters",
                                         .days = kServerDays,
                                         .clientAuth = true},
                                        &ca);
    if (!client) return client.takeError();
    pki.kubeletClientCertPem = client->certPem;
    pki.kubeletClientKeyPem = client->keyPem;
    if (auto ok = writeFileAtomically((dir / "kubelet-client.key").string(),
                                      pki.kubeletClientKeyPem, 0600);
        !ok)
      return ok.takeError();
    if (auto ok = writeFileAtomically((dir / "kubelet-client.crt").string(),
                                      pki.kubeletClientCertPem, 0600);
        !ok)
      return ok.takeError();
  }

  if (fs::exists(dir / "admin.token")) pki.adminToken = trimmed(readFile(dir / "admin.token"));
  if (pki.adminToken.empty()) {
    pki.adminToken = pki::randomHex(32);
    if (pki.adminToken.empty()) return core::internal("token generation failed (OpenSSL)");
    if (auto ok = writeFileAtomically((dir / "admin.token").string(), pki.adminToken + "\n", 0600);
        !ok)
      return ok.takeError();
  }
  return pki;
}

}  // namespace podnet::apiserver
