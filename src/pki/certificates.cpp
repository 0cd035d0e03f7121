#include "pki/certificates.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "core/files.h"

namespace podnet::pki {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

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

bool addName(X509_NAME* name, const char* field, const std::string& value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                    0) == 1;
}

}  // namespace

bool isIpAddress(const std::string& host) {
  ASN1_OCTET_STRING* parsed = a2i_IPADDRESS(host.c_str());
  if (!parsed) return false;
  ASN1_OCTET_STRING_free(parsed);
  return true;
}

std::string caCertHash(const std::string& caCertPem) {
  CertPtr cert = parseCert(caCertPem);
  if (!cert) return "";
  unsigned char* der = nullptr;
  int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  if (length <= 0) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digestLength = 0;
  bool ok = EVP_Digest(der, size_t(length), digest, &digestLength, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < digestLength; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string randomHex(size_t bytes) {
  std::string random(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), int(bytes)) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : random) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

core::Result<Credentials> issueCertificate(const CertificateRequest& request,
                                           const Credentials* issuer) {
  auto failed = [](const std::string& what) { return core::internal(what + " failed (OpenSSL)"); };
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return failed("key generation");
  KeyPtr issuerKey;
  CertPtr issuerCert;
  if (issuer) {
    issuerKey = parseKey(issuer->keyPem);
    issuerCert = parseCert(issuer->certPem);
    if (!issuerKey || !issuerCert)
      return core::badRequest("the issuer's certificate or key does not parse");
  }
  CertPtr cert(X509_new());
  if (!cert) return failed("certificate allocation");
  X509_set_version(cert.get(), 2);
  unsigned char serialBytes[16];
  if (RAND_bytes(serialBytes, sizeof serialBytes) != 1) return failed("serial number");
  serialBytes[0] &= 0x7f;  // a positive serial
  BIGNUM* serial = BN_bin2bn(serialBytes, sizeof serialBytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), long(request.days) * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!addName(name, "CN", request.commonName)) return failed("subject name");
  if (!request.organization.empty() && !addName(name, "O", request.organization))
    return failed("subject name");
  X509_set_issuer_name(cert.get(), issuerCert ? X509_get_subject_name(issuerCert.get()) : name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuerCert ? issuerCert.get() : cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string altNames;
  for (const auto& host : request.hosts) {
    if (!altNames.empty()) altNames += ',';
    altNames += (isIpAddress(host) ? "IP:" : "DNS:") + host;
  }
  bool ok = true;
  if (request.isCa) {
    ok = ok && addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && addExtension(cert.get(), &ctx, NID_key_usage,
                            "critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign");
    ok = ok && addExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  } else {
    ok = ok && addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok &&
         addExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    ok = ok && addExtension(cert.get(), &ctx, NID_ext_key_usage,
                            request.clientAuth ? "clientAuth" : "serverAuth");
    if (issuerCert)
      ok = ok && addExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  }
  if (!altNames.empty()) ok = ok && addExtension(cert.get(), &ctx, NID_subject_alt_name, altNames);
  if (!ok) return failed("certificate extensions");
  if (X509_sign(cert.get(), issuerKey ? issuerKey.get() : key.get(), EVP_sha256()) <= 0)
    return failed("signing");
  Credentials out{certPem(cert.get()), keyPem(key.get())};
  if (out.certPem.empty() || out.keyPem.empty()) return failed("PEM encoding");
  return out;
}

bool certificateCovers(const std::string& certPem, const std::vector<std::string>& hosts,
                       long validForSeconds) {
  CertPtr cert = parseCert(certPem);
  if (!cert) return false;
  for (const auto& host : hosts) {
    int matched = isIpAddress(host)
                      ? X509_check_ip_asc(cert.get(), host.c_str(), 0)
                      : X509_check_host(cert.get(), host.c_str(), host.size(), 0, nullptr);
    if (matched != 1) return false;
  }
  time_t until = time(nullptr) + validForSeconds;
  return X509_cmp_time(X509_get0_notAfter(cert.get()), &until) > 0;
}

bool certificateMatches(const std::string& certPem, const std::string& keyPem,
                        const std::string& issuerKeyPem) {
  CertPtr cert = parseCert(certPem);
  KeyPtr key = parseKey(keyPem);
  KeyPtr issuerKey = parseKey(issuerKeyPem);
  return cert && key && issuerKey && X509_verify(cert.get(), issuerKey.get()) == 1 &&
         X509_check_private_key(cert.get(), key.get()) == 1;
}

core::Status ensureCertificate(const CertificateRequest& request, const Credentials& issuer,
                               const std::string& certPath, const std::string& keyPath) {
  std::string certPem = core::readFile(certPath), keyPem = core::readFile(keyPath);
  if (!certPem.empty() && certificateMatches(certPem, keyPem, issuer.keyPem) &&
      certificateCovers(certPem, request.hosts, 30L * 24 * 3600))
    return core::Ok{};
  auto issued = issueCertificate(request, &issuer);
  if (!issued) return issued.takeError();
  if (auto ok = core::writeFileAtomically(keyPath, issued->keyPem, 0600); !ok) return ok;
  return core::writeFileAtomically(certPath, issued->certPem, 0600);
}

bool validKeyPair(const std::string& certPem, const std::string& keyPem) {
  CertPtr cert = parseCert(certPem);
  KeyPtr key = parseKey(keyPem);
  return cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
}

}  // namespace podnet::pki
