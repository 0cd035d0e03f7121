// A strict reader of the Prometheus text exposition format (0.0.4) for
// tests: every line well formed, a family's TYPE before its samples and
// given once, sample names belonging to their family (histograms: _bucket,
// _sum, _count), label names valid and unique, values numbers, no series
// twice, histogram buckets cumulative and ending in +Inf with _count equal
// to it. What a scrape would refuse or mis-read, it reports.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace podnet::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromFamily {
  std::string type, help;
  std::vector<PromSample> samples;
};

struct PromText {
  std::map<std::string, PromFamily> families;
  std::string error;  // "" when the text is valid

  // Every series `name` whose labels include `labels`.
  std::vector<const PromSample*> matching(const std::string& name,
                                          const std::map<std::string, std::string>& labels) const {
    std::vector<const PromSample*> found;
    for (const auto& [family, f] : families)
      for (const auto& s : f.samples) {
        bool all = s.name == name;
        for (const auto& [k, v] : labels) {
          auto it = s.labels.find(k);
          all = all && it != s.labels.end() && it->second == v;
        }
        if (all) found.push_back(&s);
      }
    return found;
  }
  // The value of the first such series (nullopt when none).
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    auto found = matching(name, labels);
    return found.empty() ? std::nullopt : std::optional<double>(found.front()->value);
  }
  // The sum over all of them.
  double sum(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    double total = 0;
    for (const PromSample* s : matching(name, labels)) total += s->value;
    return total;
  }
};

inline bool promValidName(const std::string& name, bool label) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    if (!letter && !(c >= '0' && c <= '9' && i > 0)) return false;
  }
  return true;
}

inline bool promNumber(const std::string& text, double& out) {
  if (text == "+Inf" || text == "Inf") return out = INFINITY, true;
  if (text == "-Inf") return out = -INFINITY, true;
  if (text == "NaN") return out = NAN, true;
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end && *end == '\0';
}

inline PromText parsePromText(const std::string& text) {
  PromText out;
  auto fail = [&](size_t line, const std::string& why) {
    out.error = "line " + std::to_string(line) + ": " + why;
    return out;
  };
  if (!text.empty() && text.back() != '\n') return fail(0, "the text does not end in a newline");
  std::set<std::string> series;
  std::string current;  // the family whose samples may follow
  std::istringstream lines(text);
  std::string line;
  size_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name;
      words >> hash >> keyword >> name;
      if (hash != "#") return fail(number, "a comment must start with '# '");
      if (keyword != "HELP" && keyword != "TYPE") continue;  // other comments are allowed
      if (!promValidName(name, false)) return fail(number, "bad metric name " + name);
      auto& family = out.families[name];
      if (keyword == "TYPE") {
        std::string type, rest;
        words >> type;
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped")
          return fail(number, "bad type " + type);
        if (!family.type.empty()) return fail(number, "second TYPE for " + name);
        if (!family.samples.empty()) return fail(number, "TYPE after samples of " + name);
        family.type = type;
        current = name;
      } else {
        std::string help;
        std::getline(words, help);
        family.help = help.empty() ? help : help.substr(1);
      }
      continue;
    }
    // name{labels} value [timestamp]
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    PromSample sample;
    sample.name = line.substr(0, i);
    if (!promValidName(sample.name, false)) return fail(number, "bad sample name " + sample.name);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail(number, "a label without '='");
        std::string label = line.substr(i, eq - i);
        if (!promValidName(label, true)) return fail(number, "bad label name " + label);
        if (eq + 1 >= line.size() || line[eq + 1] != '"')
          return fail(number, "unquoted label value");
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (++j >= line.size()) return fail(number, "a dangling escape");
            char e = line[j];
            if (e == 'n')
              value += '\n';
            else if (e == '\\' || e == '"')
              value += e;
            else
              return fail(number, std::string("bad escape \\") + e);
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return fail(number, "an unterminated label value");
        if (!sample.labels.emplace(label, value).second)
          return fail(number, "label " + label + " twice");
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return fail(number, "labels without '}'");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return fail(number, "no space before the value");
    std::istringstream rest(line.substr(i + 1));
    std::string valueText, timestamp, extra;
    rest >> valueText >> timestamp >> extra;
    if (!extra.empty()) return fail(number, "trailing text");
    if (!promNumber(valueText, sample.value)) return fail(number, "bad value " + valueText);
    // Its family: the one declared last, by name or by a histogram suffix.
    std::string family = sample.name;
    auto declared = out.families.find(current);
    if (declared != out.families.end() && declared->second.type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        if (sample.name == current + suffix) family = current;
    }
    if (family != current) return fail(number, sample.name + " outside its family's block");
    std::string key = sample.name;
    for (const auto& [k, v] : sample.labels) key += "\x1f" + k + "=" + v;
    if (!series.insert(key).second) return fail(number, "series twice: " + key);
    out.families[family].samples.push_back(std::move(sample));
  }
  // Histograms: cumulative buckets ending in +Inf, _count equal to it.
  for (const auto& [name, family] : out.families) {
    if (family.type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // by other labels
    std::map<std::string, double> counts;
    for (const auto& s : family.samples) {
      auto labels = s.labels;
      std::string le = labels.count("le") ? labels["le"] : "";
      labels.erase("le");
      std::string key;
      for (const auto& [k, v] : labels) key += k + "=" + v + ",";
      if (s.name == name + "_bucket") {
        double bound;
        if (!promNumber(le, bound)) return fail(0, name + ": bucket without a valid le");
        buckets[key].push_back({bound, s.value});
      } else if (s.name == name + "_count") {
        counts[key] = s.value;
      }
    }
    for (const auto& [key, list] : buckets) {
      if (list.empty() || !std::isinf(list.back().first))
        return fail(0, name + "{" + key + "}: the last bucket is not +Inf");
      for (size_t k = 1; k < list.size(); ++k)
        if (list[k].first <= list[k - 1].first || list[k].second < list[k - 1].second)
          return fail(0, name + "{" + key + "}: buckets not increasing and cumulative");
      if (!counts.count(key) || counts[key] != list.back().second)
        return fail(0, name + "{" + key + "}: _count is not the +Inf bucket");
    }
  }
  return out;
}

}  // namespace podnet::testing
