// Tests for routing/send_routing.cpp: Exchange's connector selection (most specific address
// space, then cost, then config order), address literals, next-hop queue names and the
// Unreachable reason.
#include "routing/send_routing.hpp"

#include <gtest/gtest.h>

namespace sluice::routing {
namespace {

config::SendConnector connector(std::string name, std::vector<std::string> spaces, unsigned cost = 1) {
  config::SendConnector c;
  c.name = std::move(name);
  c.address_spaces = std::move(spaces);
  c.cost = cost;
  return c;
}

config::Config config_with(std::vector<config::SendConnector> connectors) {
  config::Config cfg;
  cfg.send_connectors = std::move(connectors);
  return cfg;
}

std::string selected(const config::Config& cfg, std::string_view domain) {
  const config::SendConnector* c = select_send_connector(cfg, domain);
  return c ? c->name : "(none)";
}

TEST(SendRoutingTest, ExactBeatsWildcardBeatsStar) {
  const auto cfg = config_with({connector("internet", {"*"}), connector("sub", {"*.partner.test"}),
                                connector("exact", {"partner.test"})});
  EXPECT_EQ(selected(cfg, "partner.test"), "exact");
  EXPECT_EQ(selected(cfg, "mx.partner.test"), "sub");
  EXPECT_EQ(selected(cfg, "a.b.partner.test"), "sub");
  EXPECT_EQ(selected(cfg, "example.net"), "internet");
}

TEST(SendRoutingTest, WildcardDoesNotCoverTheParentDomainItself) {
  const auto cfg = config_with({connector("sub", {"*.partner.test"})});
  EXPECT_EQ(selected(cfg, "partner.test"), "(none)");
  EXPECT_EQ(selected(cfg, "xpartner.test"), "(none)");  // a suffix of the text, not of the labels
  EXPECT_EQ(selected(cfg, "x.partner.test"), "sub");
}

TEST(SendRoutingTest, LongestWildcardSuffixWins) {
  const auto cfg = config_with({connector("broad", {"*.test"}), connector("narrow", {"*.partner.test"})});
  EXPECT_EQ(selected(cfg, "mx.partner.test"), "narrow");
  EXPECT_EQ(selected(cfg, "mx.other.test"), "broad");
}

TEST(SendRoutingTest, SpecificityIsDecidedBeforeCost) {
  // The cheap connector only has "*": the exact match wins although it costs more.
  const auto cfg = config_with({connector("cheap", {"*"}, 1), connector("dear", {"partner.test"}, 100)});
  EXPECT_EQ(selected(cfg, "partner.test"), "dear");
}

TEST(SendRoutingTest, LowestCostAmongEquallySpecificMatches) {
  const auto cfg = config_with({connector("backup", {"*"}, 10), connector("primary", {"*"}, 5)});
  EXPECT_EQ(selected(cfg, "example.net"), "primary");
}

TEST(SendRoutingTest, ConfigOrderBreaksATieOfSpecificityAndCost) {
  const auto cfg = config_with({connector("first", {"*"}, 3), connector("second", {"*"}, 3)});
  EXPECT_EQ(selected(cfg, "example.net"), "first");
}

TEST(SendRoutingTest, BestSpaceOfEachConnectorCounts) {
  // "multi" lists "*" too, but its exact space is what competes for partner.test.
  const auto cfg = config_with({connector("sub", {"*.partner.test"}), connector("multi", {"*", "partner.test"}, 50)});
  EXPECT_EQ(selected(cfg, "partner.test"), "multi");
  EXPECT_EQ(selected(cfg, "mx.partner.test"), "sub");
}

TEST(SendRoutingTest, DomainCaseAndTrailingDotDoNotMatter) {
  const auto cfg = config_with({connector("internet", {"*"}), connector("exact", {"partner.test"})});
  EXPECT_EQ(selected(cfg, "Partner.TEST"), "exact");
  EXPECT_EQ(selected(cfg, "partner.test."), "exact");
}

TEST(SendRoutingTest, NoConnectorsOrNoMatchOrEmptyDomainIsNoRoute) {
  EXPECT_EQ(selected(config_with({}), "example.net"), "(none)");
  const auto cfg = config_with({connector("exact", {"partner.test"})});
  EXPECT_EQ(selected(cfg, "example.net"), "(none)");
  EXPECT_EQ(selected(cfg, ""), "(none)");
}

TEST(SendRoutingTest, AddressLiteralMatchesOnlyStar) {
  const auto only_named = config_with({connector("exact", {"192.0.2.1"})});
  EXPECT_EQ(selected(only_named, "[192.0.2.1]"), "(none)");
  const auto cfg = config_with({connector("named", {"*.test"}), connector("internet", {"*"})});
  EXPECT_EQ(selected(cfg, "[192.0.2.1]"), "internet");
}

TEST(SendRoutingTest, AddressLiteralIp) {
  EXPECT_EQ(address_literal_ip("[192.0.2.1]"), "192.0.2.1");
  EXPECT_EQ(address_literal_ip("[IPv6:2001:db8::1]"), "2001:db8::1");
  EXPECT_EQ(address_literal_ip("[ipv6:::1]"), "::1");
  EXPECT_EQ(address_literal_ip("[2001:db8::1]"), "");  // RFC 5321 §4.1.3 needs the IPv6: tag
  EXPECT_EQ(address_literal_ip("[300.0.0.1]"), "");
  EXPECT_EQ(address_literal_ip("192.0.2.1"), "");
  EXPECT_EQ(address_literal_ip("[]"), "");
}

TEST(SendRoutingTest, MxNextHopIsNamedAfterTheDomain) {
  const auto cfg = config_with({connector("internet", {"*"})});
  const NextHop hop = next_hop_for(cfg, "Example.NET.");
  EXPECT_EQ(hop.name, "example.net");
  EXPECT_EQ(hop.domain, "example.net");
  ASSERT_NE(hop.connector, nullptr);
  EXPECT_EQ(hop.connector->name, "internet");
  EXPECT_FALSE(hop.smart_host);
  EXPECT_FALSE(hop.unreachable());
  EXPECT_TRUE(hop.unreachable_reason.empty());
}

TEST(SendRoutingTest, SmartHostNextHopIsNamedAfterTheConnector) {
  auto partner = connector("partner", {"partner.test", "*.partner.test"});
  partner.smart_hosts.push_back(config::HostPort{"relay.partner.test", 587, false});
  const auto cfg = config_with({connector("internet", {"*"}), partner});
  const NextHop a = next_hop_for(cfg, "partner.test");
  const NextHop b = next_hop_for(cfg, "eu.partner.test");
  EXPECT_EQ(a.name, "smarthost:partner");
  EXPECT_EQ(b.name, "smarthost:partner");  // one queue, one set of connections for both
  EXPECT_TRUE(a.smart_host);
  EXPECT_EQ(b.domain, "eu.partner.test");
  EXPECT_EQ(next_hop_for(cfg, "example.net").name, "example.net");
}

TEST(SendRoutingTest, UnreachableSaysWhy) {
  const NextHop none = next_hop_for(config_with({}), "example.net");
  EXPECT_TRUE(none.unreachable());
  EXPECT_EQ(none.name, "Unreachable");
  EXPECT_EQ(none.domain, "example.net");
  EXPECT_NE(none.unreachable_reason.find("no send connector is configured"), std::string::npos);
  EXPECT_NE(none.unreachable_reason.find("example.net"), std::string::npos);

  const NextHop unmatched = next_hop_for(config_with({connector("exact", {"partner.test"})}), "example.net");
  EXPECT_TRUE(unmatched.unreachable());
  EXPECT_NE(unmatched.unreachable_reason.find("address_spaces match example.net"), std::string::npos);
}

}  // namespace
}  // namespace sluice::routing
