// A container's output as files, in the CRI log format that kubelet reads
// from containerd ("2026-12-07T01:02:03.123456789Z stdout F hello"), one
// file per container instance so the previous instance's log survives a
// restart, rotated at a size limit; and the reader behind `kubectl logs`
// with its options (tail, since, timestamps, limitBytes, follow).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace podnet::runtime {

using SystemClock = std::chrono::system_clock;

// RFC 3339 in UTC with nine fraction digits, as kubelet prints timestamps.
std::string rfc3339Nano(SystemClock::time_point time);
// Parses RFC 3339 (any number of fraction digits, Z or an offset).
std::optional<SystemClock::time_point> parseRfc3339(std::string_view text);

enum class LogStream { stdoutStream, stderrStream };

struct LogEntry {
  SystemClock::time_point time;
  std::string_view timestamp;  // as written in the file
  LogStream stream = LogStream::stdoutStream;
  bool partial = false;      // P: the line goes on in the next entry
  std::string_view content;  // without the newline
};

// One line of a log file (without its newline); nullopt when malformed.
std::optional<LogEntry> parseLogLine(std::string_view line);
// Appends one entry and its newline.
void appendLogLine(std::string& out, SystemClock::time_point time, LogStream stream, bool partial,
                   std::string_view content);

// Where a container's instances keep their logs: DIR/<instance>.log, rotated
// to DIR/<instance>.log.1; the instance is the container's restart count when
// it started.
std::string instanceLogPath(const std::string& logDir, int instance);
// The instances that have a log in `logDir`, in ascending order.
std::vector<int> loggedInstances(const std::string& logDir);
// Deletes the logs of every instance below `keepFrom`.
void pruneInstanceLogs(const std::string& logDir, int keepFrom);

struct LogOptions {
  bool timestamps = false;
  std::optional<int64_t> tailLines;
  std::optional<SystemClock::time_point> since;
  std::optional<int64_t> limitBytes;
};

// Reads one instance's log (the rotated file, then the current one) and
// renders what `kubectl logs` shows: each line's content and a newline
// (partial entries joined), with its timestamp first when asked. `follow`
// continues where the last call stopped, so a following reader calls
// `next` until the container has ended and nothing is left.
class LogReader {
 public:
  LogReader(std::string path, LogOptions options);
  // Appends what is new since the previous call to `out`. Returns false
  // once limitBytes is reached (nothing more will ever be appended).
  bool next(std::string& out);
  bool exhausted() const { return limitReached_; }

 private:
  void render(const std::vector<std::string>& lines, std::string& out);
  bool emit(std::string_view text, std::string& out);

  std::string path_;
  LogOptions options_;
  bool started_ = false;
  // Where the next read of the current file starts; its inode, to notice
  // a rotation between two calls.
  uint64_t offset_ = 0;
  uint64_t inode_ = 0;
  std::string pendingLine_;     // an entry not yet ended by its newline
  std::string partialContent_;  // P entries waiting for their F
  std::string partialTimestamp_;
  int64_t written_ = 0;
  bool limitReached_ = false;
};

}  // namespace podnet::runtime
