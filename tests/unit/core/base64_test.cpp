#include "core/base64.h"

#include <gtest/gtest.h>

namespace podnet::core {
namespace {

TEST(Base64, Decodes) {
  EXPECT_EQ(decodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(decodeBase64("aGVs\nbG8"), "hello");
  EXPECT_EQ(decodeBase64(""), "");
  EXPECT_FALSE(decodeBase64("a").has_value());
  EXPECT_FALSE(decodeBase64("aGVs*G8=").has_value());
  EXPECT_FALSE(decodeBase64("aG==VsbG8").has_value());
}

TEST(Base64, EncodesWithPaddingAndRoundTrips) {
  EXPECT_EQ(encodeBase64(""), "");
  EXPECT_EQ(encodeBase64("f"), "Zg==");
  EXPECT_EQ(encodeBase64("fo"), "Zm8=");
  EXPECT_EQ(encodeBase64("foo"), "Zm9v");
  EXPECT_EQ(encodeBase64("s3cr3t"), "czNjcjN0");
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(decodeBase64(encodeBase64(bytes)), bytes);
}

}  // namespace
}  // namespace podnet::core
