#include "metrics/metrics.h"

#include <charconv>
#include <cmath>

namespace podnet::metrics {

std::vector<double> exponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i, start *= factor) out.push_back(start);
  return out;
}

const std::vector<double> kDefaultBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};

namespace {

size_t bucketOf(const std::vector<double>& bounds, double v) {
  size_t i = 0;
  while (i < bounds.size() && v > bounds[i]) ++i;
  return i;  // bounds.size(): +Inf
}

void appendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, v);  // shortest round trip
  out.append(text, ec == std::errc() ? size_t(end - text) : 0);
}

void appendNumber(std::string& out, uint64_t v) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  out.append(text, size_t(end - text));
}

}  // namespace

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
#ifdef PODNET_NO_METRICS
  return;
#endif
  buckets_[bucketOf(bounds_, v)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.buckets.resize(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i)
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  s.sum = sum_.load(std::memory_order_relaxed);
  // The count is the buckets' total, so the exposition stays consistent
  // while observations land between the loads.
  for (uint64_t b : s.buckets) s.count += b;
  return s;
}

void Histogram::addTo(Snapshot& into) const {
  Snapshot mine = snapshot();
  into.buckets.resize(mine.buckets.size());
  for (size_t i = 0; i < mine.buckets.size(); ++i) into.buckets[i] += mine.buckets[i];
  into.sum += mine.sum;
  into.count += mine.count;
}

LocalHistogram::LocalHistogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void LocalHistogram::observe(double v) {
#ifdef PODNET_NO_METRICS
  return;
#endif
  auto& bucket = buckets_[bucketOf(*bounds_, v)];
  bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  sum_.store(sum_.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void LocalHistogram::addTo(Histogram::Snapshot& into) const {
  into.buckets.resize(bounds_->size() + 1);
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    uint64_t n = buckets_[i].load(std::memory_order_relaxed);
    into.buckets[i] += n;
    into.count += n;
  }
  into.sum += sum_.load(std::memory_order_relaxed);
}

bool validName(std::string_view name, bool label) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return !(label && name.size() >= 2 && name[0] == '_' && name[1] == '_');
}

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Writer::family(std::string_view name, std::string_view help, Type type) {
  if (!validName(name, false)) return;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {  // HELP escapes backslash and newline only
    if (c == '\\')
      out_ += "\\\\";
    else if (c == '\n')
      out_ += "\\n";
    else
      out_ += c;
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == Type::counter ? " counter\n" : type == Type::gauge ? " gauge\n" : " histogram\n";
}

void Writer::labelsText(const Labels& labels, std::string_view extraName,
                        std::string_view extraValue) {
  if (labels.empty() && extraName.empty()) return;
  out_ += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!validName(name, true)) continue;
    if (!first) out_ += ',';
    first = false;
    out_ += name;
    out_ += "=\"";
    out_ += escapeLabelValue(value);
    out_ += '"';
  }
  if (!extraName.empty()) {
    if (!first) out_ += ',';
    out_ += extraName;
    out_ += "=\"";
    out_ += extraValue;
    out_ += '"';
  }
  out_ += '}';
}

template <typename Number>
void Writer::line(std::string_view name, const Labels& labels, Number value) {
  if (!validName(name, false)) return;
  out_ += name;
  labelsText(labels);
  out_ += ' ';
  appendNumber(out_, value);
  out_ += '\n';
}

void Writer::sample(std::string_view name, const Labels& labels, double value) {
  line(name, labels, value);
}

void Writer::sample(std::string_view name, const Labels& labels, uint64_t value) {
  line(name, labels, value);
}

void Writer::histogram(std::string_view name, const Labels& labels,
                       const std::vector<double>& bounds, const Histogram::Snapshot& snapshot) {
  if (!validName(name, false)) return;
  std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < snapshot.buckets.size() ? snapshot.buckets[i] : 0;
    std::string le;
    if (i < bounds.size())
      appendNumber(le, bounds[i]);
    else
      le = "+Inf";
    out_ += bucket;
    labelsText(labels, "le", le);
    out_ += ' ';
    appendNumber(out_, cumulative);
    out_ += '\n';
  }
  sample(std::string(name) + "_sum", labels, snapshot.sum);
  sample(std::string(name) + "_count", labels, cumulative);
}

template <typename Cell>
Cell& Family<Cell>::with(const std::vector<std::string>& values) {
  std::lock_guard lock(mutex_);
  auto& cell = cells_[values];
  if (!cell) {
    if constexpr (std::is_same_v<Cell, Histogram>)
      cell = std::make_unique<Histogram>(bounds_);
    else
      cell = std::make_unique<Cell>();
  }
  return *cell;
}

template <typename Cell>
void Family<Cell>::write(Writer& out) const {
  constexpr Type type = std::is_same_v<Cell, Counter> ? Type::counter
                        : std::is_same_v<Cell, Gauge> ? Type::gauge
                                                      : Type::histogram;
  out.family(name_, help_, type);
  std::lock_guard lock(mutex_);
  for (const auto& [values, cell] : cells_) {
    Labels labels;
    for (size_t i = 0; i < labelNames_.size() && i < values.size(); ++i)
      labels.emplace_back(labelNames_[i], values[i]);
    if constexpr (std::is_same_v<Cell, Histogram>)
      out.histogram(name_, labels, bounds_, cell->snapshot());
    else
      out.sample(name_, labels, cell->value());
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename Cell>
Family<Cell>& Registry::add(std::unique_ptr<Family<Cell>> family) {
  auto& ref = *family;
  std::lock_guard lock(mutex_);
  families_.push_back(std::move(family));
  return ref;
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> labels) {
  return add(
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(labels)));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> labels) {
  return add(std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(labels)));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<double> bounds,
                                       std::vector<std::string> labels) {
  return add(std::make_unique<Family<Histogram>>(std::move(name), std::move(help),
                                                 std::move(labels), std::move(bounds)));
}

void Registry::collect(std::function<void(Writer&)> collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::render() const {
  Writer out;
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) family->write(out);
  for (const auto& collector : collectors_) collector(out);
  return out.text();
}

}  // namespace podnet::metrics
