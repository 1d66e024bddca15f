// Tests for config/config: receive connector selection (most specific remote_ip_ranges
// among the connectors on the bound address) and the small queries.
#include "config/config.hpp"

#include <gtest/gtest.h>

#include "config/loader.hpp"

namespace sluice::config {
namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

// Four connectors share 0.0.0.0:25; one listens elsewhere.
constexpr std::string_view kShared = R"(
[[receive_connector]]
name = "default"
listen = ["0.0.0.0:25", "[::]:25"]

[[receive_connector]]
name = "partners"
listen = ["0.0.0.0:25"]
remote_ip_ranges = ["198.51.100.0/24", "2001:db8::/32"]

[[receive_connector]]
name = "one partner host"
listen = ["0.0.0.0:25"]
remote_ip_ranges = ["198.51.100.7"]

[[receive_connector]]
name = "lan"
listen = ["0.0.0.0:25", "[::]:25"]
usage = "relay"
remote_ip_ranges = ["10.0.0.0/8", "2001:db8:1::/48", "192.0.2.10-192.0.2.20"]

[[receive_connector]]
name = "apps"
listen = ["127.0.0.1:2526"]
usage = "relay"
remote_ip_ranges = ["127.0.0.0/8"]
)";

class SelectConnector : public testing::Test {
 protected:
  void SetUp() override {
    auto r = load_string(kShared, "shared.toml");
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    config_ = *r.config;
  }
  std::string pick(const char* listen, const char* client) {
    const ReceiveConnector* c =
        select_connector(config_, ListenAddress::parse(listen).value(), ip(client));
    return c ? c->name : "(none)";
  }
  Config config_;
};

TEST_F(SelectConnector, MostSpecificRangeWins) {
  EXPECT_EQ(pick("0.0.0.0:25", "203.0.113.9"), "default");
  EXPECT_EQ(pick("0.0.0.0:25", "198.51.100.8"), "partners");
  EXPECT_EQ(pick("0.0.0.0:25", "198.51.100.7"), "one partner host");
  EXPECT_EQ(pick("0.0.0.0:25", "10.9.8.7"), "lan");
  EXPECT_EQ(pick("0.0.0.0:25", "192.0.2.15"), "lan");
  EXPECT_EQ(pick("0.0.0.0:25", "192.0.2.21"), "default");
}

TEST_F(SelectConnector, Ipv6AndMappedClients) {
  EXPECT_EQ(pick("[::]:25", "2001:db8:1::5"), "lan");          // /48 beats "default"
  EXPECT_EQ(pick("[::]:25", "2001:db8:2::5"), "default");      // "partners" is not on [::]:25
  EXPECT_EQ(pick("0.0.0.0:25", "2001:db8:2::5"), "partners");  // /32 on 0.0.0.0:25
  EXPECT_EQ(pick("[::]:25", "::ffff:10.0.0.1"), "lan");        // dual-stack socket, IPv4 client
}

TEST_F(SelectConnector, OnlyConnectorsOnTheBoundAddress) {
  EXPECT_EQ(pick("127.0.0.1:2526", "127.0.0.1"), "apps");
  EXPECT_EQ(pick("127.0.0.1:2526", "10.0.0.1"), "(none)") << "no connector there serves this client";
  EXPECT_EQ(pick("127.0.0.1:25", "127.0.0.1"), "(none)") << "nothing listens there";
}

TEST_F(SelectConnector, AcceptsAndSpecificity) {
  const ReceiveConnector* lan = config_.find_connector("lan");
  ASSERT_NE(lan, nullptr);
  EXPECT_TRUE(lan->accepts(ip("10.1.1.1")));
  EXPECT_FALSE(lan->accepts(ip("11.1.1.1")));
  EXPECT_EQ(lan->match_specificity(ip("10.1.1.1")), 8);
  const ReceiveConnector* all = config_.find_connector("default");
  ASSERT_NE(all, nullptr);
  EXPECT_TRUE(all->accepts(ip("::1")));
  EXPECT_EQ(all->match_specificity(ip("::1")), -1);
}

TEST(SelectConnectorTies, ExplicitZeroRangeBeatsNoRanges) {
  auto r = load_string(R"(
[[receive_connector]]
name = "implicit"
listen = ["0.0.0.0:25"]
[[receive_connector]]
name = "explicit"
listen = ["0.0.0.0:25"]
remote_ip_ranges = ["0.0.0.0/0"]
)",
                       "t.toml");
  ASSERT_TRUE(r.ok());
  const ReceiveConnector* c = select_connector(*r.config, ListenAddress{"0.0.0.0", 25}, ip("192.0.2.1"));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "explicit");
}

TEST(ConnectorUsage, Names) {
  for (auto u : {ConnectorUsage::internet, ConnectorUsage::relay, ConnectorUsage::client, ConnectorUsage::custom}) {
    EXPECT_EQ(parse_connector_usage(to_string(u)), u);
  }
  EXPECT_FALSE(parse_connector_usage("Internet").has_value());
}

}  // namespace
}  // namespace sluice::config
