// Tests for policy/dnsbl: RFC 5782 query names, which answers list, codes and their meanings,
// the zone's TXT reason in the reply, allowlists, fail-open on SERVFAIL, per-connector zones.
#include "policy/dnsbl.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "fake_resolver.hpp"

namespace sluice::policy {
namespace {

using testing::FakeResolver;

config::DnsblZone zone(std::string name, bool allow = false) {
  config::DnsblZone z;
  z.zone = std::move(name);
  z.allow = allow;
  return z;
}

TEST(Dnsbl, QueryNamesFollowRfc5782) {
  EXPECT_EQ(DnsblChecker::query_name("192.0.2.99", "bl.test"), "99.2.0.192.bl.test");
  EXPECT_EQ(DnsblChecker::query_name("::ffff:192.0.2.99", "bl.test"), "99.2.0.192.bl.test");
  // RFC 5782 §2.4: the example for 2001:db8:1:2:3:4:567:89ab.
  EXPECT_EQ(DnsblChecker::query_name("2001:db8:1:2:3:4:567:89ab", "ugly.example.com"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com");
  EXPECT_EQ(DnsblChecker::query_name("not-an-ip", "bl.test"), "");
}

TEST(Dnsbl, ListedClientGetsTheZonesReasonInTheReply) {
  FakeResolver r;
  r.a_answers["2.0.0.127.bl.test"] = FakeResolver::ok({"127.0.0.2"});
  r.txt_answers["2.0.0.127.bl.test"] = FakeResolver::ok({"Listed: see https://bl.test/lookup?127.0.0.2"});
  std::vector<config::DnsblZone> zones{zone("bl.test")};
  zones[0].codes["127.0.0.2"] = "spam source";
  DnsblChecker checker(r, zones);
  std::optional<DnsblResult> got;
  checker.check("127.0.0.2", checker.zones_for("internet", true), [&](DnsblResult res) { got = std::move(res); });
  ASSERT_TRUE(got);
  ASSERT_EQ(got->listings.size(), 1u);
  const DnsblListing& l = got->listings[0];
  EXPECT_EQ(l.zone, "bl.test");
  EXPECT_EQ(l.code, "127.0.0.2");
  EXPECT_EQ(l.meaning, "spam source");
  ASSERT_NE(got->blocked(config::DnsblAction::connect), nullptr);
  EXPECT_EQ(DnsblChecker::refusal("127.0.0.2", l).wire(),
            "554 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test: "
            "Listed: see https://bl.test/lookup?127.0.0.2\r\n");
}

TEST(Dnsbl, WithoutTxtTheMeaningIsTheReason) {
  FakeResolver r;
  r.a_answers["2.0.0.127.bl.test"] = FakeResolver::ok({"127.0.0.4"});
  std::vector<config::DnsblZone> zones{zone("bl.test")};
  zones[0].codes["127.0.0.4"] = "exploited host";
  DnsblChecker checker(r, zones);
  std::optional<DnsblResult> got;
  checker.check("127.0.0.2", checker.zones_for("x", true), [&](DnsblResult res) { got = std::move(res); });
  ASSERT_TRUE(got && got->listings.size() == 1);
  EXPECT_EQ(DnsblChecker::refusal("127.0.0.2", got->listings[0]).text(),
            "554 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test: exploited host");
}

TEST(Dnsbl, NotListedErrorCodesAndUnknownCodesWithOnlyCodes) {
  FakeResolver r;
  r.a_answers["1.0.0.127.a.test"] = FakeResolver::ok({"127.255.255.254"});  // "query refused"
  r.a_answers["1.0.0.127.b.test"] = FakeResolver::ok({"127.0.0.9"});        // not in codes
  r.a_answers["1.0.0.127.c.test"] = FakeResolver::ok({"10.0.0.1"});         // not a listing
  std::vector<config::DnsblZone> zones{zone("a.test"), zone("b.test"), zone("c.test"), zone("d.test")};
  zones[1].codes["127.0.0.2"] = "spam";
  zones[1].only_codes = true;
  DnsblChecker checker(r, zones);
  std::optional<DnsblResult> got;
  checker.check("127.0.0.1", checker.zones_for("x", true), [&](DnsblResult res) { got = std::move(res); });
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->listings.empty());
  ASSERT_EQ(got->failures.size(), 1u);
  EXPECT_EQ(got->failures[0], "a.test: the list refused the query (127.255.255.254)");
  EXPECT_EQ(got->blocked(config::DnsblAction::connect), nullptr);
}

TEST(Dnsbl, ServfailFailsOpenAndIsReported) {
  FakeResolver r;
  r.a_answers["1.0.0.127.bl.test"] = FakeResolver::status(dns::Status::servfail);
  std::vector<config::DnsblZone> zones{zone("bl.test")};
  DnsblChecker checker(r, zones);
  std::optional<DnsblResult> got;
  checker.check("127.0.0.1", checker.zones_for("x", true), [&](DnsblResult res) { got = std::move(res); });
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->listings.empty());
  ASSERT_EQ(got->failures.size(), 1u);
  EXPECT_EQ(got->failures[0], "bl.test: SERVFAIL");
}

TEST(Dnsbl, AllowlistOverridesEveryBlocklistAndResultKeepsConfigOrder) {
  FakeResolver r;
  r.hold = true;  // answers arrive later, in the order the test runs them
  r.a_answers["2.0.0.127.bl.test"] = FakeResolver::ok({"127.0.0.2"});
  r.a_answers["2.0.0.127.wl.test"] = FakeResolver::ok({"127.0.10.1"});
  std::vector<config::DnsblZone> zones{zone("bl.test"), zone("wl.test", true)};
  DnsblChecker checker(r, zones);
  std::optional<DnsblResult> got;
  checker.check("127.0.0.2", checker.zones_for("x", true), [&](DnsblResult res) { got = std::move(res); });
  EXPECT_FALSE(got);  // nothing has answered yet
  r.run_all();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->listings.size(), 2u);
  EXPECT_EQ(got->listings[0].zone, "bl.test");
  EXPECT_EQ(got->listings[1].zone, "wl.test");
  ASSERT_NE(got->allowed(), nullptr);
  EXPECT_EQ(got->blocked(config::DnsblAction::connect), nullptr);
}

TEST(Dnsbl, ZonesApplyToInternetConnectorsOrThoseNamedWithTheirAction) {
  FakeResolver r;
  std::vector<config::DnsblZone> zones{zone("all.test"), zone("named.test")};
  zones[1].connectors = {"Frontend"};
  zones[1].action = config::DnsblAction::rcpt;
  zones[1].actions["Frontend"] = config::DnsblAction::record;
  DnsblChecker checker(r, zones);
  auto internet = checker.zones_for("Other", true);
  ASSERT_EQ(internet.size(), 1u);
  EXPECT_EQ(internet[0].zone->zone, "all.test");
  EXPECT_TRUE(checker.zones_for("Submission", false).empty());
  auto named = checker.zones_for("Frontend", false);
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].zone->zone, "named.test");
  EXPECT_EQ(named[0].action, config::DnsblAction::record);
}

TEST(Dnsbl, NoZonesAnswersAtOnce) {
  FakeResolver r;
  std::vector<config::DnsblZone> zones;
  DnsblChecker checker(r, zones);
  bool called = false;
  checker.check("127.0.0.1", {}, [&](DnsblResult res) {
    called = true;
    EXPECT_TRUE(res.listings.empty());
  });
  EXPECT_TRUE(called);
  EXPECT_TRUE(r.asked.empty());
}

TEST(Dnsbl, ControlCharactersInTxtNeverReachTheReply) {
  FakeResolver r;
  r.a_answers["2.0.0.127.bl.test"] = FakeResolver::ok({"127.0.0.2"});
  r.txt_answers["2.0.0.127.bl.test"] = FakeResolver::ok({"bad\r\n250 ok"});
  std::vector<config::DnsblZone> zones{zone("bl.test")};
  DnsblChecker checker(r, zones);
  std::optional<DnsblResult> got;
  checker.check("127.0.0.2", checker.zones_for("x", true), [&](DnsblResult res) { got = std::move(res); });
  ASSERT_TRUE(got && got->listings.size() == 1);
  EXPECT_EQ(DnsblChecker::refusal("127.0.0.2", got->listings[0]).wire(),
            "554 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test: bad??250 ok\r\n");
}

}  // namespace
}  // namespace sluice::policy
