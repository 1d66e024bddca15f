// Tests for delivery/send_protocol_observer.cpp: the event characters of the send side, one
// record per reply line, endpoints filled as they become known, sequence numbers, and nothing
// written when the connector has protocol logging off.
#include "delivery/send_protocol_observer.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

namespace sluice::delivery {
namespace {

const SystemTime kT0 = SystemTime(std::chrono::milliseconds(1700000000123LL));

std::vector<std::string> records_of(log::ProtocolLog& log) {
  log.flush();
  std::ifstream in(log.current_path());
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.starts_with('#')) out.push_back(line);
  return out;
}

class SendProtocolObserverTest : public ::testing::Test {
 protected:
  SendProtocolObserverTest() {
    std::string tmpl = testing::TempDir() + "/send_observer_XXXXXX";
    const char* d = mkdtemp(tmpl.data());
    EXPECT_NE(d, nullptr);
    dir_ = d;
  }
  std::filesystem::path dir_;
  ManualClock clock_{kT0};
};

TEST_F(SendProtocolObserverTest, OneConnectionInExchangeLayout) {
  log::ProtocolLog log(dir_, log::ProtocolLogKind::send, "mx1", clock_);
  SendProtocolObserver o(&log, "internet", 0x08D675E58CA1DA38ULL);
  o.on_attempt("192.0.2.7:25", "mx.example.net");
  o.on_connect("10.0.0.6:40001");
  o.on_received(Reply(220, "", "mx.example.net ESMTP"));
  o.on_sent("EHLO out.example.test");
  o.on_received(Reply(250, "", std::vector<std::string>{"mx.example.net", "PIPELINING", "SIZE 1000"}));
  o.on_info("TLSv1.3 TLS_AES_256_GCM_SHA384", "TLS negotiation succeeded");
  o.on_sent("QUIT\r\n");
  o.on_disconnect("no more messages");

  const auto r = records_of(log);
  const std::string p = "2023-11-14T22:13:20.123Z,mx1\\internet,08D675E58CA1DA38,";
  ASSERT_EQ(r.size(), 10u);
  EXPECT_EQ(r[0], p + "0,,192.0.2.7:25,*,mx.example.net,attempting to connect");
  EXPECT_EQ(r[1], p + "1,10.0.0.6:40001,192.0.2.7:25,+,,");
  EXPECT_EQ(r[2], p + "2,10.0.0.6:40001,192.0.2.7:25,<,220 mx.example.net ESMTP,");
  EXPECT_EQ(r[3], p + "3,10.0.0.6:40001,192.0.2.7:25,>,EHLO out.example.test,");
  EXPECT_EQ(r[4], p + "4,10.0.0.6:40001,192.0.2.7:25,<,250-mx.example.net,");
  EXPECT_EQ(r[5], p + "5,10.0.0.6:40001,192.0.2.7:25,<,250-PIPELINING,");
  EXPECT_EQ(r[6], p + "6,10.0.0.6:40001,192.0.2.7:25,<,250 SIZE 1000,");
  EXPECT_EQ(r[7], p + "7,10.0.0.6:40001,192.0.2.7:25,*,TLSv1.3 TLS_AES_256_GCM_SHA384,TLS negotiation succeeded");
  EXPECT_EQ(r[8], p + "8,10.0.0.6:40001,192.0.2.7:25,>,QUIT,");
  EXPECT_EQ(r[9], p + "9,10.0.0.6:40001,192.0.2.7:25,-,,no more messages");
}

TEST_F(SendProtocolObserverTest, FailedConnectKeepsTheLocalEndpointEmpty) {
  log::ProtocolLog log(dir_, log::ProtocolLogKind::send, "mx1", clock_);
  SendProtocolObserver o(&log, "internet", 1);
  o.on_attempt("[2001:db8::1]:25", "mx.example.net");
  o.on_connect_failed("Connection refused");
  o.on_disconnect("connection failed");
  const auto r = records_of(log);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NE(r[1].find(",1,,[2001:db8::1]:25,*,Connection refused,failed to connect"), std::string::npos) << r[1];
  EXPECT_NE(r[2].find(",2,,[2001:db8::1]:25,-,,connection failed"), std::string::npos) << r[2];
}

TEST_F(SendProtocolObserverTest, NullLogWritesNothing) {
  log::ProtocolLog log(dir_, log::ProtocolLogKind::send, "mx1", clock_);
  SendProtocolObserver o(nullptr, "internet", 1);
  o.on_attempt("192.0.2.7:25", "mx");
  o.on_sent("EHLO x");
  EXPECT_TRUE(records_of(log).empty());
}

}  // namespace
}  // namespace sluice::delivery
