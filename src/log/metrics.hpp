// log/metrics.hpp: the counters, gauges and histograms behind GET /metrics, and their
// rendering in the Prometheus text exposition format (version 0.0.4).
// Owns: the registry (families by name, series by label values), lock-free updates of a
// series once its handle is held, the text format, and MailMetrics — the catalogue of
// sluice's own metric names (`sluice_*`, following postfix_exporter's semantics where they
// overlap, ../shared/reference/ecosystem.md §3) so that every caller spells them alike.
// Not: serving HTTP (admin/), per-queue gauges computed from a queue snapshot at scrape time
// (admin/ adds those to the text), deciding events (sessions, queue and committer raise them).
//
// Threads: any. Looking a series up takes the registry's mutex (callers on a hot path keep
// the returned reference: series are never removed, their addresses are stable); updating a
// series is one relaxed atomic operation.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::log {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
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

// Cumulative buckets as Prometheus wants them: bucket i counts observations <= bounds[i];
// +Inf is the total count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t bucket_count(size_t i) const;  // cumulative, i < bounds().size()
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

enum class MetricType { counter, gauge, histogram };

class Metrics {
 public:
  // The series of `name` with `labels` (created at first use). The same name always has the
  // same type, help and (for histograms) bounds: the first registration decides.
  Counter& counter(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                       const MetricLabels& labels = {});

  // Every family, sorted by name, in the text format (# HELP, # TYPE, samples).
  std::string render() const;

 private:
  struct Family {
    MetricType type = MetricType::counter;
    std::string help;
    std::vector<double> bounds;
    // by rendered label set ("{a=\"x\"}"); map nodes keep the series' addresses stable
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& family(std::string_view name, std::string_view help, MetricType type);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

// `{a="x",b="y"}` with the text format's escapes (\\, \", \n); "" for no labels.
std::string format_labels(const MetricLabels& labels);
// A sample value as the text format writes it: integers without a fraction, +Inf, NaN.
std::string format_metric_value(double v);

// sluice's metric names in one place. Label "connector" is the receive connector for
// inbound events and the send connector ("local" for Maildir) for outbound ones.
class MailMetrics {
 public:
  explicit MailMetrics(Metrics& registry) : r_(registry) {}
  Metrics& registry() { return r_; }

  // Inbound (sessions, committer).
  void connection(std::string_view connector);
  void tls_inbound(std::string_view connector, std::string_view protocol);  // "TLSv1.3"
  void received(std::string_view connector);  // a message committed to the spool
  // A refused command (MAIL, RCPT, DATA, ...) or connection: its reply code.
  void rejected(std::string_view connector, int reply_code);
  void auth_failure(std::string_view connector);
  void spool_commit(double seconds, size_t messages);

  // Outbound (queue): per recipient.
  void delivered(std::string_view connector, double seconds_since_receipt);
  void deferred(std::string_view connector);
  void bounced(std::string_view connector);
  void tls_outbound(std::string_view connector, std::string_view protocol);  // "" = plaintext
  void dsn(std::string_view kind);  // "failure", "delay", "success"

 private:
  Metrics& r_;
};

}  // namespace sluice::log
