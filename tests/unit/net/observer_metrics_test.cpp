// Tests for the metrics side of net/protocol_observer: a connection is counted at connect,
// every 4xx/5xx reply as a rejection by code, a 535 also as an AUTH failure; positive
// replies are not counted.
#include <gtest/gtest.h>

#include "net/protocol_observer.hpp"

namespace sluice::net {
namespace {

TEST(ObserverMetrics, CountsConnectionsRejectionsAndAuthFailures) {
  log::Metrics registry;
  log::MailMetrics metrics(registry);
  ProtocolObserver observer(nullptr, "internet", 1, "127.0.0.1:25", "192.0.2.1:40000");
  observer.set_metrics(&metrics);
  observer.on_connect();
  observer.on_reply(Reply(250, "2.1.0", "Ok"));
  observer.on_reply(Reply(554, "5.7.1", "Relay access denied"));
  observer.on_reply(Reply(535, "5.7.8", "Authentication credentials invalid"));
  observer.on_reply(Reply(451, "4.7.1", "Try again later"));
  const std::string text = registry.render();
  EXPECT_NE(text.find("sluice_smtpd_connects_total{connector=\"internet\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_smtpd_messages_rejected_total{connector=\"internet\",class=\"5xx\",code=\"554\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_smtpd_messages_rejected_total{connector=\"internet\",class=\"4xx\",code=\"451\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_smtpd_sasl_authentication_failures_total{connector=\"internet\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("code=\"250\""), std::string::npos);
}

}  // namespace
}  // namespace sluice::net
