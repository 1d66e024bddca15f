// tests/unit/auth/spf_record_test.cpp: the SPF record grammar (RFC 7208 §4.5, §4.6, §5, §6, §12).
#include <gtest/gtest.h>

#include "auth/spf_macro.hpp"
#include "auth/spf_record.hpp"

namespace sluice::auth {
namespace {

TEST(SpfRecord, RecognisesVersionTagOnly) {
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("V=SPF1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf10 -all"));
  EXPECT_FALSE(is_spf_record("v=spf1-all"));
  EXPECT_FALSE(is_spf_record("spf2.0/pra -all"));
}

TEST(SpfRecord, ParsesMechanismsQualifiersAndLengths) {
  auto r = parse_spf_record("v=spf1 +a -mx:mail.example.com/24//64 ~ptr ?ip4:192.0.2.0/24 ip6:2001:db8::/32 "
                            "include:_spf.example.net exists:%{ir}.bl.example.org -all");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  ASSERT_EQ(r->mechanisms.size(), 8u);
  EXPECT_EQ(r->mechanisms[0].kind, SpfMechanismKind::a);
  EXPECT_EQ(r->mechanisms[0].qualifier, SpfQualifier::pass);
  EXPECT_EQ(r->mechanisms[0].domain_spec, "");
  EXPECT_EQ(r->mechanisms[1].kind, SpfMechanismKind::mx);
  EXPECT_EQ(r->mechanisms[1].qualifier, SpfQualifier::fail);
  EXPECT_EQ(r->mechanisms[1].domain_spec, "mail.example.com");
  EXPECT_EQ(r->mechanisms[1].cidr4, 24);
  EXPECT_EQ(r->mechanisms[1].cidr6, 64);
  EXPECT_EQ(r->mechanisms[2].qualifier, SpfQualifier::softfail);
  EXPECT_EQ(r->mechanisms[3].qualifier, SpfQualifier::neutral);
  EXPECT_EQ(r->mechanisms[3].cidr4, 24);
  EXPECT_EQ(r->mechanisms[3].network[0], 192);
  EXPECT_EQ(r->mechanisms[4].kind, SpfMechanismKind::ip6);
  EXPECT_EQ(r->mechanisms[4].cidr6, 32);
  EXPECT_EQ(r->mechanisms[5].domain_spec, "_spf.example.net");
  EXPECT_EQ(r->mechanisms[6].domain_spec, "%{ir}.bl.example.org");
  EXPECT_EQ(r->mechanisms[7].kind, SpfMechanismKind::all);
  EXPECT_EQ(r->mechanisms[7].text, "-all");
}

TEST(SpfRecord, ModifiersOnceEachAndUnknownOnesIgnored) {
  auto r = parse_spf_record("v=spf1 redirect=_spf.example.com exp=why.example.com moo.cow-far_out=man:dog/cat");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r->redirect, "_spf.example.com");
  EXPECT_EQ(*r->exp, "why.example.com");
  EXPECT_TRUE(r->mechanisms.empty());
  EXPECT_FALSE(parse_spf_record("v=spf1 redirect=a.example.com redirect=b.example.com").has_value());
  EXPECT_FALSE(parse_spf_record("v=spf1 exp=a.example.com exp=b.example.com").has_value());
  EXPECT_FALSE(parse_spf_record("v=spf1 foo=%{q}").has_value());
}

TEST(SpfRecord, SyntaxErrorsSayWhatIsWrong) {
  struct Case {
    const char* record;
    const char* says;
  } cases[] = {
      {"v=spf1 ip4:192.0.2.0/33", "bad prefix length"},
      {"v=spf1 ip4:192.0.2.0/024", "bad prefix length"},
      {"v=spf1 ip4:example.com", "is not an IPv4 address"},
      {"v=spf1 ip6:192.0.2.1", "is not an IPv6 address"},
      {"v=spf1 a:111.222.33.44", "invalid domain"},
      {"v=spf1 include", "needs a valid domain"},
      {"v=spf1 all:foo", "takes no argument"},
      {"v=spf1 -all\tfoo", "unknown mechanism"},
      {"v=spf1 a//129", "bad prefix length"},
      {"v=spf1 ptr/24", "bad prefix length"},
  };
  for (const auto& c : cases) {
    auto r = parse_spf_record(c.record);
    ASSERT_FALSE(r.has_value()) << c.record;
    EXPECT_NE(r.error().context.find(c.says), std::string::npos) << c.record << ": " << r.error().context;
  }
}

TEST(SpfRecord, DomainEndRules) {
  EXPECT_TRUE(valid_spf_domain_end("foo.example.com"));
  EXPECT_TRUE(valid_spf_domain_end("foo.example.com."));
  EXPECT_TRUE(valid_spf_domain_end("abc.123-4"));
  EXPECT_FALSE(valid_spf_domain_end("111.222.33.44"));
  EXPECT_FALSE(valid_spf_domain_end("localhost"));
  EXPECT_FALSE(valid_spf_domain_end("foo.-com"));
  // A domain-spec with a macro at its end is valid whatever it expands to.
  EXPECT_TRUE(parse_spf_record("v=spf1 exists:%{i}.%{d}").has_value());
  // "a:foo:bar/baz.example.com": the slash is part of the domain, not a prefix length.
  EXPECT_TRUE(parse_spf_record("v=spf1 a:foo:bar/baz.example.com").has_value());
}

}  // namespace
}  // namespace sluice::auth

namespace sluice::auth {
namespace {

// Records assembled from SPF-ish fragments (fixed seed, bounded): the parser and the macro
// expander either accept or say why, and never crash (this binary runs under ASan/UBSan).
TEST(SpfRecord, ArbitraryRecordsParseOrExplain) {
  const char* pieces[] = {"v=spf1", " ", "a", "mx", "ptr", "ip4:", "ip6:", "include:", "exists:", "all",
                          "redirect=", "exp=", "/", "//", "24", "0", "129", "%{", "}", "%%", "%-", "%_",
                          "d", "i", "r", "5", ".", "-", "+", "~", "?", ":", "=", "example.com", "::1",
                          "192.0.2.1", "%{ir}", "\t", "\x80"};
  const size_t n = sizeof(pieces) / sizeof(pieces[0]);
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1103515245u + 12345u;
    return (state >> 16) % n;
  };
  SpfMacroContext ctx;
  ctx.local_part = "user";
  ctx.sender_domain = ctx.domain = "example.com";
  ctx.client_ip = "2001:db8::1";
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string rec = "v=spf1 ";
    for (int k = 0; k < 12; ++k) rec += pieces[next()];
    auto r = parse_spf_record(rec);
    if (r) {
      ++accepted;
      for (auto& m : r->mechanisms) {
        if (!m.domain_spec.empty()) {
          EXPECT_TRUE(expand_spf_macros(m.domain_spec, ctx, SpfMacroUse::domain).has_value()) << rec;
        }
      }
    } else {
      EXPECT_FALSE(r.error().context.empty()) << rec;
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace sluice::auth
