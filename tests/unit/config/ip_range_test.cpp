// Tests for config/ip_range and config/listen_address.
#include "config/ip_range.hpp"

#include <gtest/gtest.h>

#include "config/listen_address.hpp"

namespace sluice::config {
namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

TEST(IpAddress, ParsesAndPrintsCanonically) {
  EXPECT_EQ(ip("192.0.2.1"), IpAddress::v4(192, 0, 2, 1));
  EXPECT_EQ(ip("192.0.2.1").to_string(), "192.0.2.1");
  EXPECT_EQ(ip("2001:DB8:0:0::1").to_string(), "2001:db8::1");
  EXPECT_EQ(ip("::").family, IpFamily::v6);
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "example.test", "[::1]", "::1%eth0", "1.2.3.4 ", "::g"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(IpAddress, UnmapsIpv4MappedIpv6) {
  EXPECT_EQ(ip("::ffff:10.1.2.3").unmapped(), ip("10.1.2.3"));
  EXPECT_EQ(ip("2001:db8::1").unmapped(), ip("2001:db8::1"));
}

TEST(IpRange, Cidr) {
  auto r = IpRange::parse("10.0.0.0/8").value();
  EXPECT_TRUE(r.contains(ip("10.0.0.0")));
  EXPECT_TRUE(r.contains(ip("10.255.255.255")));
  EXPECT_FALSE(r.contains(ip("11.0.0.0")));
  EXPECT_FALSE(r.contains(ip("9.255.255.255")));
  EXPECT_EQ(r.specificity(), 8);
  EXPECT_EQ(r.to_string(), "10.0.0.0/8");
}

TEST(IpRange, SingleAddressAndWholeSpace) {
  auto one = IpRange::parse("192.0.2.7").value();
  EXPECT_TRUE(one.contains(ip("192.0.2.7")));
  EXPECT_FALSE(one.contains(ip("192.0.2.8")));
  EXPECT_EQ(one.specificity(), 32);
  EXPECT_EQ(one.to_string(), "192.0.2.7");

  auto all = IpRange::parse("0.0.0.0/0").value();
  EXPECT_TRUE(all.contains(ip("255.255.255.255")));
  EXPECT_TRUE(all.contains(ip("0.0.0.0")));
  EXPECT_FALSE(all.contains(ip("::1"))) << "an IPv4 range never matches a native IPv6 client";
  EXPECT_EQ(all.specificity(), 0);
}

TEST(IpRange, Ipv6) {
  auto r = IpRange::parse("2001:db8::/32").value();
  EXPECT_TRUE(r.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(r.contains(ip("2001:db9::")));
  EXPECT_FALSE(r.contains(ip("10.0.0.1")));
  EXPECT_EQ(r.specificity(), 32);
  EXPECT_EQ(r.to_string(), "2001:db8::/32");

  auto host = IpRange::parse("::1").value();
  EXPECT_EQ(host.specificity(), 128);
  EXPECT_TRUE(host.contains(ip("0::1")));

  auto odd = IpRange::parse("2001:db8::/127").value();
  EXPECT_TRUE(odd.contains(ip("2001:db8::1")));
  EXPECT_FALSE(odd.contains(ip("2001:db8::2")));
}

TEST(IpRange, Ipv4RangeMatchesMappedClients) {
  auto r = IpRange::parse("127.0.0.0/8").value();
  EXPECT_TRUE(r.contains(ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(r.contains(ip("::ffff:128.0.0.1")));
}

TEST(IpRange, FirstLastRange) {
  auto r = IpRange::parse("192.0.2.10-192.0.2.20").value();
  EXPECT_TRUE(r.contains(ip("192.0.2.10")));
  EXPECT_TRUE(r.contains(ip("192.0.2.20")));
  EXPECT_FALSE(r.contains(ip("192.0.2.9")));
  EXPECT_FALSE(r.contains(ip("192.0.2.21")));
  EXPECT_EQ(r.specificity(), 28);  // 11 addresses: the smallest block that holds them is a /28
  EXPECT_EQ(r.to_string(), "192.0.2.10-192.0.2.20");

  // A range that happens to be a block prints as one.
  EXPECT_EQ(IpRange::parse("10.0.0.0-10.0.0.255").value().to_string(), "10.0.0.0/24");

  auto v6 = IpRange::parse("2001:db8::1-2001:db8::1:0").value();
  EXPECT_TRUE(v6.contains(ip("2001:db8::ffff")));
  EXPECT_EQ(v6.specificity(), 112);  // 65536 addresses (unaligned): as wide as a /112
}

TEST(IpRange, SpecificityAcrossByteBorrow) {
  // last - first = 0x0100 - 0x00ff = 1: the subtraction must borrow across bytes.
  auto r = IpRange::parse("10.0.0.255-10.0.1.0").value();
  EXPECT_EQ(r.specificity(), 31);
}

TEST(IpRange, RejectsMistakes) {
  EXPECT_NE(IpRange::parse("10.1.2.3/8").error().context.find("did you mean '10.0.0.0/8'"), std::string::npos);
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "::/129",
                          "10.0.0.9-10.0.0.1", "10.0.0.1-::1", "10.0.0.1-", "host.example/24", "*"}) {
    EXPECT_FALSE(IpRange::parse(bad)) << bad;
  }
  EXPECT_NE(IpRange::parse("10.0.0.1-::1").error().context.find("mixes"), std::string::npos);
}

TEST(ListenAddress, Forms) {
  EXPECT_EQ(ListenAddress::parse("127.0.0.1:2525").value(), (ListenAddress{"127.0.0.1", 2525}));
  EXPECT_EQ(ListenAddress::parse("[::1]:25").value(), (ListenAddress{"::1", 25}));
  EXPECT_EQ(ListenAddress::parse("[0:0::1]:25").value(), (ListenAddress{"::1", 25}));
  EXPECT_EQ(ListenAddress::parse("0.0.0.0:0").value().port, 0);
  EXPECT_EQ(ListenAddress::parse("[::]:587").value().to_string(), "[::]:587");
  EXPECT_EQ(ListenAddress::parse("10.0.0.1:65535").value().to_string(), "10.0.0.1:65535");
}

TEST(ListenAddress, Mistakes) {
  EXPECT_NE(ListenAddress::parse("127.0.0.1").error().context.find("no port"), std::string::npos);
  EXPECT_NE(ListenAddress::parse("::1:25").error().context.find("brackets"), std::string::npos);
  EXPECT_NE(ListenAddress::parse("mx.example.test:25").error().context.find("not an IP address"),
            std::string::npos);
  for (const char* bad : {"", ":25", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:25x", "[::1]25",
                          "[::1]", "[::1:25", "[::ffff:1.2.3.4]:25"}) {
    EXPECT_FALSE(ListenAddress::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace sluice::config
