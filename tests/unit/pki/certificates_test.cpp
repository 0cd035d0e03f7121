// Certificates as a TLS client would check them: names, issuer, key.
#include "pki/certificates.h"

#include <gtest/gtest.h>

namespace podnet::pki {
namespace {

TEST(Certificates, ACaAndTheCertificatesItSigns) {
  auto ca = issueCertificate({.commonName = "test-ca", .days = 30, .isCa = true});
  ASSERT_TRUE(ca) << ca.error().message;
  EXPECT_TRUE(validKeyPair(ca->certPem, ca->keyPem));
  auto leaf = issueCertificate({.commonName = "learn.nextgenplayground.org",
                                .hosts = {"learn.nextgenplayground.org", "*.example.com",
                                          "10.0.0.1"},
                                .days = 30},
                               &*ca);
  ASSERT_TRUE(leaf) << leaf.error().message;
  EXPECT_TRUE(certificateMatches(leaf->certPem, leaf->keyPem, ca->keyPem));
  EXPECT_FALSE(certificateMatches(leaf->certPem, ca->keyPem, ca->keyPem)) << "not its key";
  EXPECT_TRUE(certificateCovers(leaf->certPem, {"learn.nextgenplayground.org"}, 0));
  EXPECT_TRUE(certificateCovers(leaf->certPem, {"a.example.com", "10.0.0.1"}, 0));
  EXPECT_FALSE(certificateCovers(leaf->certPem, {"a.b.example.com"}, 0)) << "one label";
  EXPECT_FALSE(certificateCovers(leaf->certPem, {"learn.nextgenplayground.org"}, 40L * 86400))
      << "expires within 40 days";
  auto self = issueCertificate({.commonName = "Kubernetes Ingress Controller Fake Certificate",
                                .organization = "Acme Co",
                                .hosts = {"ingress.local"}});
  ASSERT_TRUE(self);
  EXPECT_TRUE(certificateMatches(self->certPem, self->keyPem, self->keyPem));
  EXPECT_FALSE(validKeyPair("not a certificate", self->keyPem));
  EXPECT_EQ(randomHex(16).size(), 32U);
}

}  // namespace
}  // namespace podnet::pki
