// tests/unit/auth/spf_test.cpp: SpfEvaluator behaviour beyond the official suite: what the
// outcome says (deciding term, detail, explanation), the HELO identity, the processing limits
// with their exact counts, DNS failures, and that answers never arrive inside the call.
#include <optional>

#include <gtest/gtest.h>

#include "auth/spf.hpp"
#include "spf_fake_resolver.hpp"

namespace sluice::auth {
namespace {

class SpfTest : public ::testing::Test {
 protected:
  SpfOutcome mail_from(const std::string& ip, const std::string& sender, const std::string& helo = "mx.client.test") {
    SpfEvaluator spf(dns_);
    std::optional<SpfOutcome> out;
    spf.check_mail_from({ip, sender, helo, "mx.receiver.test", 1700000000}, [&](SpfOutcome o) { out = std::move(o); });
    EXPECT_FALSE(out.has_value()) << "answered inside the call";
    dns_.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(SpfOutcome{});
  }

  testing::FakeResolver dns_;
};

TEST_F(SpfTest, PassNamesTheMatchingTerm) {
  dns_.add("example.com", "TXT", "v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/24 -all");
  auto o = mail_from("192.0.2.77", "alice@example.com");
  EXPECT_EQ(o.result, SpfResult::pass);
  EXPECT_EQ(o.domain, "example.com");
  EXPECT_EQ(o.mechanism, "ip4:192.0.2.0/24");
  EXPECT_EQ(o.detail, "matched ip4:192.0.2.0/24 in the SPF record of example.com");
}

TEST_F(SpfTest, FailCarriesDefaultOrExpExplanation) {
  dns_.add("example.com", "TXT", "v=spf1 -all");
  auto o = mail_from("203.0.113.9", "alice@example.com");
  EXPECT_EQ(o.result, SpfResult::fail);
  EXPECT_EQ(o.explanation, "example.com does not designate 203.0.113.9 as permitted sender");

  dns_.add("example.org", "TXT", "v=spf1 mx -all exp=why.%{d}");
  dns_.add("why.example.org", "TXT", "%{l} at %{o}: %{i} is not one of our servers, see %{r}");
  o = mail_from("203.0.113.9", "bob@example.org");
  EXPECT_EQ(o.result, SpfResult::fail);
  EXPECT_EQ(o.mechanism, "-all");
  EXPECT_EQ(o.explanation, "bob at example.org: 203.0.113.9 is not one of our servers, see mx.receiver.test");
}

TEST_F(SpfTest, SoftfailNeutralAndNone) {
  dns_.add("soft.test", "TXT", "v=spf1 ~all");
  dns_.add("neutral.test", "TXT", "v=spf1 ip4:10.0.0.1");
  dns_.add("other.test", "TXT", "google-site-verification=abc");
  EXPECT_EQ(mail_from("192.0.2.1", "a@soft.test").result, SpfResult::softfail);
  auto n = mail_from("192.0.2.1", "a@neutral.test");
  EXPECT_EQ(n.result, SpfResult::neutral);
  EXPECT_EQ(n.detail, "no mechanism matched in the SPF record of neutral.test");
  auto none = mail_from("192.0.2.1", "a@other.test");
  EXPECT_EQ(none.result, SpfResult::none);
  EXPECT_EQ(none.detail, "no SPF record at other.test");
  EXPECT_EQ(mail_from("192.0.2.1", "a@nowhere.test").result, SpfResult::none);
}

TEST_F(SpfTest, NullSenderUsesHeloAndHeloIdentityWorks) {
  dns_.add("mx.client.test", "TXT", "v=spf1 a -all");
  dns_.add("mx.client.test", "A", "192.0.2.10");
  auto o = mail_from("192.0.2.10", "");
  EXPECT_EQ(o.result, SpfResult::pass);
  EXPECT_EQ(o.domain, "mx.client.test");

  SpfEvaluator spf(dns_);
  std::optional<SpfOutcome> helo;
  spf.check_helo({"192.0.2.11", "someone@else.test", "mx.client.test", "", 0}, [&](SpfOutcome x) { helo = x; });
  dns_.run();
  ASSERT_TRUE(helo);
  EXPECT_EQ(helo->result, SpfResult::fail);
  EXPECT_EQ(helo->domain, "mx.client.test");
}

TEST_F(SpfTest, NotADomainIsNoneWithoutAnyQuery) {
  SpfEvaluator spf(dns_);
  std::optional<SpfOutcome> out;
  spf.check_helo({"192.0.2.1", "", "[192.0.2.1]", "", 0}, [&](SpfOutcome o) { out = o; });
  ASSERT_TRUE(out.has_value());  // documented: answered inside the call, no DNS needed
  EXPECT_EQ(out->result, SpfResult::none);
  EXPECT_EQ(dns_.queries(), 0);
}

TEST_F(SpfTest, TenDnsTermsPassEleventhIsPermerror) {
  // Ten includes, each of a record with one ip4 that does not match; then the last matches.
  std::string ten = "v=spf1";
  for (int i = 0; i < 10; ++i) {
    std::string name = "i" + std::to_string(i) + ".test";
    dns_.add(name, "TXT", "v=spf1 ip4:10.0.0." + std::to_string(i));
    ten += " include:" + name;
  }
  dns_.add("ten.test", "TXT", ten + " ip4:192.0.2.1 -all");
  EXPECT_EQ(mail_from("192.0.2.1", "a@ten.test").result, SpfResult::pass);

  dns_.add("eleven.test", "TXT", ten + " a:i0.test ip4:192.0.2.1 -all");
  auto o = mail_from("192.0.2.1", "a@eleven.test");
  EXPECT_EQ(o.result, SpfResult::permerror);
  EXPECT_EQ(o.mechanism, "a:i0.test");
  EXPECT_EQ(o.detail, "more than 10 DNS-querying terms");
}

TEST_F(SpfTest, ThirdVoidLookupIsPermerror) {
  dns_.add("void.test", "TXT", "v=spf1 a:n1.void.test a:n2.void.test ip4:192.0.2.1 -all");
  EXPECT_EQ(mail_from("192.0.2.1", "a@void.test").result, SpfResult::pass);
  dns_.add("void3.test", "TXT", "v=spf1 a:n1.void.test mx:n2.void.test exists:n3.void.test ip4:192.0.2.1 -all");
  auto o = mail_from("192.0.2.1", "a@void3.test");
  EXPECT_EQ(o.result, SpfResult::permerror);
  EXPECT_EQ(o.detail, "more than 2 void DNS lookups (last: n3.void.test)");
}

TEST_F(SpfTest, DnsFailuresAreTemperror) {
  dns_.add("slow.test", "TIMEOUT");
  auto o = mail_from("192.0.2.1", "a@slow.test");
  EXPECT_EQ(o.result, SpfResult::temperror);
  EXPECT_EQ(o.detail, "DNS timeout looking up the SPF record of slow.test");

  dns_.add("uses-broken.test", "TXT", "v=spf1 a:broken.test -all");
  dns_.add("broken.test", "SERVFAIL");
  o = mail_from("192.0.2.1", "a@uses-broken.test");
  EXPECT_EQ(o.result, SpfResult::temperror);
  EXPECT_EQ(o.mechanism, "a:broken.test");
}

TEST_F(SpfTest, MxPtrAndIpv6) {
  dns_.add("mx.test", "TXT", "v=spf1 mx/24 -all");
  dns_.add("mx.test", "MX", "10 mail.mx.test");
  dns_.add("mail.mx.test", "A", "192.0.2.200");
  EXPECT_EQ(mail_from("192.0.2.9", "a@mx.test").result, SpfResult::pass);
  EXPECT_EQ(mail_from("192.0.3.9", "a@mx.test").result, SpfResult::fail);

  dns_.add("ptr.test", "TXT", "v=spf1 ptr -all");
  dns_.add("9.2.0.192.in-addr.arpa", "PTR", "host.ptr.test");
  dns_.add("host.ptr.test", "A", "192.0.2.9");
  dns_.add("8.2.0.192.in-addr.arpa", "PTR", "forged.ptr.test");  // no A back: not validated
  EXPECT_EQ(mail_from("192.0.2.9", "a@ptr.test").result, SpfResult::pass);
  EXPECT_EQ(mail_from("192.0.2.8", "a@ptr.test").result, SpfResult::fail);

  dns_.add("v6.test", "TXT", "v=spf1 ip6:2001:db8:1::/48 a//64 -all");
  dns_.add("v6.test", "AAAA", "2001:db8:2::1");
  EXPECT_EQ(mail_from("2001:db8:1::25", "a@v6.test").result, SpfResult::pass);
  EXPECT_EQ(mail_from("2001:db8:2::ffff", "a@v6.test").result, SpfResult::pass);
  EXPECT_EQ(mail_from("2001:db8:3::1", "a@v6.test").result, SpfResult::fail);
  // An IPv4-mapped client address is checked as IPv4.
  EXPECT_EQ(mail_from("::ffff:192.0.2.9", "a@mx.test").result, SpfResult::pass);
}

TEST_F(SpfTest, RedirectAndInclude) {
  dns_.add("r.test", "TXT", "v=spf1 redirect=_spf.r.test");
  dns_.add("_spf.r.test", "TXT", "v=spf1 ip4:192.0.2.0/24 -all");
  EXPECT_EQ(mail_from("192.0.2.1", "a@r.test").result, SpfResult::pass);
  EXPECT_EQ(mail_from("198.51.100.1", "a@r.test").result, SpfResult::fail);

  dns_.add("dangling.test", "TXT", "v=spf1 redirect=none.test");
  auto o = mail_from("192.0.2.1", "a@dangling.test");
  EXPECT_EQ(o.result, SpfResult::permerror);
  EXPECT_EQ(o.detail, "redirect to none.test, which has no SPF record");

  dns_.add("inc.test", "TXT", "v=spf1 include:none.test -all");
  EXPECT_EQ(mail_from("192.0.2.1", "a@inc.test").result, SpfResult::permerror);
  // A fail inside an include is only "no match": the including record decides.
  dns_.add("inc2.test", "TXT", "v=spf1 include:_spf.r.test ?all");
  EXPECT_EQ(mail_from("198.51.100.1", "a@inc2.test").result, SpfResult::neutral);
}

TEST_F(SpfTest, TwoRecordsAndSyntaxErrorsArePermerror) {
  dns_.add("two.test", "TXT", "v=spf1 -all");
  dns_.add("two.test", "TXT", "v=spf1 +all");
  EXPECT_EQ(mail_from("192.0.2.1", "a@two.test").detail, "more than one SPF record at two.test");
  dns_.add("bad.test", "TXT", "v=spf1 ip4:300.1.1.1 -all");
  auto o = mail_from("192.0.2.1", "a@bad.test");
  EXPECT_EQ(o.result, SpfResult::permerror);
  EXPECT_EQ(o.detail, "SPF record of bad.test: \"300.1.1.1\" is not an IPv4 address");
}

TEST(SpfResultNames, MatchHeaderWords) {
  EXPECT_STREQ(to_string(SpfResult::none), "none");
  EXPECT_STREQ(to_string(SpfResult::softfail), "softfail");
  EXPECT_STREQ(to_string(SpfResult::temperror), "temperror");
  EXPECT_STREQ(to_string(SpfResult::permerror), "permerror");
}

}  // namespace
}  // namespace sluice::auth
