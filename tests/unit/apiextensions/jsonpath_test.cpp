#include "apiextensions/jsonpath.h"

#include <gtest/gtest.h>

namespace podnet::apiextensions {
namespace {

std::vector<api::Json> find(const std::string& path, const api::Json& obj) {
  auto parsed = JsonPath::parse(path);
  EXPECT_EQ(parsed.error, "") << path;
  std::vector<api::Json> out;
  for (const api::Json* value : parsed.path.find(obj)) out.push_back(*value);
  return out;
}

const api::Json kGateway = api::Json::parse(R"({
  "metadata": {"name": "web", "annotations": {"example.com/owner": "team-a"}},
  "spec": {"hostnames": ["a.example.com", "b.example.com"], "port": 80},
  "status": {"addresses": [{"value": "192.0.2.1"}, {"value": "192.0.2.2"}],
             "conditions": [{"type": "Accepted", "status": "True"},
                            {"type": "Programmed", "status": "False"}]}})");

TEST(JsonPath, PrinterColumnPaths) {
  EXPECT_EQ(find(".spec.port", kGateway), std::vector<api::Json>{80});
  EXPECT_EQ(find(".spec.hostnames", kGateway)[0].dump(), R"(["a.example.com","b.example.com"])");
  EXPECT_EQ(find(".status.addresses[*].value", kGateway),
            (std::vector<api::Json>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(find(".status.conditions[?(@.type==\"Programmed\")].status", kGateway),
            std::vector<api::Json>{"False"});
  EXPECT_EQ(find(".status.conditions[?(@.type=='Accepted')].status", kGateway),
            std::vector<api::Json>{"True"});
  EXPECT_EQ(find(".spec.hostnames[-1]", kGateway), std::vector<api::Json>{"b.example.com"});
  EXPECT_EQ(find(".spec.hostnames[0:1]", kGateway), std::vector<api::Json>{"a.example.com"});
  EXPECT_EQ(find(".metadata.annotations.example\\.com/owner", kGateway),
            std::vector<api::Json>{"team-a"});
  EXPECT_EQ(find(".metadata.annotations['example.com/owner']", kGateway),
            std::vector<api::Json>{"team-a"});
  EXPECT_TRUE(find(".spec.missing", kGateway).empty());
  EXPECT_TRUE(find(".spec.port.deeper", kGateway).empty());
}

TEST(JsonPath, RefusesWhatItCannotEvaluate) {
  for (const char* bad : {"spec.port", ".spec..port", ".spec[", ".spec[abc]", ".a[?(@.x ~ 1)]", ""})
    EXPECT_NE(JsonPath::parse(bad).error, "") << bad;
}

}  // namespace
}  // namespace podnet::apiextensions
