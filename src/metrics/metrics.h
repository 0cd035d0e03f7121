// Prometheus metrics, written once for every component: counters, gauges
// and histograms cheap enough for the hot paths (no lock per DNS query or
// proxied request), and their text exposition (format 0.0.4: HELP, TYPE,
// cumulative `le` buckets ending in +Inf, _sum and _count).
//
// Two ways to count:
// - Shared cells (Counter, Gauge, Histogram): atomics any thread updates;
//   their families hand out one cell per label set, looked up once (keep the
//   reference) and never freed while the registry lives.
// - Per-thread cells (LocalCounter, LocalHistogram): one writer thread,
//   relaxed loads and stores, no read-modify-write on the hot path; a
//   collector sums the threads' cells at scrape time.
// A Registry renders its families and its collectors (callbacks that write
// samples computed at scrape time: queue depths, database size, per-thread
// sums) through a Writer that checks names and escapes label values.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace podnet::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// CoreDNS's and client-go's defaults, in seconds.
std::vector<double> exponentialBuckets(double start, double factor, int count);
extern const std::vector<double> kDefaultBuckets;  // .005 .. 10, as Prometheus clients'

class Counter {
 public:
  void inc(uint64_t n = 1) {
#ifndef PODNET_NO_METRICS
    value_.fetch_add(n, std::memory_order_relaxed);
#endif
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double v);
  struct Snapshot {
    std::vector<uint64_t> buckets;  // per bucket (not cumulative), the last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  void addTo(Snapshot& into) const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// One writer thread; readers at scrape time see a recent value.
class LocalCounter {
 public:
  void inc(uint64_t n = 1) {
#ifndef PODNET_NO_METRICS
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
#endif
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class LocalHistogram {
 public:
  explicit LocalHistogram(const std::vector<double>* bounds);
  explicit LocalHistogram(const std::vector<double>& bounds) : LocalHistogram(&bounds) {}
  void observe(double v);
  // Adds this thread's counts into `into` (sized for the same bounds).
  void addTo(Histogram::Snapshot& into) const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

enum class Type { counter, gauge, histogram };

// The text format, one family at a time. A family's samples follow its
// header; label values are escaped; names are checked (a bad one is a
// programming error and is skipped, never written).
class Writer {
 public:
  void family(std::string_view name, std::string_view help, Type type);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, uint64_t value);
  void histogram(std::string_view name, const Labels& labels, const std::vector<double>& bounds,
                 const Histogram::Snapshot& snapshot);
  const std::string& text() const { return out_; }

 private:
  template <typename Number>
  void line(std::string_view name, const Labels& labels, Number value);
  void labelsText(const Labels& labels, std::string_view extraName = {},
                  std::string_view extraValue = {});
  std::string out_;
};

class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  virtual void write(Writer& out) const = 0;
};

// A family: one cell per label values (in the family's label order).
template <typename Cell>
class Family : public FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labelNames,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        labelNames_(std::move(labelNames)),
        bounds_(std::move(bounds)) {}
  // The cell for these label values (created on first use; keep the reference).
  Cell& with(const std::vector<std::string>& values);
  void write(Writer& out) const override;

 private:
  std::string name_, help_;
  std::vector<std::string> labelNames_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Cell>> cells_;
};

class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> labels = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<double> bounds,
                               std::vector<std::string> labels = {});
  // Called at every scrape, in the order added, after the families.
  void collect(std::function<void(Writer&)> collector);
  std::string render() const;

 private:
  template <typename Cell>
  Family<Cell>& add(std::unique_ptr<Family<Cell>> family);
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<std::function<void(Writer&)>> collectors_;
};

// Whether `name` is a valid metric or label name.
bool validName(std::string_view name, bool label);
// A label value escaped for the text format (backslash, quote, newline).
std::string escapeLabelValue(std::string_view value);

}  // namespace podnet::metrics
