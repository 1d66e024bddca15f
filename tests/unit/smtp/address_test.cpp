// Tests for smtp/address: valid and invalid paths with their exact replies, relay-trick
// shapes, 8-bit and UTF-8 input with and without SMTPUTF8, limits at the boundary.
#include "smtp/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::smtp {
namespace {

void expect_reply(const Result<Path>& r, int code, const std::string& enhanced, const std::string& text_part = "") {
  ASSERT_FALSE(r) << "parsed as " << r->address();
  ASSERT_TRUE(r.error().reply.has_value());
  EXPECT_EQ(r.error().reply->code(), code) << r.error().message();
  EXPECT_EQ(r.error().reply->enhanced(), enhanced) << r.error().message();
  if (!text_part.empty()) {
    EXPECT_NE(r.error().reply->lines().front().find(text_part), std::string::npos) << r.error().message();
  }
}

struct Valid {
  std::string in;
  std::string local;
  std::string domain;
};

TEST(ParsePath, ValidAddresses) {
  const Valid cases[] = {
      {"<a@b.example>", "a", "b.example"},
      {"<First.Last@Example.COM>", "First.Last", "Example.COM"},
      {"<x-y+tag@mail-1.example.org>", "x-y+tag", "mail-1.example.org"},
      {"<!#$%&'*+-/=?^_`{|}~@x.example>", "!#$%&'*+-/=?^_`{|}~", "x.example"},
      {"<a@localhost>", "a", "localhost"},
      {"<a@123.example>", "a", "123.example"},
      {"<a@[192.0.2.1]>", "a", "[192.0.2.1]"},
      {"<a@[0.0.0.0]>", "a", "[0.0.0.0]"},
      {"<a@[255.255.255.255]>", "a", "[255.255.255.255]"},
      {"<a@[IPv6:2001:db8::1]>", "a", "[IPv6:2001:db8::1]"},
      {"<a@[ipv6:::1]>", "a", "[ipv6:::1]"},
      {"<a@[IPv6:::ffff:192.0.2.1]>", "a", "[IPv6:::ffff:192.0.2.1]"},
      {"<\"john doe\"@x.example>", "\"john doe\"", "x.example"},
      {"<\"a\\\"b\"@x.example>", "\"a\\\"b\"", "x.example"},
      {"<\"\"@x.example>", "\"\"", "x.example"},
  };
  for (const auto& c : cases) {
    for (PathKind kind : {PathKind::reverse, PathKind::forward}) {
      SCOPED_TRACE(c.in);
      auto r = parse_path(c.in, kind, false);
      ASSERT_TRUE(r) << r.error().message();
      EXPECT_EQ(r->local_part, c.local);
      EXPECT_EQ(r->domain, c.domain);
      EXPECT_EQ(r->address(), c.local + "@" + c.domain);
      EXPECT_FALSE(r->null());
      EXPECT_FALSE(r->postmaster_only);
      EXPECT_FALSE(r->utf8);
      EXPECT_EQ(r->quoted, c.local.front() == '"');
      EXPECT_TRUE(r->source_route.empty());
    }
  }
}

TEST(ParsePath, NullPathOnlyForSender) {
  auto r = parse_path("<>", PathKind::reverse, false);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->null());
  EXPECT_EQ(r->address(), "");
  expect_reply(parse_path("<>", PathKind::forward, false), 501, "5.1.3", "empty recipient");
}

TEST(ParsePath, PostmasterOnlyForRecipient) {
  for (std::string_view s : {"<Postmaster>", "<postmaster>", "<POSTMASTER>"}) {
    auto r = parse_path(s, PathKind::forward, false);
    ASSERT_TRUE(r) << s;
    EXPECT_TRUE(r->postmaster_only);
    EXPECT_FALSE(r->null());
    EXPECT_TRUE(r->domain.empty());
    EXPECT_EQ(r->address(), s.substr(1, s.size() - 2));
  }
  expect_reply(parse_path("<Postmaster>", PathKind::reverse, false), 501, "5.1.7", "missing @domain");
  expect_reply(parse_path("<postmistress>", PathKind::forward, false), 501, "5.1.3", "missing @domain");
  // With a domain it is an ordinary mailbox.
  auto full = parse_path("<postmaster@x.example>", PathKind::forward, false);
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->postmaster_only);
}

struct Invalid {
  std::string in;
  std::string why;
};

TEST(ParsePath, SyntaxErrorsNameTheProblem) {
  const Invalid cases[] = {
      {"a@b.example", "missing angle brackets"},
      {"<a@b.example", "missing angle brackets"},
      {"a@b.example>", "missing angle brackets"},
      {"<", "missing angle brackets"},
      {"<a>", "missing @domain"},
      {"<a@>", "missing domain"},
      {"<@b.example>", "source route without ':'"},
      {"<.a@b.example>", "misplaced dot in local part"},
      {"<a.@b.example>", "misplaced dot in local part"},
      {"<a..b@b.example>", "misplaced dot in local part"},
      {"<a b@b.example>", "invalid character in local part"},
      {"<a(c)@b.example>", "invalid character in local part"},
      {"<a@b@c.example>", "invalid character in domain"},
      {"<a@b.example.>", "domain ends with a dot"},
      {"<a@.b.example>", "empty domain label"},
      {"<a@b..example>", "empty domain label"},
      {"<a@-b.example>", "domain label begins or ends with a hyphen"},
      {"<a@b-.example>", "domain label begins or ends with a hyphen"},
      {"<a@b_c.example>", "invalid character in domain"},
      {"<a@b.example >", "invalid character in domain"},
      {"<\"unterminated@b.example>", "unterminated quoted local part"},
      {"<\"a\"b@c.example>", "missing @domain"},
      {"<\"a\\\x01\"@c.example>", "bad quoted-pair"},
      {"<a@[192.0.2.256]>", "bad IPv4 address literal"},
      {"<a@[192.0.2]>", "bad IPv4 address literal"},
      {"<a@[192.0.2.1.5]>", "bad IPv4 address literal"},
      {"<a@[1234.0.2.1]>", "bad IPv4 address literal"},
      {"<a@[192.0.2.1>", "malformed address literal"},
      {"<a@[IPv6:2001:db8::g]>", "bad IPv6 address literal"},
      {"<a@[IPv6:1:2:3:4:5:6:7:8:9]>", "bad IPv6 address literal"},
      {"<a@[IPv6:]>", "bad IPv6 address literal"},
      {"<a@[IPv6:fe80::1%eth0]>", "bad IPv6 address literal"},
      {"<a@[x400:c=us;a=b]>", "general address literal not supported"},
      {"<@a.example,:u@b.example>", "bad source route"},
      {"<@a.example,@:u@b.example>", "bad source route"},
      {"<@a..example:u@b.example>", "source route: empty domain label"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    expect_reply(parse_path(c.in, PathKind::reverse, false), 501, "5.1.7", "Bad sender address syntax: " + c.why);
    expect_reply(parse_path(c.in, PathKind::forward, false), 501, "5.1.3", "Bad recipient address syntax: " + c.why);
  }
}

// Every shape an open-relay probe uses must reach policy with the trick visible.
TEST(ParsePath, RelayTricksStayVisible) {
  auto percent = parse_path("<user%other.example@ours.example>", PathKind::forward, false);
  ASSERT_TRUE(percent);
  EXPECT_EQ(percent->local_part, "user%other.example");
  EXPECT_EQ(percent->domain, "ours.example");

  auto quoted = parse_path("<\"user@other.example\"@ours.example>", PathKind::forward, false);
  ASSERT_TRUE(quoted);
  EXPECT_TRUE(quoted->quoted);
  EXPECT_EQ(quoted->local_part, "\"user@other.example\"");
  EXPECT_EQ(quoted->domain, "ours.example");

  auto route = parse_path("<@ours.example:user@other.example>", PathKind::forward, false);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->source_route, "@ours.example");
  EXPECT_EQ(route->local_part, "user");
  EXPECT_EQ(route->domain, "other.example");  // the real destination, not ours
  EXPECT_EQ(route->address(), "user@other.example");

  auto long_route = parse_path("<@a.example,@b.example:user@c.example>", PathKind::forward, false);
  ASSERT_TRUE(long_route);
  EXPECT_EQ(long_route->source_route, "@a.example,@b.example");
  EXPECT_EQ(long_route->domain, "c.example");

  auto bang = parse_path("<other.example!user@ours.example>", PathKind::forward, false);
  ASSERT_TRUE(bang);
  EXPECT_EQ(bang->local_part, "other.example!user");
  EXPECT_EQ(bang->domain, "ours.example");

  expect_reply(parse_path("<user@ours.example.>", PathKind::forward, false), 501, "5.1.3", "domain ends with a dot");
  expect_reply(parse_path("<user@other.example@ours.example>", PathKind::forward, false), 501, "5.1.3");
}

TEST(ParsePath, Utf8NeedsSmtputf8) {
  const std::string local = "<j\xc3\xb6rg@example.org>";                    // jörg
  const std::string domain = "<info@m\xc3\xbcnchen.example>";               // münchen
  const std::string quoted = "<\"\xe4\xbd\xa0 \xe5\xa5\xbd\"@example.org>";  // "你 好"
  for (const auto& s : {local, domain, quoted}) {
    SCOPED_TRACE(s);
    expect_reply(parse_path(s, PathKind::reverse, false), 553, "5.6.7", "non-ASCII address requires SMTPUTF8");
    expect_reply(parse_path(s, PathKind::forward, false), 553, "5.6.7", "non-ASCII address requires SMTPUTF8");
    EXPECT_EQ(parse_path(s, PathKind::forward, false).error().klass, ErrorClass::permanent);
    auto r = parse_path(s, PathKind::forward, true);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->utf8);
  }
  auto d = parse_path(domain, PathKind::reverse, true);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->domain, "m\xc3\xbcnchen.example");
  // Non-ASCII is never allowed inside an address literal.
  expect_reply(parse_path("<a@[192.0.2.\xc3\xa9]>", PathKind::forward, true), 501, "5.1.3");
}

TEST(ParsePath, EightBitThatIsNotUtf8IsRefusedEitherWay) {
  const std::string cases[] = {
      "<j\xf6rg@example.org>",            // Latin-1 ö
      "<a@m\xfcnchen.example>",           // Latin-1 ü in the domain
      "<a\xc3@example.org>",              // truncated sequence
      "<a\xc0\xaf@example.org>",          // overlong '/'
      "<a\xed\xa0\x80@example.org>",      // UTF-16 surrogate
      "<a\xf4\x90\x80\x80@example.org>",  // beyond U+10FFFF
      "<a\x80@example.org>",              // lone continuation byte
  };
  for (const auto& s : cases) {
    for (bool utf8 : {false, true}) {
      SCOPED_TRACE(s);
      expect_reply(parse_path(s, PathKind::reverse, utf8), 501, "5.6.7", "not valid UTF-8");
      expect_reply(parse_path(s, PathKind::forward, utf8), 501, "5.6.7", "not valid UTF-8");
    }
  }
}

TEST(ParsePath, LocalPartLimit) {
  const std::string at_limit(64, 'l');
  auto ok = parse_path("<" + at_limit + "@x.example>", PathKind::forward, false);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->local_part.size(), 64u);
  expect_reply(parse_path("<" + at_limit + "l@x.example>", PathKind::forward, false), 501, "5.1.3",
               "local part longer than 64 octets");
  expect_reply(parse_path("<" + at_limit + "l@x.example>", PathKind::reverse, false), 501, "5.1.7",
               "local part longer than 64 octets");
  // Quotes count: they are part of the local part on the wire.
  const std::string quoted = "\"" + std::string(62, 'q') + "\"";
  EXPECT_TRUE(parse_path("<" + quoted + "@x.example>", PathKind::forward, false));
  expect_reply(parse_path("<\"" + std::string(63, 'q') + "\"@x.example>", PathKind::forward, false), 501, "5.1.3",
               "local part longer than 64 octets");
}

TEST(ParsePath, LabelLimit) {
  const std::string label(63, 'd');
  EXPECT_TRUE(parse_path("<a@" + label + ".example>", PathKind::forward, false));
  expect_reply(parse_path("<a@" + label + "d.example>", PathKind::forward, false), 501, "5.1.3",
               "Bad recipient address syntax: domain label too long");
}

// A valid domain of exactly `size` octets: 63-octet labels joined by dots, the last one shorter.
std::string long_domain(size_t size) {
  std::string d;
  while (d.size() < size) {
    if (!d.empty()) d += '.';
    d += std::string(std::min<size_t>(63, size - d.size()), 'd');
  }
  if (d.back() == '.') d.back() = 'e';
  return d;
}

TEST(ParsePath, DomainLimit) {
  const std::string d255 = long_domain(255);
  ASSERT_EQ(d255.size(), 255u);
  EXPECT_TRUE(valid_domain(d255, false));
  EXPECT_FALSE(valid_domain(long_domain(256), false));
  ASSERT_EQ(long_domain(256).size(), 256u);
  // The domain limit is reached only inside a path longer than 256, so test the function and
  // check the path limit below. Path with a 255-octet domain: "<a@" + 255 + ">" = 259 octets.
  expect_reply(parse_path("<a@" + d255 + ">", PathKind::forward, false), 501, "5.1.3", "path longer than 256 octets");
}

TEST(ParsePath, PathLimit) {
  // "<" + local + "@" + domain + ">" with exactly 256 octets in all.
  const std::string local(60, 'l');
  const std::string domain = long_domain(256 - 3 - local.size());
  const std::string at_limit = "<" + local + "@" + domain + ">";
  ASSERT_EQ(at_limit.size(), 256u);
  auto ok = parse_path(at_limit, PathKind::forward, false);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->domain, domain);

  const std::string over = "<" + local + "l@" + domain + ">";
  ASSERT_EQ(over.size(), 257u);
  expect_reply(parse_path(over, PathKind::forward, false), 501, "5.1.3",
               "Bad recipient address syntax: path longer than 256 octets");
  expect_reply(parse_path(over, PathKind::reverse, false), 501, "5.1.7",
               "Bad sender address syntax: path longer than 256 octets");
}

TEST(ParsePath, EveryPrefixIsRefusedCleanly) {
  const std::string full = "<@r.example:\"q\\\"x\"@[IPv6:2001:db8::1]>";
  ASSERT_TRUE(parse_path(full, PathKind::forward, false));
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = parse_path(std::string_view(full).substr(0, n), PathKind::forward, false);
    ASSERT_FALSE(r) << n;
    ASSERT_TRUE(r.error().reply.has_value());
    EXPECT_EQ(r.error().reply->code(), 501);
    EXPECT_EQ(r.error().reply->enhanced(), "5.1.3");
  }
}

TEST(AddressHelpers, Domains) {
  EXPECT_TRUE(valid_domain("mail.example.org", false));
  EXPECT_TRUE(valid_domain("xn--mnchen-3ya.example", false));
  EXPECT_FALSE(valid_domain("m\xc3\xbcnchen.example", false));
  EXPECT_TRUE(valid_domain("m\xc3\xbcnchen.example", true));
  EXPECT_FALSE(valid_domain("m\xfcnchen.example", true));  // Latin-1, not UTF-8
  EXPECT_FALSE(valid_domain("", false));
  EXPECT_FALSE(valid_domain("example.", false));
  EXPECT_TRUE(valid_address_literal("[192.0.2.1]"));
  EXPECT_TRUE(valid_address_literal("[IPv6:::1]"));
  EXPECT_FALSE(valid_address_literal("192.0.2.1"));
  EXPECT_FALSE(valid_address_literal("[tag:value]"));
}

TEST(AddressHelpers, Utf8) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xa7"));  // é € 📧
  EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));                    // U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));                       // overlong
  EXPECT_FALSE(valid_utf8("\xf0\x80\x80\xaf"));                   // overlong
  EXPECT_FALSE(valid_utf8("\xe2\x82"));                           // truncated
  EXPECT_FALSE(valid_utf8("\xff"));
}

}  // namespace
}  // namespace sluice::smtp
