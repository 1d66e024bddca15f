// Tests for log/metrics: series by labels, stable handles, histogram buckets, the text format
// (HELP/TYPE lines, escaping, cumulative buckets ending in +Inf), concurrent updates.
#include "log/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace sluice::log {
namespace {

TEST(Metrics, CounterSeriesAreKeptApartByLabelsAndHandlesStayValid) {
  Metrics m;
  Counter& a = m.counter("sluice_x_total", "X.", {{"connector", "a"}});
  Counter& b = m.counter("sluice_x_total", "X.", {{"connector", "b"}});
  a.inc();
  a.inc(2);
  b.inc();
  EXPECT_EQ(&a, &m.counter("sluice_x_total", "X.", {{"connector", "a"}}));
  EXPECT_EQ(a.value(), 3u);
  EXPECT_EQ(b.value(), 1u);
  EXPECT_EQ(m.render(),
            "# HELP sluice_x_total X.\n"
            "# TYPE sluice_x_total counter\n"
            "sluice_x_total{connector=\"a\"} 3\n"
            "sluice_x_total{connector=\"b\"} 1\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(format_labels({{"a", "x\"y\\z\nw"}}), "{a=\"x\\\"y\\\\z\\nw\"}");
  EXPECT_EQ(format_labels({}), "");
}

TEST(Metrics, ValuesUseTheTextFormsOfTheFormat) {
  EXPECT_EQ(format_metric_value(3), "3");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  EXPECT_EQ(format_metric_value(1.0 / 0.0), "+Inf");
}

TEST(Metrics, HistogramBucketsAreCumulativeAndEndInInf) {
  Metrics m;
  Histogram& h = m.histogram("sluice_h_seconds", "H.", {1, 0.1}, {{"q", "a"}});
  h.observe(0.05);
  h.observe(0.1);   // on a bound: counted in that bucket (le = less or equal)
  h.observe(0.5);
  h.observe(7);     // above every bound: only in +Inf
  EXPECT_EQ(h.bounds(), (std::vector<double>{0.1, 1}));
  EXPECT_EQ(h.bucket_count(0), 2u);
  EXPECT_EQ(h.bucket_count(1), 3u);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 7.65);
  EXPECT_EQ(m.render(),
            "# HELP sluice_h_seconds H.\n"
            "# TYPE sluice_h_seconds histogram\n"
            "sluice_h_seconds_bucket{q=\"a\",le=\"0.1\"} 2\n"
            "sluice_h_seconds_bucket{q=\"a\",le=\"1\"} 3\n"
            "sluice_h_seconds_bucket{q=\"a\",le=\"+Inf\"} 4\n"
            "sluice_h_seconds_sum{q=\"a\"} 7.65\n"
            "sluice_h_seconds_count{q=\"a\"} 4\n");
}

TEST(Metrics, GaugesSetAndAdd) {
  Metrics m;
  Gauge& g = m.gauge("sluice_g", "G.");
  g.set(5);
  g.add(-1.5);
  EXPECT_DOUBLE_EQ(g.value(), 3.5);
  EXPECT_NE(m.render().find("# TYPE sluice_g gauge\nsluice_g 3.5\n"), std::string::npos) << m.render();
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  Metrics m;
  MailMetrics mail(m);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) mail.received("internet");
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.counter("sluice_messages_received_total", "").value(), 0u);  // no labels: another series
  EXPECT_EQ(m.counter("sluice_messages_received_total", "", {{"connector", "internet"}}).value(), 4000u);
}

TEST(MailMetrics, RejectionsAreCountedByConnectorClassAndCode) {
  Metrics m;
  MailMetrics mail(m);
  mail.rejected("internet", 554);
  mail.rejected("internet", 451);
  mail.rejected("internet", 554);
  const std::string text = m.render();
  EXPECT_NE(text.find("sluice_smtpd_messages_rejected_total{connector=\"internet\",class=\"5xx\",code=\"554\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_smtpd_messages_rejected_total{connector=\"internet\",class=\"4xx\",code=\"451\"} 1\n"),
            std::string::npos)
      << text;
}

TEST(MailMetrics, DeliveryRecordsTheCounterAndTheDelay) {
  Metrics m;
  MailMetrics mail(m);
  mail.delivered("local", 0.3);
  const std::string text = m.render();
  EXPECT_NE(text.find("sluice_recipients_delivered_total{connector=\"local\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_delivery_delay_seconds_bucket{connector=\"local\",le=\"0.5\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_delivery_delay_seconds_count{connector=\"local\"} 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace sluice::log
