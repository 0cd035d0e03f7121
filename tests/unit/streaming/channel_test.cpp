// The channel.k8s.io framing: channel bytes, v5 close messages, resize JSON,
// and the Status JSON kubelet ends a session with, byte for byte.
#include "streaming/channel.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace podnet::streaming {
namespace {

std::string bytes(std::initializer_list<uint8_t> values) {
  std::string out;
  for (uint8_t v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(ChannelMessage, EachChannel) {
  for (uint8_t channel = 0; channel <= 4; ++channel) {
    std::string message = bytes({channel}) + "payload";
    auto decoded = decodeChannelMessage(message);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->channel, channel);
    EXPECT_EQ(decoded->payload, "payload");
    EXPECT_FALSE(decoded->close);
  }
}

TEST(ChannelMessage, ChannelByteAlone) {
  std::string message = bytes({0});
  auto decoded = decodeChannelMessage(message);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->channel, 0);
  EXPECT_TRUE(decoded->payload.empty());
}

TEST(ChannelMessage, UnknownChannelsAreTheCallersChoice) {
  std::string message = bytes({7, 'x'});
  auto decoded = decodeChannelMessage(message);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->channel, 7);
}

TEST(ChannelMessage, V5CloseStdin) {
  std::string message = bytes({255, 0});
  auto decoded = decodeChannelMessage(message);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->close);
  EXPECT_EQ(decoded->channel, 0);
  EXPECT_TRUE(decoded->payload.empty());
  EXPECT_EQ(encodeCloseMessage(Channel::stdinData), bytes({255, 0}));
}

TEST(ChannelMessage, V4Has255AsAPlainChannel) {
  // The payload views the message, which must outlive it.
  std::string message = bytes({255, 0});
  auto decoded = decodeChannelMessage(message, /*v5=*/false);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->close);
  EXPECT_EQ(decoded->channel, 255);
  EXPECT_EQ(decoded->payload, bytes({0}));
  EXPECT_TRUE(decodeChannelMessage(bytes({255}), false).ok());
}

TEST(ChannelMessage, Errors) {
  auto empty = decodeChannelMessage("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, 400);
  EXPECT_EQ(empty.error().message, "empty channel message");
  EXPECT_FALSE(decodeChannelMessage("", false).ok());
  auto bare = decodeChannelMessage(bytes({255}));
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().message, "close message of 1 bytes, not 2");
  EXPECT_FALSE(decodeChannelMessage(bytes({255, 0, 1})).ok());
}

TEST(ChannelMessage, Encode) {
  EXPECT_EQ(encodeChannelMessage(Channel::stdoutData, "out"), bytes({1}) + "out");
  EXPECT_EQ(encodeChannelMessage(Channel::status, ""), bytes({3}));
}

TEST(Resize, AsKubectlSendsIt) {
  auto size = decodeResize("{\"Width\":80,\"Height\":24}\n");
  ASSERT_TRUE(size.ok()) << size.error().message;
  EXPECT_EQ(size->width, 80);
  EXPECT_EQ(size->height, 24);
}

TEST(Resize, Variants) {
  auto lower = decodeResize(R"( {"height": 50, "width": 200, "extra": [1, {"x": "}"}]} )");
  ASSERT_TRUE(lower.ok()) << lower.error().message;
  EXPECT_EQ(lower->width, 200);
  EXPECT_EQ(lower->height, 50);
  auto several = decodeResize("{\"Width\":80,\"Height\":24}\n{\"Width\":100,\"Height\":30}\n");
  ASSERT_TRUE(several.ok());
  EXPECT_EQ(several->width, 100);
  auto bounds = decodeResize(R"({"Width":65535,"Height":0})");
  ASSERT_TRUE(bounds.ok());
  EXPECT_EQ(bounds->width, 65535);
  EXPECT_EQ(bounds->height, 0);
}

TEST(Resize, DeepNestingIsNoStackOverflow) {
  std::string nested =
      R"({"Width":1,"Height":2,"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto size = decodeResize(nested);
  ASSERT_TRUE(size.ok()) << size.error().message;
  EXPECT_EQ(size->height, 2);
  EXPECT_FALSE(decodeResize(std::string(100000, '{')).ok());
}

TEST(Resize, Errors) {
  for (std::string_view bad : {
           "",
           "\n",
           "not json",
           "[80, 24]",
           "{\"Width\":80}",
           "{\"Height\":24}",
           "{\"Width\":-1,\"Height\":24}",
           "{\"Width\":65536,\"Height\":24}",
           "{\"Width\":80.5,\"Height\":24}",
           "{\"Width\":\"80\",\"Height\":24}",
           "{\"Width\":null,\"Height\":24}",
           "{\"Width\":80,\"Height\":24",
           "{\"Width\":80,\"Height\":24} trailing",
           "{\"Width\":80,\"Height\":24}{\"Width\":1}",
           "{\"Width\":80,,\"Height\":24}",
       }) {
    auto size = decodeResize(bad);
    EXPECT_FALSE(size.ok()) << bad;
    if (!size.ok()) {
      EXPECT_EQ(size.error().code, 400);
    }
  }
}

TEST(Status, Success) {
  EXPECT_EQ(exitStatusJson(0, {"sh", "-c", "exit 0"}), R"({"metadata":{},"status":"Success"})");
}

TEST(Status, NonZeroExitAsKubeletWritesIt) {
  EXPECT_EQ(exitStatusJson(3, {"sh", "-c", "exit 3"}),
            R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero )"
            R"(exit code: error executing command [sh -c exit 3], exit code 3","reason":)"
            R"("NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})");
}

TEST(Status, CommandTextIsEscapedAsGoDoes) {
  std::string json = exitStatusJson(1, {"sh", "-c", "echo \"<a>\" && exit 1"});
  EXPECT_NE(json.find(R"([sh -c echo \"\u003ca\u003e\" \u0026\u0026 exit 1], exit code 1")"),
            std::string::npos)
      << json;
}

TEST(Status, InternalError) {
  std::string why =
      "error executing command in container: exec: \"foo\": executable file not found in $PATH";
  EXPECT_EQ(failureStatusJson(why),
            R"({"metadata":{},"status":"Failure","message":"Internal error occurred: error )"
            R"(executing command in container: exec: \"foo\": executable file not found in )"
            R"($PATH","reason":"InternalError","details":{"causes":[{"message":"error executing )"
            R"(command in container: exec: \"foo\": executable file not found in $PATH"}]},)"
            R"("code":500})");
  EXPECT_EQ(failureStatusJson(""),
            R"({"metadata":{},"status":"Failure","message":"Internal error occurred: ",)"
            R"("reason":"InternalError","details":{"causes":[{}]},"code":500})");
}

TEST(GoJsonString, Escapes) {
  auto quoted = [](std::string_view text) {
    std::string out;
    appendGoJsonString(out, text);
    return out;
  };
  EXPECT_EQ(quoted("plain"), "\"plain\"");
  EXPECT_EQ(quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(quoted("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(quoted(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\x7f\"");
  EXPECT_EQ(quoted(std::string("nul\0", 4)), R"("nul\u0000")");
  EXPECT_EQ(quoted("<&>"), R"("\u003c\u0026\u003e")");
  EXPECT_EQ(quoted("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(quoted("\xe2\x80\xa8\xe2\x80\xa9"), R"("\u2028\u2029")");
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong
  // form and a surrogate each become U+FFFD per byte, as Go does.
  EXPECT_EQ(quoted("\x80"), R"("\ufffd")");
  EXPECT_EQ(quoted("\xe2\x82"), R"("\ufffd\ufffd")");
  EXPECT_EQ(quoted("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(quoted("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(quoted("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
}

// Writes the fuzz seeds to $PODNET_SEED_DIR (tests/fuzz/corpus/channel): run
// with --gtest_also_run_disabled_tests --gtest_filter='ChannelSeeds.*'.
TEST(ChannelSeeds, DISABLED_Write) {
  const char* dir = std::getenv("PODNET_SEED_DIR");
  ASSERT_NE(dir, nullptr);
  auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(std::filesystem::path(dir) / name, std::ios::binary) << data;
  };
  write("stdin", encodeChannelMessage(Channel::stdinData, "echo hi\n"));
  write("stdout", encodeChannelMessage(Channel::stdoutData, "hi\n"));
  write("stderr", encodeChannelMessage(Channel::stderrData, "sh: oops\n"));
  write("status_success", encodeChannelMessage(Channel::status, exitStatusJson(0, {})));
  write("status_exit3",
        encodeChannelMessage(Channel::status, exitStatusJson(3, {"sh", "-c", "exit 3"})));
  write("resize", encodeChannelMessage(Channel::resize, "{\"Width\":80,\"Height\":24}\n"));
  write("resize_two", encodeChannelMessage(Channel::resize,
                                           "{\"width\":1,\"height\":2}{\"Width\":3,\"Height\":4}"));
  write("resize_negative", encodeChannelMessage(Channel::resize, "{\"Width\":-1,\"Height\":24}"));
  write("close_stdin", encodeCloseMessage(Channel::stdinData));
  write("close_extra", bytes({255, 0, 1}));
  write("close_bare", bytes({255}));
  write("empty_stdin", bytes({0}));
  write("unknown_channel", bytes({9, 'x'}));
}

}  // namespace
}  // namespace podnet::streaming
