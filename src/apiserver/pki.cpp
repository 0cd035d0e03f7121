#include "apiserver/pki.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace podnet::apiserver {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

constexpr int kCaDays = 3650;
constexpr int kServerDays = 365;
// Re-issue a serving certificate that has less than this left.
constexpr long kRenewBeforeSeconds = 30L * 24 * 3600;

const char* const kServiceNames[] = {"localhost", "kubernetes", "kubernetes.default",
                                     "kubernetes.default.svc",
                                     "kubernetes.default.svc.cluster.local"};

core::Error opensslError(const std::string& what) {
  return core::internal(what + " failed (OpenSSL)");
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool isIpAddress(const std::string& host) {
  ASN1_OCTET_STRING* parsed = a2i_IPADDRESS(host.c_str());
  if (!parsed) return false;
  ASN1_OCTET_STRING_free(parsed);
  return true;
}

KeyPtr newKey() { return KeyPtr(EVP_EC_gen("P-256")); }

std::string keyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) return "";
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(size));
}

std::string certPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return "";
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(size));
}

KeyPtr parseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  return KeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

CertPtr parseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  return CertPtr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool addExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Issues a certificate for `key`, signed by `issuerKey` (self-signed when
// `issuer` is null).
CertPtr issue(EVP_PKEY* key, const std::string& commonName, int days, X509* issuer,
              EVP_PKEY* issuerKey, bool isCa, const std::string& subjectAltNames) {
  CertPtr cert(X509_new());
  if (!cert) return nullptr;
  X509_set_version(cert.get(), 2);
  unsigned char serialBytes[16];
  if (RAND_bytes(serialBytes, sizeof serialBytes) != 1) return nullptr;
  serialBytes[0] &= 0x7f;  // a positive serial
  BIGNUM* serial = BN_bin2bn(serialBytes, sizeof serialBytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), long(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  if (!isCa)
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("podnet"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  bool ok = true;
  if (isCa) {
    ok = ok && addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && addExtension(cert.get(), &ctx, NID_key_usage,
                            "critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign");
    ok = ok && addExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  } else {
    ok = ok && addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok &&
         addExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    ok = ok && addExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
    ok = ok && addExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    ok = ok && addExtension(cert.get(), &ctx, NID_subject_alt_name, subjectAltNames);
  }
  if (!ok) return nullptr;
  if (X509_sign(cert.get(), issuerKey, EVP_sha256()) <= 0) return nullptr;
  return cert;
}

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

bool covers(X509* cert, const std::vector<std::string>& hosts) {
  for (const auto& host : hosts) {
    int matched = isIpAddress(host) ? X509_check_ip_asc(cert, host.c_str(), 0)
                                    : X509_check_host(cert, host.c_str(), host.size(), 0, nullptr);
    if (matched != 1) return false;
  }
  time_t renewAt = time(nullptr) + kRenewBeforeSeconds;
  return X509_cmp_time(X509_get0_notAfter(cert), &renewAt) > 0;
}

std::string randomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += hex[b >> 4];
    token += hex[b & 15];
  }
  return token;
}

std::string base64(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(data.data()), int(data.size()));
  out.resize(size_t(length));
  return out;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

}  // namespace

core::Status writeFileAtomically(const std::string& path, const std::string& content, int mode) {
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return core::internal("cannot write " + temp + ": " + std::strerror(errno));
  ::fchmod(fd, mode_t(mode));  // also when the temp file existed with another mode
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return core::internal("cannot write " + temp + ": " + std::strerror(errno));
    }
    written += size_t(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0)
    return core::internal("cannot rename " + temp + ": " + std::strerror(errno));
  return core::Ok{};
}

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
  KeyPtr caKey;
  CertPtr caCert;
  if (fs::exists(dir / "ca.crt") && fs::exists(dir / "ca.key")) {
    pki.caCertPem = readFile(dir / "ca.crt");
    pki.caKeyPem = readFile(dir / "ca.key");
    caCert = parseCert(pki.caCertPem);
    caKey = parseKey(pki.caKeyPem);
    if (!caCert || !caKey) return core::internal("cannot read the CA in " + dir.string());
  } else {
    caKey = newKey();
    if (!caKey) return opensslError("CA key generation");
    caCert = issue(caKey.get(), "podnet-ca", kCaDays, nullptr, caKey.get(), true, "");
    if (!caCert) return opensslError("CA certificate");
    pki.caCertPem = certPem(caCert.get());
    pki.caKeyPem = keyPem(caKey.get());
    if (auto ok = writeFileAtomically((dir / "ca.key").string(), pki.caKeyPem, 0600); !ok)
      return ok.takeError();
    if (auto ok = writeFileAtomically((dir / "ca.crt").string(), pki.caCertPem, 0644); !ok)
      return ok.takeError();
    fs::remove(dir / "server.crt", ec);
  }

  std::vector<std::string> hosts = servingHosts(serviceIp, extraHosts);
  bool reuseServing = false;
  if (fs::exists(dir / "server.crt") && fs::exists(dir / "server.key")) {
    pki.serverCertPem = readFile(dir / "server.crt");
    pki.serverKeyPem = readFile(dir / "server.key");
    CertPtr serving = parseCert(pki.serverCertPem);
    KeyPtr servingKey = parseKey(pki.serverKeyPem);
    reuseServing = serving && servingKey && X509_verify(serving.get(), caKey.get()) == 1 &&
                   X509_check_private_key(serving.get(), servingKey.get()) == 1 &&
                   covers(serving.get(), hosts);
  }
  if (!reuseServing) {
    KeyPtr servingKey = newKey();
    if (!servingKey) return opensslError("serving key generation");
    std::string altNames;
    for (const auto& host : hosts) {
      if (!altNames.empty()) altNames += ',';
      altNames += (isIpAddress(host) ? "IP:" : "DNS:") + host;
    }
    CertPtr serving = issue(servingKey.get(), "kube-apiserver", kServerDays, caCert.get(),
                            caKey.get(), false, altNames);
    if (!serving) return opensslError("serving certificate");
    pki.serverCertPem = certPem(serving.get());
    pki.serverKeyPem = keyPem(servingKey.get());
    if (auto ok = writeFileAtomically((dir / "server.key").string(), pki.serverKeyPem, 0600); !ok)
      return ok.takeError();
    if (auto ok = writeFileAtomically((dir / "server.crt").string(), pki.serverCertPem, 0644); !ok)
      return ok.takeError();
  }

  if (fs::exists(dir / "admin.token")) pki.adminToken = trimmed(readFile(dir / "admin.token"));
  if (pki.adminToken.empty()) {
    pki.adminToken = randomToken();
    if (pki.adminToken.empty()) return opensslError("token generation");
    if (auto ok = writeFileAtomically((dir / "admin.token").string(), pki.adminToken + "\n", 0600);
        !ok)
      return ok.takeError();
  }
  return pki;
}

std::string kubeconfigYaml(const std::string& serverUrl, const std::string& caCertPem,
                           const std::string& token) {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- name: podnet\n"
         "  cluster:\n"
         "    certificate-authority-data: " +
         base64(caCertPem) +
         "\n"
         "    server: " +
         serverUrl +
         "\n"
         "users:\n"
         "- name: podnet-admin\n"
         "  user:\n"
         "    token: " +
         token +
         "\n"
         "contexts:\n"
         "- name: podnet\n"
         "  context:\n"
         "    cluster: podnet\n"
         "    user: podnet-admin\n"
         "    namespace: default\n"
         "current-context: podnet\n";
}

}  // namespace podnet::apiserver
