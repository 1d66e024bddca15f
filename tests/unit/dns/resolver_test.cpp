// tests/unit/dns/resolver_test.cpp: the pure helpers of dns/resolver.hpp.
#include "dns/resolver.hpp"

#include <gtest/gtest.h>

namespace sluice::dns {
namespace {

TEST(ReverseName, Ipv4IsReversedUnderInAddrArpa) {
  EXPECT_EQ(reverse_name("192.0.2.10"), "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name("127.0.0.1"), "1.0.0.127.in-addr.arpa");
}

TEST(ReverseName, Ipv6IsNibblesUnderIp6Arpa) {
  EXPECT_EQ(reverse_name("2001:db8::567:89ab"),
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(reverse_name("::1"), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
}

TEST(ReverseName, NotAnAddressGivesEmpty) {
  EXPECT_EQ(reverse_name(""), "");
  EXPECT_EQ(reverse_name("mx.example.net"), "");
  EXPECT_EQ(reverse_name("256.1.1.1"), "");
  EXPECT_EQ(reverse_name("1.2.3"), "");
}

TEST(StatusNames, AreTheWordsAdminsSee) {
  EXPECT_STREQ(to_string(Status::ok), "ok");
  EXPECT_STREQ(to_string(Status::nxdomain), "NXDOMAIN");
  EXPECT_STREQ(to_string(Status::nodata), "no data");
  EXPECT_STREQ(to_string(Status::servfail), "SERVFAIL");
  EXPECT_STREQ(to_string(Status::timeout), "timeout");
  EXPECT_STREQ(to_string(Status::error), "error");
}

}  // namespace
}  // namespace sluice::dns
