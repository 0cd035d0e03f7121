#include "dns/wire.h"

#include <gtest/gtest.h>

#include "dns_test_util.h"

namespace podnet::dns {
namespace {

using testing::decode;
using testing::makeQuery;

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

TEST(Wire, TextToWireLowercasesAndValidates) {
  EXPECT_EQ(*textToWire("Web.Default."), std::string("\3web\7default\0", 13));
  EXPECT_EQ(*textToWire("."), std::string(1, '\0'));
  EXPECT_FALSE(textToWire("a..b"));
  EXPECT_FALSE(textToWire(std::string(64, 'a') + ".com"));
  std::string longName;
  for (int i = 0; i < 60; ++i) longName += "abcd.";
  EXPECT_FALSE(textToWire(longName));  // 60 labels: 301 bytes > 255
  EXPECT_EQ(wireToText(*textToWire("web.default.svc.cluster.local")),
            "web.default.svc.cluster.local.");
}

TEST(Wire, EndsWithOnlyAtLabelBoundaries) {
  auto zone = *textToWire("cluster.local");
  EXPECT_TRUE(wireEndsWith(*textToWire("a.cluster.local"), zone));
  EXPECT_TRUE(wireEndsWith(zone, zone));
  EXPECT_FALSE(wireEndsWith(*textToWire("xcluster.local"), zone));
  EXPECT_FALSE(wireEndsWith(*textToWire("local"), zone));
  EXPECT_TRUE(wireEndsWith(zone, std::string(1, '\0')));
}

TEST(Wire, ParsesQueryWithEdns) {
  std::string packet = makeQuery("Web.Default.SVC.cluster.local", type::A, true, 4096, 77);
  Query q;
  ASSERT_EQ(parseQuery(bytes(packet), packet.size(), q), ParseStatus::ok);
  EXPECT_EQ(q.id, 77);
  EXPECT_EQ(q.qtype, type::A);
  EXPECT_EQ(q.name(), *textToWire("web.default.svc.cluster.local"));
  EXPECT_TRUE(q.hasEdns);
  EXPECT_EQ(q.ednsUdpSize, 4096);
  EXPECT_EQ(q.udpLimit(), 4096u);
  Query plain;
  std::string noEdns = makeQuery("a.b", type::A);
  ASSERT_EQ(parseQuery(bytes(noEdns), noEdns.size(), plain), ParseStatus::ok);
  EXPECT_EQ(plain.udpLimit(), 512u);
  std::string small = makeQuery("a.b", type::A, true, 100);
  ASSERT_EQ(parseQuery(bytes(small), small.size(), plain), ParseStatus::ok);
  EXPECT_EQ(plain.udpLimit(), 512u);  // never below 512
}

TEST(Wire, ParsedNameIsLowercasedPaddedAndHashed) {
  // Every byte value in some label: only A-Z change (label lengths, bytes
  // next to the letters and bytes >= 0x80 stay as sent).
  for (int first : {1, 128}) {
    std::string wire;
    for (int start = first; start < first + 127; start += 50) {
      std::string label;
      for (int c = start; c < std::min(start + 50, first + 127); ++c) label.push_back(char(c));
      wire += char(label.size()) + label;
    }
    wire.push_back('\0');
    std::string packet(kHeaderSize, '\0');
    packet[5] = 1;
    packet += wire + std::string("\0\1\0\1", 4);
    Query q;
    ASSERT_EQ(parseQuery(bytes(packet), packet.size(), q), ParseStatus::ok);
    std::string expected = wire;
    for (size_t i = 0, next = 0; i < expected.size(); ++i) {
      if (i == next) {
        next += uint8_t(expected[i]) + 1;  // a length byte
        continue;
      }
      if (expected[i] >= 'A' && expected[i] <= 'Z') expected[i] = char(expected[i] + 32);
    }
    EXPECT_EQ(q.name(), expected);
    ASSERT_EQ(q.labelCount, 3);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(q.labelOffsets[i], i * 51);
    for (size_t i = 0; i < kNamePadding; ++i) EXPECT_EQ(q.lowerName[q.nameLen + i], 0) << i;
    EXPECT_EQ(q.nameHash, hashName(q.name()));
  }

  // The same name in another case hashes alike; other names do not.
  std::string upper = makeQuery("WEB.Default.svc.cluster.local", type::A);
  std::string lower = makeQuery("web.default.svc.cluster.local", type::A);
  Query a, b;
  ASSERT_EQ(parseQuery(bytes(upper), upper.size(), a), ParseStatus::ok);
  ASSERT_EQ(parseQuery(bytes(lower), lower.size(), b), ParseStatus::ok);
  EXPECT_EQ(a.nameHash, b.nameHash);
  EXPECT_EQ(a.nameHash, hashName(*textToWire("web.default.svc.cluster.local")));
  EXPECT_NE(hashName(*textToWire("web.default.svc.cluster.local")),
            hashName(*textToWire("wec.default.svc.cluster.local")));
  EXPECT_NE(hashName(std::string(16, 'a')), hashName(std::string(17, 'a')));
}

TEST(Wire, RejectsMalformedQueries) {
  Query q;
  std::string good = makeQuery("a.example", type::A, true);
  EXPECT_EQ(parseQuery(bytes(good), 5, q), ParseStatus::drop);  // no header
  for (size_t cut = kHeaderSize; cut < good.size(); ++cut)
    EXPECT_EQ(parseQuery(bytes(good), cut, q), ParseStatus::formErr) << cut;
  std::string trailing = good + "x";
  EXPECT_EQ(parseQuery(bytes(trailing), trailing.size(), q), ParseStatus::formErr);
  std::string twoQuestions = good;
  twoQuestions[5] = 2;
  EXPECT_EQ(parseQuery(bytes(twoQuestions), twoQuestions.size(), q), ParseStatus::formErr);
  std::string response = good;
  response[2] |= 0x80;
  EXPECT_EQ(parseQuery(bytes(response), response.size(), q), ParseStatus::drop);
  std::string notify = good;
  notify[2] = char(4 << 3);
  EXPECT_EQ(parseQuery(bytes(notify), notify.size(), q), ParseStatus::notImp);
  std::string pointer = makeQuery("a.example", type::A);
  pointer[12] = char(0xC0);
  pointer[13] = 12;
  EXPECT_EQ(parseQuery(bytes(pointer), pointer.size(), q), ParseStatus::formErr);
  std::string twoOpts = good + good.substr(good.size() - 11);
  twoOpts[11] = 2;
  EXPECT_EQ(parseQuery(bytes(twoOpts), twoOpts.size(), q), ParseStatus::formErr);
  std::string version1 = good;
  version1[version1.size() - 11 + 6] = 1;
  EXPECT_EQ(parseQuery(bytes(version1), version1.size(), q), ParseStatus::badVers);
  // Names of 255 bytes parse; one byte more does not.
  std::string name253;
  for (int i = 0; i < 4; ++i) name253 += std::string(62, 'a') + ".";
  name253 += "b";  // 4 * 63 + 2 + root = 255
  std::string longest = makeQuery(name253, type::A);
  ASSERT_EQ(parseQuery(bytes(longest), longest.size(), q), ParseStatus::ok);
  EXPECT_EQ(q.nameLen, 255u);
  std::string tooLong = makeQuery(name253 + "c", type::A);
  EXPECT_EQ(parseQuery(bytes(tooLong), tooLong.size(), q), ParseStatus::formErr);
  std::string badOption = good;
  badOption[badOption.size() - 1] = 4;  // rdlen 4 past the end
  EXPECT_EQ(parseQuery(bytes(badOption), badOption.size(), q), ParseStatus::formErr);
}

TEST(Wire, ErrorResponsesEchoWhatIsReadable) {
  std::string packet = makeQuery("a.example", type::A, true, 1232, 9);
  Query q;
  ASSERT_EQ(parseQuery(bytes(packet), packet.size(), q), ParseStatus::ok);
  uint8_t out[600];
  size_t n = writeErrorResponse(bytes(packet), packet.size(), &q, rcode::SERVFAIL, out, sizeof out);
  auto m = decode(std::string(reinterpret_cast<char*>(out), n));
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.id, 9);
  EXPECT_EQ(m.rcode, rcode::SERVFAIL);
  EXPECT_EQ(m.questionWire, packet.substr(12, packet.size() - 12 - 11 - 4));
  EXPECT_TRUE(m.hasOpt);
  n = writeErrorResponse(bytes(packet), packet.size(), nullptr, rcode::FORMERR, out, sizeof out);
  EXPECT_EQ(n, kHeaderSize);
  EXPECT_EQ(out[3] & 0xF, rcode::FORMERR);
  n = writeErrorResponse(bytes(packet), packet.size(), &q, rcode::BADVERS, out, sizeof out);
  m = decode(std::string(reinterpret_cast<char*>(out), n));
  EXPECT_EQ(m.rcode, 0);
  EXPECT_EQ(m.extendedRcode, 1);  // 16 >> 4
}

TEST(Wire, BuilderCompressesNames) {
  auto name = *textToWire("web.default.svc.cluster.local");
  MessageBuilder b;
  b.question(name, type::SRV);
  b.srv(name, 5, 0, 100, 80, name);
  b.beginSection(2);
  uint8_t ip[4] = {10, 96, 0, 1};
  b.a(name, 5, ip);
  auto m = decode(b.bytes());
  ASSERT_TRUE(m.ok);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.answer[0].data, "0 100 80 web.default.svc.cluster.local.");
  ASSERT_EQ(m.additional.size(), 1u);
  EXPECT_EQ(m.additional[0].name, "web.default.svc.cluster.local.");
  // Owner names are 2-byte pointers; the SRV target is written in full.
  EXPECT_EQ(b.bytes().size(), 12 + name.size() + 4 + (2 + 10 + 6 + name.size()) + (2 + 10 + 4));
}

TEST(Wire, ReadNameRejectsLoops) {
  std::string msg(14, '\0');
  msg[12] = char(0xC0);
  msg[13] = 12;  // points at itself
  EXPECT_FALSE(readName(bytes(msg), msg.size(), 12));
}

}  // namespace
}  // namespace podnet::dns
