// Tests for config/send_connector: the text forms of smart hosts, message rates, TLS modes and
// address spaces, and the specificity order routing relies on.
#include "config/send_connector.hpp"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

using std::chrono::seconds;

TEST(HostPort, ParsesEveryForm) {
  EXPECT_EQ(*HostPort::parse("relay.test"), (HostPort{"relay.test", 0, false}));
  EXPECT_EQ(*HostPort::parse("Relay.TEST:587"), (HostPort{"relay.test", 587, false}));
  EXPECT_EQ(*HostPort::parse("[127.0.0.1]"), (HostPort{"127.0.0.1", 0, true}));
  EXPECT_EQ(*HostPort::parse("[127.0.0.1]:2600"), (HostPort{"127.0.0.1", 2600, true}));
  EXPECT_EQ(*HostPort::parse("[2001:DB8:0::1]:25"), (HostPort{"2001:db8::1", 25, true}));
  EXPECT_EQ(*HostPort::parse("[IPv6:::1]"), (HostPort{"::1", 0, true})) << "RFC 5321 address literal form";
  EXPECT_EQ(*HostPort::parse("[::ffff:10.0.0.1]"), (HostPort{"10.0.0.1", 0, true}));
}

TEST(HostPort, RefusesBadForms) {
  for (const char* bad : {"", "relay.test:", "relay.test:0", "relay.test:65536", "relay.test:25x", "[10.0.0.1]25",
                          "[10.0.0.1]:", "[relay.test]", "[10.0.0.1", "10.0.0.1", "10.0.0.1:25", "::1",
                          "relay_1.test", "-relay.test", "relay.test.:25"}) {
    EXPECT_FALSE(HostPort::parse(bad).has_value()) << bad;
  }
  EXPECT_NE(HostPort::parse("10.0.0.1:25").error().context.find("\"[10.0.0.1]:25\""), std::string::npos);
}

TEST(HostPort, PrintsAsWritten) {
  for (const char* text : {"relay.test", "relay.test:587", "[127.0.0.1]", "[127.0.0.1]:2600", "[::1]:25"}) {
    auto h = HostPort::parse(text);
    ASSERT_TRUE(h.has_value()) << text;
    EXPECT_EQ(h->to_string(), text);
  }
}

TEST(MessageRate, ParsesAndPrints) {
  EXPECT_EQ(*MessageRate::parse("10/s"), (MessageRate{10, seconds(1)}));
  EXPECT_EQ(*MessageRate::parse("600/min"), (MessageRate{600, seconds(60)}));
  EXPECT_EQ(*MessageRate::parse("5000/h"), (MessageRate{5000, seconds(3600)}));
  for (const char* text : {"10/s", "600/min", "5000/h"}) EXPECT_EQ(MessageRate::parse(text)->to_string(), text);
  EXPECT_EQ(MessageRate{}.to_string(), "unlimited");
  EXPECT_TRUE(MessageRate{}.unlimited());
  for (const char* bad : {"", "600", "/min", "x/min", "-1/min", "1.5/s", "600/m", "600/day", "0/h", "99999999999/s",
                          "600 /min"}) {
    EXPECT_FALSE(MessageRate::parse(bad).has_value()) << bad;
  }
}

TEST(TlsModeText, RoundTrips) {
  for (TlsMode m : {TlsMode::none, TlsMode::opportunistic, TlsMode::required, TlsMode::verify}) {
    EXPECT_EQ(parse_tls_mode(to_string(m)), m);
  }
  EXPECT_EQ(parse_tls_mode("Required"), std::nullopt) << "values are lower case, like the other enums";
  EXPECT_EQ(parse_tls_mode("starttls"), std::nullopt);
}

TEST(AddressSpace, Syntax) {
  for (const char* good : {"*", "example.com", "*.example.com", "localhost", "*.com"}) {
    EXPECT_EQ(check_address_space(good), "") << good;
  }
  for (const char* bad : {"", "*.", "**", "*example.com", "ex*.com", "mail.*.com", "*.*.com", "example.com.",
                          "exa mple.com"}) {
    EXPECT_NE(check_address_space(bad), "") << bad;
  }
}

TEST(AddressSpace, SpecificityOrdersExactThenLongestSuffixThenStar) {
  EXPECT_EQ(address_space_specificity("*", "a.example.com"), 0);
  EXPECT_GT(address_space_specificity("*.example.com", "a.example.com"), 0);
  EXPECT_GT(address_space_specificity("*.a.example.com", "b.a.example.com"),
            address_space_specificity("*.example.com", "b.a.example.com"));
  EXPECT_GT(address_space_specificity("a.example.com", "a.example.com"),
            address_space_specificity("*.example.com", "a.example.com"));
  // "*.example.com" is the subdomains only, as in Exchange.
  EXPECT_EQ(address_space_specificity("*.example.com", "example.com"), -1);
  EXPECT_EQ(address_space_specificity("*.example.com", "badexample.com"), -1);
  EXPECT_EQ(address_space_specificity("example.com", "a.example.com"), -1);
  EXPECT_EQ(address_space_specificity("example.com", "example.org"), -1);
}

}  // namespace
}  // namespace sluice::config
