// Reading wrk's report (Debian's wrk 4.1.0, run with --latency):
//
//   Running 5s test @ http://127.0.0.1:41234/small
//     1 threads and 64 connections
//     Thread Stats   Avg      Stdev     Max   +/- Stdev
//       Latency   1.23ms  456.00us  10.00ms   80.00%
//       Req/Sec    50.00k     2.00k   55.00k    70.00%
//     Latency Distribution
//        50%    1.10ms
//        ...
//        99%    3.00ms
//     250000 requests in 5.00s, 30.00MB read
//     Socket errors: connect 0, read 0, write 0, timeout 0
//     Non-2xx or 3xx responses: 12
//   Requests/sec:  50000.00
//   Transfer/sec:      6.00MB
//
// "Socket errors" and "Non-2xx or 3xx" appear only when not zero. wrk counts
// a status as an error only from 400 up, so a 3xx (an unwanted ssl-redirect)
// would pass unnoticed here: the bench checks every target's answers with
// curl before any load, and reports the bytes per response.
#pragma once

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace ingressbench {

// "1.23ms" -> 1.23, "456.00us" -> 0.456, "1.02s" -> 1020 (milliseconds).
inline double durationMs(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::string unit = end ? std::string(end) : "";
  if (unit == "us") return value / 1000;
  if (unit == "ms") return value;
  if (unit == "s") return value * 1000;
  if (unit == "m") return value * 60000;
  if (unit == "h") return value * 3600000;
  return -1;
}

// "30.00MB" -> bytes.
inline double sizeBytes(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::string unit = end ? std::string(end) : "";
  if (unit == "KB") return value * 1024;
  if (unit == "MB") return value * 1024 * 1024;
  if (unit == "GB") return value * 1024 * 1024 * 1024;
  if (unit == "TB") return value * 1024.0 * 1024 * 1024 * 1024;
  return value;  // "B"
}

inline double numberAfter(const std::string& text, const std::string& key, double missing = -1) {
  auto at = text.find(key);
  if (at == std::string::npos) return missing;
  return std::strtod(text.c_str() + at + key.size(), nullptr);
}

// The figures of one wrk run; "parse_error" when the report is not there.
inline nlohmann::json parseWrk(const std::string& text) {
  nlohmann::json result;
  double requests = -1, seconds = -1, bytes = -1;
  std::istringstream lines(text);
  std::string line;
  bool distribution = false;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string first, second;
    fields >> first >> second;
    if (first == "Latency" && second != "Distribution") {
      result["latency_avg_ms"] = durationMs(second);
      std::string stdev, max;
      fields >> stdev >> max;
      result["latency_max_ms"] = durationMs(max);
    } else if (first == "Latency" && second == "Distribution") {
      distribution = true;
    } else if (distribution && !first.empty() && first.back() == '%') {
      std::string label = "p" + first.substr(0, first.size() - 1) + "_ms";
      result[label] = durationMs(second);
    } else if (line.find(" requests in ") != std::string::npos) {
      distribution = false;
      // "  250000 requests in 5.00s, 30.00MB read"
      requests = std::strtod(first.c_str(), nullptr);
      std::string in, duration, size;
      fields >> in >> duration >> size;
      if (!duration.empty() && duration.back() == ',') duration.pop_back();
      seconds = durationMs(duration) / 1000;
      bytes = sizeBytes(size);
    }
  }
  result["requests"] = requests;
  result["seconds"] = seconds;
  result["requests_per_s"] = numberAfter(text, "Requests/sec:");
  result["bytes_per_response"] = requests > 0 ? bytes / requests : -1;
  nlohmann::json errors{{"connect", numberAfter(text, "Socket errors: connect ", 0)},
                        {"read", numberAfter(text, ", read ", 0)},
                        {"write", numberAfter(text, ", write ", 0)},
                        {"timeout", numberAfter(text, ", timeout ", 0)},
                        {"non_2xx_3xx", numberAfter(text, "Non-2xx or 3xx responses:", 0)}};
  double total = 0;
  for (const auto& [kind, count] : errors.items()) total += count.get<double>();
  errors["total"] = total;
  result["errors"] = errors;
  if (requests < 0 || result["requests_per_s"].get<double>() < 0 || !result.contains("p99_ms"))
    result["parse_error"] = text.substr(0, 600);
  return result;
}

}  // namespace ingressbench
