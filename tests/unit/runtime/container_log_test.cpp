// The CRI log format and the reader behind `kubectl logs`; the attach
// protocol's frames. Files in a temporary directory, no root.
#include "runtime/container_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/container_shim.h"

namespace podnet::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

SystemClock::time_point at(int64_t seconds, int64_t nanos = 0) {
  return SystemClock::time_point(std::chrono::duration_cast<SystemClock::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

TEST(Rfc3339, NineFractionDigitsInUtcAndBack) {
  EXPECT_EQ(rfc3339Nano(at(1800000000, 5)), "2027-01-15T08:00:00.000000005Z");
  EXPECT_EQ(rfc3339Nano(at(0)), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(parseRfc3339("2027-01-15T08:00:00.000000005Z"), at(1800000000, 5));
  EXPECT_EQ(parseRfc3339("2027-01-15T08:00:00Z"), at(1800000000));
  EXPECT_EQ(parseRfc3339("2027-01-15T09:30:00.5+01:30"), at(1800000000, 500000000));
  EXPECT_EQ(parseRfc3339("2027-01-15T08:00:00.1234567891Z"), at(1800000000, 123456789));
  for (const char* bad :
       {"", "2027-01-15", "2027-01-15T08:00:00", "2027-13-15T08:00:00Z", "2027-01-15T08:00:00.Z",
        "2027-01-15T08:00:00Zjunk", "2027-01-15T08:00:00+0100", "yesterday"})
    EXPECT_FALSE(parseRfc3339(bad).has_value()) << bad;
}

TEST(LogLine, RoundTripAndMalformedLines) {
  std::string out;
  appendLogLine(out, at(1800000000, 42), LogStream::stderrStream, true, "half a line");
  EXPECT_EQ(out, "2027-01-15T08:00:00.000000042Z stderr P half a line\n");
  auto entry = parseLogLine(std::string_view(out).substr(0, out.size() - 1));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->time, at(1800000000, 42));
  EXPECT_EQ(entry->stream, LogStream::stderrStream);
  EXPECT_TRUE(entry->partial);
  EXPECT_EQ(entry->content, "half a line");
  auto empty = parseLogLine("2027-01-15T08:00:00Z stdout F");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->content, "");
  for (const char* bad :
       {"", "garbage", "2027-01-15T08:00:00Z stdin F x", "2027-01-15T08:00:00Z stdout X x",
        "2027-01-15T08:00:00Z stdout Fx", "notatime stdout F x"})
    EXPECT_FALSE(parseLogLine(bad).has_value()) << bad;
}

class LogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("podnet-log-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text, bool append = true) {
    std::ofstream out(dir_ / name, append ? std::ios::app : std::ios::trunc);
    out << text;
  }
  std::string line(int second, const char* stream, char tag, const std::string& content) {
    return rfc3339Nano(at(1800000000 + second)) + " " + stream + " " + tag + " " + content + "\n";
  }
  std::string path() const { return (dir_ / "0.log").string(); }
  std::string readAll(LogOptions options) {
    LogReader reader(path(), options);
    std::string out;
    reader.next(out);
    return out;
  }
  fs::path dir_;
};

TEST_F(LogReaderTest, JoinsPartialsAndAppliesTailSinceTimestampsAndLimit) {
  write("0.log.1", line(0, "stdout", 'F', "rotated"));
  write("0.log", line(1, "stdout", 'F', "one") + line(2, "stderr", 'P', "tw") +
                     line(2, "stderr", 'F', "o") + "this line is not CRI\n" +
                     line(3, "stdout", 'F', "three") + line(4, "stdout", 'F', ""));
  EXPECT_EQ(readAll({}), "rotated\none\ntwo\nthree\n\n");
  EXPECT_EQ(readAll({.tailLines = 2}), "three\n\n");
  EXPECT_EQ(readAll({.tailLines = 0}), "");
  EXPECT_EQ(readAll({.tailLines = 100}), "rotated\none\ntwo\nthree\n\n");
  EXPECT_EQ(readAll({.since = at(1800000002)}), "two\nthree\n\n");
  EXPECT_EQ(readAll({.timestamps = true, .tailLines = 1}), "2027-01-15T08:00:04.000000000Z \n");
  EXPECT_EQ(readAll({.timestamps = true, .tailLines = 1, .since = at(1800000003)}),
            "2027-01-15T08:00:04.000000000Z \n");
  EXPECT_EQ(readAll({.limitBytes = 10}), "rotated\non");
  EXPECT_EQ(readAll({.tailLines = 3, .limitBytes = 5}), "two\nt");
}

TEST_F(LogReaderTest, FollowsAppendsAcrossRotationAndStopsAtTheLimit) {
  write("0.log", line(1, "stdout", 'F', "first"));
  LogReader reader(path(), {});
  std::string out;
  EXPECT_TRUE(reader.next(out));
  EXPECT_EQ(out, "first\n");
  // Half an entry: nothing until its newline comes.
  std::string second = line(2, "stdout", 'F', "second");
  write("0.log", second.substr(0, 10));
  out.clear();
  reader.next(out);
  EXPECT_EQ(out, "");
  write("0.log", second.substr(10));
  reader.next(out);
  EXPECT_EQ(out, "second\n");
  // Rotated (the shim renames and starts a new file): nothing lost, nothing twice.
  write("0.log", line(3, "stdout", 'F', "before-rotation"));
  fs::rename(dir_ / "0.log", dir_ / "0.log.1");
  write("0.log", line(4, "stdout", 'F', "after-rotation"));
  out.clear();
  reader.next(out);
  EXPECT_EQ(out, "before-rotation\nafter-rotation\n");
  LogReader limited(path(), {.limitBytes = 20});
  out.clear();
  EXPECT_FALSE(limited.next(out));
  EXPECT_EQ(out, "first\nsecond\nbefore-");  // the rotated file holds all three
  write("0.log", line(5, "stdout", 'F', "more"));
  EXPECT_FALSE(limited.next(out));
  EXPECT_EQ(out, "first\nsecond\nbefore-");  // the rotated file holds all three
}

TEST_F(LogReaderTest, InstancesAreListedAndPruned) {
  for (const char* name : {"0.log", "1.log", "1.log.1", "2.log", "10.log", "x.log", "3.exit"})
    write(name, "");
  EXPECT_EQ(loggedInstances(dir_.string()), (std::vector<int>{0, 1, 2, 10}));
  pruneInstanceLogs(dir_.string(), 2);
  EXPECT_EQ(loggedInstances(dir_.string()), (std::vector<int>{2, 10}));
  EXPECT_FALSE(fs::exists(dir_ / "1.log.1"));
  EXPECT_EQ(instanceLogPath("/d", 7), "/d/7.log");
}

TEST(AttachFrames, RoundTripPartialAndOversized) {
  std::string wire;
  appendAttachFrame(wire, AttachStream::stdoutData, "hello");
  appendAttachFrame(wire, AttachStream::closeStdin, "");
  AttachStream stream;
  std::string_view payload;
  for (size_t cut = 0; cut < 10; ++cut)
    EXPECT_EQ(parseAttachFrame(std::string_view(wire).substr(0, cut), stream, payload), 0);
  ASSERT_EQ(parseAttachFrame(wire, stream, payload), 10);
  EXPECT_EQ(stream, AttachStream::stdoutData);
  EXPECT_EQ(payload, "hello");
  ASSERT_EQ(parseAttachFrame(std::string_view(wire).substr(10), stream, payload), 5);
  EXPECT_EQ(stream, AttachStream::closeStdin);
  EXPECT_EQ(payload, "");
  std::string huge;
  appendAttachFrame(huge, AttachStream::stdinData, std::string(100, 'x'));
  EXPECT_EQ(parseAttachFrame(huge, stream, payload, 99), -1);
}

}  // namespace
}  // namespace podnet::runtime
