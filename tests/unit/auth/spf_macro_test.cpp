// tests/unit/auth/spf_macro_test.cpp: SPF macro expansion (RFC 7208 §7), including the
// examples of §7.4.
#include <gtest/gtest.h>

#include "auth/spf_macro.hpp"

namespace sluice::auth {
namespace {

SpfMacroContext rfc_example() {
  // RFC 7208 §7.4: sender strong-bad@email.example.com, client 192.0.2.3.
  SpfMacroContext c;
  c.local_part = "strong-bad";
  c.sender_domain = "email.example.com";
  c.domain = "email.example.com";
  c.client_ip = "192.0.2.3";
  c.helo = "mx.example.org";
  c.receiver = "mx.example.net";
  c.timestamp = 1700000000;
  return c;
}

std::string expand(const std::string& s, const SpfMacroContext& c, SpfMacroUse use = SpfMacroUse::domain) {
  auto r = expand_spf_macros(s, c, use);
  EXPECT_TRUE(r.has_value()) << s;
  return r ? *r : "<error>";
}

TEST(SpfMacro, Rfc7208Section74Examples) {
  auto c = rfc_example();
  EXPECT_EQ(expand("%{s}", c), "strong-bad@email.example.com");
  EXPECT_EQ(expand("%{o}", c), "email.example.com");
  EXPECT_EQ(expand("%{d}", c), "email.example.com");
  EXPECT_EQ(expand("%{d4}", c), "email.example.com");
  EXPECT_EQ(expand("%{d3}", c), "email.example.com");
  EXPECT_EQ(expand("%{d2}", c), "example.com");
  EXPECT_EQ(expand("%{d1}", c), "com");
  EXPECT_EQ(expand("%{dr}", c), "com.example.email");
  EXPECT_EQ(expand("%{d2r}", c), "example.email");
  EXPECT_EQ(expand("%{l}", c), "strong-bad");
  EXPECT_EQ(expand("%{l-}", c), "strong.bad");
  EXPECT_EQ(expand("%{lr}", c), "strong-bad");
  EXPECT_EQ(expand("%{lr-}", c), "bad.strong");
  EXPECT_EQ(expand("%{l1r-}", c), "strong");
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", c), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expand("%{lr-}.lp._spf.%{d2}", c), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", c), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", c), "3.2.0.192.in-addr.strong.lp._spf.example.com");
  EXPECT_EQ(expand("%{d2}.trusted-domains.example.net", c), "example.com.trusted-domains.example.net");
}

TEST(SpfMacro, Ipv6NibblesAndVersion) {
  auto c = rfc_example();
  c.client_ip = "2001:db8::cb01";
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", c),
            "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacro, EscapesAndUpperCaseUrlEncoding) {
  auto c = rfc_example();
  c.local_part = "jack&jill=up";
  EXPECT_EQ(expand("%%%_%-", c, SpfMacroUse::explanation), "% %20");
  EXPECT_EQ(expand("%{L}", c), "jack%26jill%3Dup");
  EXPECT_EQ(expand("%{l}", c), "jack&jill=up");
}

TEST(SpfMacro, ExplanationOnlyLettersAndSpaces) {
  auto c = rfc_example();
  EXPECT_EQ(expand("%{c} via %{r} at %{t}", c, SpfMacroUse::explanation), "192.0.2.3 via mx.example.net at 1700000000");
  EXPECT_FALSE(valid_spf_macro_string("%{c}", SpfMacroUse::domain));
  EXPECT_FALSE(valid_spf_macro_string("a b", SpfMacroUse::domain));
  EXPECT_TRUE(valid_spf_macro_string("a b", SpfMacroUse::explanation));
}

TEST(SpfMacro, SyntaxErrorsAreRefused) {
  auto c = rfc_example();
  for (const char* bad : {"%", "%x", "%{", "%{d", "%{q}", "%{d0}", "%{d2x}", "%{dr2}"}) {
    EXPECT_FALSE(valid_spf_macro_string(bad, SpfMacroUse::domain)) << bad;
    EXPECT_FALSE(expand_spf_macros(bad, c, SpfMacroUse::domain).has_value()) << bad;
  }
}

TEST(SpfMacro, ValidatedNameDefaultsToUnknown) {
  auto c = rfc_example();
  EXPECT_EQ(expand("%{p}", c), "unknown");
  c.validated_name = "mx.example.com";
  EXPECT_EQ(expand("%{p}", c), "mx.example.com");
  EXPECT_TRUE(spf_macro_uses_ptr("a.%{p2}.b"));
  EXPECT_FALSE(spf_macro_uses_ptr("a.%{d2}.b"));
}

TEST(SpfMacro, LongDomainIsShortenedFromTheLeft) {
  auto c = rfc_example();
  c.local_part = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + "." +
                 std::string(60, 'd') + "." + std::string(60, 'e');
  auto out = expand("%{l}.example.com", c);
  EXPECT_LE(out.size(), 253u);
  // b.c.d.e.example.com would be 255 octets: both a and b go.
  EXPECT_EQ(out, std::string(60, 'c') + "." + std::string(60, 'd') + "." + std::string(60, 'e') + ".example.com");
}

}  // namespace
}  // namespace sluice::auth
