#include "core/flags.h"

#include <gtest/gtest.h>

namespace podnet::core {
namespace {

TEST(Flags, SplitsBothForms) {
  Flags f = splitFlags({"--a", "1", "--b=x=y", "--c", "--d"});
  ASSERT_EQ(f.values.size(), 3u);
  EXPECT_EQ(f.values[0], std::make_pair(std::string("--a"), std::string("1")));
  EXPECT_EQ(f.values[1], std::make_pair(std::string("--b"), std::string("x=y")));
  EXPECT_EQ(f.values[2], std::make_pair(std::string("--c"), std::string("--d")));
  EXPECT_FALSE(f.help);
  EXPECT_EQ(splitFlags({"--a", "1", "--b"}).missingValue, "--b");
  EXPECT_TRUE(splitFlags({"-h"}).help);
  EXPECT_TRUE(splitFlags({"--x", "1", "--help"}).help);
}

TEST(Flags, WholeNumbers) {
  long n = 0;
  EXPECT_TRUE(parseWholeNumber("320", n));
  EXPECT_EQ(n, 320);
  EXPECT_FALSE(parseWholeNumber("-1", n));
  EXPECT_FALSE(parseWholeNumber("1k", n));
  EXPECT_FALSE(parseWholeNumber("", n));
  EXPECT_FALSE(parseWholeNumber("99999999999999999999999", n));
}

}  // namespace
}  // namespace podnet::core
