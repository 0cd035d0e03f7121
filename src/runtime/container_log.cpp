#include "runtime/container_log.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>

namespace podnet::runtime {

namespace fs = std::filesystem;

std::string rfc3339Nano(SystemClock::time_point time) {
  auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  time_t seconds = static_cast<time_t>(nanos / 1000000000);
  long fraction = static_cast<long>(nanos % 1000000000);
  if (fraction < 0) {
    fraction += 1000000000;
    --seconds;
  }
  struct tm utc {};
  gmtime_r(&seconds, &utc);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, fraction);
  return buffer;
}

std::optional<SystemClock::time_point> parseRfc3339(std::string_view text) {
  auto digits = [&](size_t at, size_t count, int& value) {
    if (at + count > text.size()) return false;
    value = 0;
    for (size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      value = value * 10 + (text[i] - '0');
    }
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!digits(0, 4, year) || text.size() < 19 || text[4] != '-' || !digits(5, 2, month) ||
      text[7] != '-' || !digits(8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !digits(11, 2, hour) || text[13] != ':' || !digits(14, 2, minute) || text[16] != ':' ||
      !digits(17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  size_t at = 19;
  long long nanos = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int count = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (count < 9) nanos = nanos * 10 + (text[at] - '0');
      ++count;
      ++at;
    }
    if (count == 0) return std::nullopt;
    for (; count < 9; ++count) nanos *= 10;
  }
  long offsetSeconds = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int offsetHours, offsetMinutes;
    if (!digits(at + 1, 2, offsetHours) || at + 3 >= text.size() || text[at + 3] != ':' ||
        !digits(at + 4, 2, offsetMinutes))
      return std::nullopt;
    offsetSeconds = (offsetHours * 3600L + offsetMinutes * 60L) * (text[at] == '+' ? 1 : -1);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  struct tm utc {};
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  time_t seconds = timegm(&utc) - offsetSeconds;
  return SystemClock::time_point(std::chrono::duration_cast<SystemClock::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

std::optional<LogEntry> parseLogLine(std::string_view line) {
  LogEntry entry;
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  entry.timestamp = line.substr(0, space);
  auto time = parseRfc3339(entry.timestamp);
  if (!time) return std::nullopt;
  entry.time = *time;
  std::string_view rest = line.substr(space + 1);
  if (rest.rfind("stdout ", 0) == 0)
    entry.stream = LogStream::stdoutStream;
  else if (rest.rfind("stderr ", 0) == 0)
    entry.stream = LogStream::stderrStream;
  else
    return std::nullopt;
  rest.remove_prefix(7);
  if (rest.size() < 1 || (rest[0] != 'F' && rest[0] != 'P')) return std::nullopt;
  entry.partial = rest[0] == 'P';
  rest.remove_prefix(1);
  // "F" alone is an empty line; otherwise one space, then the content.
  if (!rest.empty()) {
    if (rest[0] != ' ') return std::nullopt;
    rest.remove_prefix(1);
  }
  entry.content = rest;
  return entry;
}

void appendLogLine(std::string& out, SystemClock::time_point time, LogStream stream, bool partial,
                   std::string_view content) {
  out += rfc3339Nano(time);
  out += stream == LogStream::stdoutStream ? " stdout " : " stderr ";
  out += partial ? 'P' : 'F';
  out += ' ';
  out += content;
  out += '\n';
}

std::string instanceLogPath(const std::string& logDir, int instance) {
  return (fs::path(logDir) / (std::to_string(instance) + ".log")).string();
}

std::vector<int> loggedInstances(const std::string& logDir) {
  std::vector<int> instances;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(logDir, error)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 5 || name.substr(name.size() - 4) != ".log") continue;
    std::string number = name.substr(0, name.size() - 4);
    if (number.empty() || !std::all_of(number.begin(), number.end(), ::isdigit) ||
        number.size() > 9)
      continue;
    instances.push_back(std::stoi(number));
  }
  std::sort(instances.begin(), instances.end());
  return instances;
}

void pruneInstanceLogs(const std::string& logDir, int keepFrom) {
  std::error_code error;
  for (int instance : loggedInstances(logDir)) {
    if (instance >= keepFrom) continue;
    fs::remove(instanceLogPath(logDir, instance), error);
    fs::remove(instanceLogPath(logDir, instance) + ".1", error);
  }
}

namespace {

uint64_t inodeOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return info.st_ino;
}

// Reads `path` from `offset` to its end.
std::string readFrom(const std::string& path, uint64_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size <= static_cast<std::streamoff>(offset)) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::string data(static_cast<size_t>(size - static_cast<std::streamoff>(offset)), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

}  // namespace

LogReader::LogReader(std::string path, LogOptions options)
    : path_(std::move(path)), options_(std::move(options)) {}

bool LogReader::emit(std::string_view text, std::string& out) {
  if (options_.limitBytes) {
    int64_t room = *options_.limitBytes - written_;
    if (room <= 0) {
      limitReached_ = true;
      return false;
    }
    if (static_cast<int64_t>(text.size()) >= room) {
      out.append(text.substr(0, static_cast<size_t>(room)));
      written_ += room;
      limitReached_ = true;
      return false;
    }
  }
  out.append(text);
  written_ += static_cast<int64_t>(text.size());
  return true;
}

// Turns complete file lines into what the user sees. The first call applies
// since and tail to everything there is; later calls (follow) only since.
void LogReader::render(const std::vector<std::string>& lines, std::string& out) {
  std::deque<std::string> ready;  // whole logical lines, rendered
  bool tailing = !started_ && options_.tailLines.has_value();
  for (const std::string& line : lines) {
    auto entry = parseLogLine(line);
    if (!entry) continue;
    if (options_.since && entry->time < *options_.since) continue;
    if (partialContent_.empty() && partialTimestamp_.empty())
      partialTimestamp_ = std::string(entry->timestamp);
    partialContent_.append(entry->content);
    if (entry->partial) continue;
    std::string text;
    if (options_.timestamps) {
      // Nine fraction digits whatever the file holds, as kubelet prints them.
      auto time = parseRfc3339(partialTimestamp_);
      text = time ? rfc3339Nano(*time) : partialTimestamp_;
      text += ' ';
    }
    text += partialContent_;
    text += '\n';
    partialContent_.clear();
    partialTimestamp_.clear();
    if (tailing) {
      ready.push_back(std::move(text));
      if (static_cast<int64_t>(ready.size()) > *options_.tailLines) ready.pop_front();
    } else if (!emit(text, out)) {
      return;
    }
  }
  for (const std::string& text : ready)
    if (!emit(text, out)) return;
}

bool LogReader::next(std::string& out) {
  if (limitReached_) return false;
  if (options_.limitBytes && *options_.limitBytes <= 0) {
    limitReached_ = true;
    return false;
  }
  std::string data;
  uint64_t inode = inodeOf(path_);
  if (!started_) {
    std::string current = readFrom(path_, 0);
    data = readFrom(path_ + ".1", 0) + current;
    offset_ = current.size();
  } else if (inode != inode_) {
    // Rotated since the last call: the rest of the old file is now ".1".
    data = readFrom(path_ + ".1", offset_);
    std::string current = readFrom(path_, 0);
    data += current;
    offset_ = current.size();
  } else {
    data = readFrom(path_, offset_);
    offset_ += data.size();
  }
  inode_ = inode;
  pendingLine_ += data;
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t newline; (newline = pendingLine_.find('\n', start)) != std::string::npos;
       start = newline + 1)
    lines.emplace_back(pendingLine_, start, newline - start);
  pendingLine_.erase(0, start);
  render(lines, out);
  started_ = true;
  return !limitReached_;
}

}  // namespace podnet::runtime
