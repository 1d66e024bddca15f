// log/metrics.cpp: see metrics.hpp. Text format: https://prometheus.io/docs/instrumenting/exposition_formats/
// (version 0.0.4): "# HELP name text", "# TYPE name type", then one "name{labels} value" per
// series; histograms as name_bucket{le="..."} (cumulative, ending in +Inf), name_sum, name_count.
#include "log/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sluice::log {

namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
  }
  return "untyped";
}

// `{a="x"}` + one more label: `{a="x",le="0.5"}`.
std::string with_label(const std::string& labels, std::string_view name, std::string_view value) {
  std::string extra = std::string(name) + "=\"" + escape_label(value) + "\"";
  if (labels.empty()) return "{" + extra + "}";
  return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}

// Latency buckets in seconds: from a fast local commit to a slow remote peer.
const std::vector<double> kCommitBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
const std::vector<double> kDeliveryBounds{0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600};

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size());
  for (size_t i = 0; i < bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);  // first bound >= v
  if (it != bounds_.end()) buckets_[static_cast<size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Histogram::bucket_count(size_t i) const {
  uint64_t n = 0;
  for (size_t j = 0; j <= i && j < bounds_.size(); ++j) n += buckets_[j].load(std::memory_order_relaxed);
  return n;
}

std::string format_labels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ",";
    out += labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  }
  return out + "}";
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

Metrics::Family& Metrics::family(std::string_view name, std::string_view help, MetricType type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.type = type;
    it->second.help = std::string(help);
  }
  return it->second;
}

Counter& Metrics::counter(std::string_view name, std::string_view help, const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, MetricType::counter).counters[format_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Metrics::gauge(std::string_view name, std::string_view help, const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, MetricType::gauge).gauges[format_labels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Metrics::histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                              const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  Family& f = family(name, help, MetricType::histogram);
  if (f.bounds.empty()) f.bounds = bounds;
  auto& slot = f.histograms[format_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(f.bounds);
  return *slot;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + type_name(f.type) + "\n";
    for (const auto& [labels, c] : f.counters) out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, g] : f.gauges) out += name + labels + " " + format_metric_value(g->value()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      for (size_t i = 0; i < h->bounds().size(); ++i)
        out += name + "_bucket" + with_label(labels, "le", format_metric_value(h->bounds()[i])) + " " +
               std::to_string(h->bucket_count(i)) + "\n";
      out += name + "_bucket" + with_label(labels, "le", "+Inf") + " " + std::to_string(h->count()) + "\n";
      out += name + "_sum" + labels + " " + format_metric_value(h->sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(h->count()) + "\n";
    }
  }
  return out;
}

// --- the catalogue ----------------------------------------------------------------------------

namespace {
MetricLabels by_connector(std::string_view connector) { return {{"connector", std::string(connector)}}; }
}  // namespace

void MailMetrics::connection(std::string_view connector) {
  r_.counter("sluice_smtpd_connects_total", "SMTP connections accepted, by receive connector.", by_connector(connector)).inc();
}

void MailMetrics::tls_inbound(std::string_view connector, std::string_view protocol) {
  r_.counter("sluice_smtpd_tls_connections_total", "Inbound SMTP sessions that negotiated TLS, by connector and protocol.",
             {{"connector", std::string(connector)}, {"protocol", std::string(protocol)}})
      .inc();
}

void MailMetrics::received(std::string_view connector) {
  r_.counter("sluice_messages_received_total", "Messages accepted and committed to the spool, by receive connector.",
             by_connector(connector))
      .inc();
}

void MailMetrics::rejected(std::string_view connector, int reply_code) {
  const std::string klass = reply_code >= 500 ? "5xx" : reply_code >= 400 ? "4xx" : "other";
  r_.counter("sluice_smtpd_messages_rejected_total",
             "Commands and connections refused by the SMTP server, by receive connector, reply class and code.",
             {{"connector", std::string(connector)}, {"class", klass}, {"code", std::to_string(reply_code)}})
      .inc();
}

void MailMetrics::auth_failure(std::string_view connector) {
  r_.counter("sluice_smtpd_sasl_authentication_failures_total", "Failed SMTP AUTH attempts, by receive connector.",
             by_connector(connector))
      .inc();
}

void MailMetrics::spool_commit(double seconds, size_t messages) {
  r_.histogram("sluice_spool_commit_duration_seconds", "Time of one group commit (a synced spool write).", kCommitBounds)
      .observe(seconds);
  r_.counter("sluice_spool_committed_messages_total", "Messages written by group commits.").inc(messages);
}

void MailMetrics::delivered(std::string_view connector, double seconds_since_receipt) {
  r_.counter("sluice_recipients_delivered_total", "Recipients delivered (local mailbox or accepted by the next hop), by send connector.",
             by_connector(connector))
      .inc();
  r_.histogram("sluice_delivery_delay_seconds", "Time from receipt to delivery of a recipient, by send connector.",
               kDeliveryBounds, by_connector(connector))
      .observe(std::max(0.0, seconds_since_receipt));
}

void MailMetrics::deferred(std::string_view connector) {
  r_.counter("sluice_recipients_deferred_total", "Delivery attempts that failed temporarily, per recipient, by send connector.",
             by_connector(connector))
      .inc();
}

void MailMetrics::bounced(std::string_view connector) {
  r_.counter("sluice_recipients_bounced_total", "Recipients that failed permanently (refused or expired), by send connector.",
             by_connector(connector))
      .inc();
}

void MailMetrics::tls_outbound(std::string_view connector, std::string_view protocol) {
  r_.counter("sluice_smtp_connections_total", "Outbound SMTP connections that reached a peer, by send connector and TLS protocol (\"none\" for plaintext).",
             {{"connector", std::string(connector)}, {"tls", protocol.empty() ? std::string("none") : std::string(protocol)}})
      .inc();
}

void MailMetrics::dsn(std::string_view kind) {
  r_.counter("sluice_dsn_messages_total", "Delivery status notifications written, by kind.", {{"kind", std::string(kind)}}).inc();
}

}  // namespace sluice::log
