// Tests for smtp/command: verb table, parse_command tables, limits at the boundary, BDAT.
#include "smtp/command.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::smtp {
namespace {

struct Ok {
  std::string line;
  Verb verb;
  std::string argument;
};

TEST(ParseCommand, ValidLines) {
  const Ok cases[] = {
      {"HELO client.example", Verb::helo, "client.example"},
      {"ehlo client.example", Verb::ehlo, "client.example"},
      {"EhLo [192.0.2.1]", Verb::ehlo, "[192.0.2.1]"},
      {"MAIL FROM:<a@b.example> SIZE=10", Verb::mail, "FROM:<a@b.example> SIZE=10"},
      {"mail FROM:<>", Verb::mail, "FROM:<>"},
      {"RCPT TO:<x@y.example>   ", Verb::rcpt, "TO:<x@y.example>"},
      {"RCPT  TO:<x@y.example>", Verb::rcpt, "TO:<x@y.example>"},
      {"DATA", Verb::data, ""},
      {"DATA   ", Verb::data, ""},
      {"BDAT 100 LAST", Verb::bdat, "100 LAST"},
      {"RSET", Verb::rset, ""},
      {"NOOP", Verb::noop, ""},
      {"NOOP anything at all", Verb::noop, "anything at all"},
      {"QUIT", Verb::quit, ""},
      {"quit", Verb::quit, ""},
      {"VRFY postmaster", Verb::vrfy, "postmaster"},
      {"EXPN list", Verb::expn, "list"},
      {"HELP", Verb::help, ""},
      {"HELP MAIL", Verb::help, "MAIL"},
      {"STARTTLS", Verb::starttls, ""},
      {"AUTH PLAIN AGJvYgBzZWNyZXQ=", Verb::auth, "PLAIN AGJvYgBzZWNyZXQ="},
      {"HELO\tclient", Verb::unknown, ""},  // TAB is allowed in a line but does not separate the verb
      {"TURN", Verb::unknown, ""},
      {"XCLIENT ADDR=1.2.3.4", Verb::unknown, "ADDR=1.2.3.4"},
      {"", Verb::unknown, ""},
      {"MAILFROM:<a@b>", Verb::unknown, ""},
      {"GET / HTTP/1.1", Verb::unknown, "/ HTTP/1.1"},
      {"NOOP caf\xc3\xa9", Verb::noop, "caf\xc3\xa9"},  // 8-bit text is the argument's business
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = parse_command(c.line);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->verb, c.verb);
    EXPECT_EQ(r->argument, c.argument);
  }
}

struct Bad {
  std::string line;
  int code;
  std::string enhanced;
};

TEST(ParseCommand, InvalidLines) {
  const Bad cases[] = {
      {std::string("NOOP a\0b", 8), 500, "5.5.2"},
      {"MAIL FROM:<a@b>\r", 500, "5.5.2"},
      {"MAIL FROM:<a@b>\nRCPT TO:<c@d>", 500, "5.5.2"},
      {"NOOP \x7f", 500, "5.5.2"},
      {"NOOP \x1b[31m", 500, "5.5.2"},
      {"XYZZY \x01", 500, "5.5.2"},  // control chars are refused before the verb is looked at
      {"DATA x", 501, "5.5.4"},
      {"RSET now", 501, "5.5.4"},
      {"QUIT bye", 501, "5.5.4"},
      {"STARTTLS please", 501, "5.5.4"},
      {"HELO", 501, "5.5.4"},
      {"EHLO   ", 501, "5.5.4"},
      {"MAIL", 501, "5.5.4"},
      {"RCPT", 501, "5.5.4"},
      {"BDAT", 501, "5.5.4"},
      {"VRFY", 501, "5.5.4"},
      {"EXPN", 501, "5.5.4"},
      {"AUTH", 501, "5.5.4"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = parse_command(c.line);
    ASSERT_FALSE(r);
    ASSERT_TRUE(r.error().reply.has_value());
    EXPECT_EQ(r.error().klass, ErrorClass::protocol);
    EXPECT_EQ(r.error().reply->code(), c.code);
    EXPECT_EQ(r.error().reply->enhanced(), c.enhanced);
  }
}

TEST(ParseCommand, LineLimitAtBoundary) {
  // RFC 5321 §4.5.3.1.4: 512 octets with CRLF, so 510 without.
  std::string line = "NOOP ";
  line.append(kMaxCommandLine - line.size(), 'x');
  ASSERT_EQ(line.size(), 510u);
  auto at = parse_command(line);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->argument.size(), 505u);

  line.push_back('x');
  auto over = parse_command(line);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().reply->code(), 500);
  EXPECT_EQ(over.error().reply->enhanced(), "5.5.2");
  EXPECT_EQ(over.error().reply->lines().front(), "Line too long");
}

TEST(ParseCommand, EveryPrefixOfAValidLineParsesOrFailsWithAReply) {
  const std::string line = "MAIL FROM:<\"a b\"@[IPv6:2001:db8::1]> SIZE=12 BODY=8BITMIME";
  for (size_t n = 0; n <= line.size(); ++n) {
    auto r = parse_command(std::string_view(line).substr(0, n));
    if (r) {
      // The verb is known only once all four letters are there and nothing else is glued on.
      EXPECT_EQ(r->verb == Verb::mail, n >= 4 && (n == 4 || line[4] == ' ')) << n;
    } else {
      ASSERT_TRUE(r.error().reply.has_value()) << n;
      EXPECT_EQ(r.error().reply->code(), 501) << n;  // only "MAIL" without argument fails
      EXPECT_LE(n, 5u);
    }
  }
}

TEST(VerbTable, FlagsFollowTheRfcs) {
  EXPECT_EQ(verb_info(Verb::mail).name, "MAIL");
  EXPECT_EQ(verb_info(Verb::starttls).name, "STARTTLS");
  // RFC 2920 §3.1 group enders.
  for (Verb v : {Verb::ehlo, Verb::data, Verb::vrfy, Verb::expn, Verb::quit, Verb::noop, Verb::starttls, Verb::auth})
    EXPECT_TRUE(verb_info(v).ends_pipeline_group) << verb_info(v).name;
  for (Verb v : {Verb::helo, Verb::mail, Verb::rcpt, Verb::rset, Verb::bdat, Verb::help})
    EXPECT_FALSE(verb_info(v).ends_pipeline_group) << verb_info(v).name;
  // Before STARTTLS on a connector that requires it.
  for (Verb v : {Verb::ehlo, Verb::helo, Verb::starttls, Verb::noop, Verb::rset, Verb::quit, Verb::help})
    EXPECT_TRUE(verb_info(v).allowed_before_tls) << verb_info(v).name;
  for (Verb v : {Verb::mail, Verb::rcpt, Verb::data, Verb::bdat, Verb::vrfy, Verb::expn, Verb::auth, Verb::unknown})
    EXPECT_FALSE(verb_info(v).allowed_before_tls) << verb_info(v).name;
  for (Verb v : {Verb::helo, Verb::ehlo, Verb::mail, Verb::rcpt, Verb::bdat, Verb::vrfy, Verb::expn, Verb::auth}) {
    EXPECT_TRUE(verb_info(v).takes_argument) << verb_info(v).name;
    EXPECT_EQ(verb_info(v).argument, ArgumentRule::required) << verb_info(v).name;
  }
  for (Verb v : {Verb::data, Verb::rset, Verb::quit, Verb::starttls}) {
    EXPECT_FALSE(verb_info(v).takes_argument) << verb_info(v).name;
    EXPECT_EQ(verb_info(v).argument, ArgumentRule::none) << verb_info(v).name;
  }
  EXPECT_EQ(verb_info(Verb::noop).argument, ArgumentRule::optional);
  EXPECT_EQ(verb_info(Verb::help).argument, ArgumentRule::optional);
  // Every verb's table entry describes that verb, and every name parses back to it.
  for (int i = 0; i <= static_cast<int>(Verb::unknown); ++i) {
    const auto v = static_cast<Verb>(i);
    EXPECT_EQ(verb_info(v).verb, v);
    if (v == Verb::unknown) continue;
    std::string line(verb_info(v).name);
    if (verb_info(v).argument == ArgumentRule::required) line += " x";
    auto r = parse_command(line);
    ASSERT_TRUE(r) << line;
    EXPECT_EQ(r->verb, v);
  }
}

TEST(ParseBdat, Arguments) {
  auto a = parse_bdat("100");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (BdatArgs{100, false}));
  auto b = parse_bdat("0 last");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, (BdatArgs{0, true}));
  auto big = parse_bdat("18446744073709551615 LAST");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->size, 18446744073709551615ull);

  for (std::string_view bad : {"", "x", "-1", "+5", "10 FIRST", "10 LAST x", "10  LAST", "1e3",
                               "18446744073709551616", "123456789012345678901"}) {
    SCOPED_TRACE(bad);
    auto r = parse_bdat(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reply->code(), 501);
    EXPECT_EQ(r.error().reply->enhanced(), "5.5.4");
  }
}

}  // namespace
}  // namespace sluice::smtp
