// Tests for smtp/esmtp_params: MAIL FROM / RCPT TO arguments, every parameter valid and
// invalid with the exact reply, duplicates, xtext.
#include "smtp/esmtp_params.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::smtp {
namespace {

template <typename T>
void expect_reply(const Result<T>& r, int code, const std::string& enhanced, const std::string& text = "") {
  ASSERT_FALSE(r);
  ASSERT_TRUE(r.error().reply.has_value()) << r.error().message();
  EXPECT_EQ(r.error().reply->code(), code) << r.error().message();
  EXPECT_EQ(r.error().reply->enhanced(), enhanced) << r.error().message();
  if (!text.empty()) {
    EXPECT_EQ(r.error().reply->lines().front(), text);
  }
}

TEST(MailFrom, PathAndEveryParameter) {
  auto r = parse_mail_from(
      "FROM:<bob@example.org> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ314159+2Bx AUTH=alice+40example.org");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->path.address(), "bob@example.org");
  EXPECT_EQ(r->size, 1000u);
  EXPECT_TRUE(r->size_given);
  EXPECT_EQ(r->body, BodyType::eight_bit_mime);
  EXPECT_TRUE(r->body_given);
  EXPECT_EQ(r->ret, DsnRet::headers);
  EXPECT_EQ(r->envid, "QQ314159+x");
  EXPECT_EQ(r->auth, "alice@example.org");
  EXPECT_FALSE(r->smtputf8);
}

TEST(MailFrom, DefaultsAndLenientForms) {
  auto plain = parse_mail_from("FROM:<>");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->path.null());
  EXPECT_EQ(plain->size, 0u);
  EXPECT_FALSE(plain->size_given);
  EXPECT_EQ(plain->body, BodyType::seven_bit);
  EXPECT_FALSE(plain->body_given);
  EXPECT_EQ(plain->ret, DsnRet::unspecified);
  EXPECT_TRUE(plain->envid.empty());
  EXPECT_TRUE(plain->auth.empty());

  for (std::string_view s : {"FROM: <a@b.example>", "from:<a@b.example>", "From:<a@b.example>  ",
                             "FROM:<a@b.example>  size=5", "FROM:<a@b.example> SIZE=5 "}) {
    auto r = parse_mail_from(s);
    ASSERT_TRUE(r) << s << ": " << r.error().message();
    EXPECT_EQ(r->path.address(), "a@b.example");
  }

  auto lower = parse_mail_from("FROM:<a@b.example> body=binarymime ret=full smtputf8 auth=<>");
  ASSERT_TRUE(lower) << lower.error().message();
  EXPECT_EQ(lower->body, BodyType::binary_mime);
  EXPECT_EQ(lower->ret, DsnRet::full);
  EXPECT_TRUE(lower->smtputf8);
  EXPECT_EQ(lower->auth, "<>");

  auto seven = parse_mail_from("FROM:<a@b.example> BODY=7BIT SIZE=0");
  ASSERT_TRUE(seven);
  EXPECT_EQ(seven->body, BodyType::seven_bit);
  EXPECT_TRUE(seven->body_given);
  EXPECT_TRUE(seven->size_given);

  // A '>' inside a quoted local part does not end the path.
  auto quoted = parse_mail_from("FROM:<\"a>b\"@x.example> SIZE=1");
  ASSERT_TRUE(quoted) << quoted.error().message();
  EXPECT_EQ(quoted->path.local_part, "\"a>b\"");
  EXPECT_EQ(quoted->size, 1u);
}

TEST(MailFrom, SmtpUtf8ParameterAllowsUtf8Path) {
  const std::string utf8 = "FROM:<j\xc3\xb6rg@m\xc3\xbcnchen.example>";
  expect_reply(parse_mail_from(utf8), 553, "5.6.7");
  auto ok = parse_mail_from(utf8 + " SMTPUTF8");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_TRUE(ok->smtputf8);
  EXPECT_TRUE(ok->path.utf8);
  // The order of parameters does not matter.
  auto first = parse_mail_from(utf8 + " SMTPUTF8 BODY=8BITMIME");
  ASSERT_TRUE(first);
  expect_reply(parse_mail_from("FROM:<j\xf6rg@example.org> SMTPUTF8"), 501, "5.6.7");
}

struct Bad {
  std::string arg;
  int code;
  std::string enhanced;
  std::string text;
};

TEST(MailFrom, Errors) {
  const std::string usage = "Syntax: MAIL FROM:<address>";
  const Bad cases[] = {
      {"", 501, "5.5.4", usage},
      {"FROM", 501, "5.5.4", usage},
      {"FROM:", 501, "5.5.4", usage},
      {"TO:<a@b.example>", 501, "5.5.4", usage},
      {"FROM <a@b.example>", 501, "5.5.4", usage},
      {"FROM:a@b.example", 501, "5.5.4", usage},
      {"FROM:<a@b.example", 501, "5.5.4", usage},
      {"FROM:<a@b.example>SIZE=1", 501, "5.5.4", usage},
      {"FROM:<\"a@b.example>", 501, "5.5.4", usage},
      {"FROM:<a@b.example.>", 501, "5.1.7", "Bad sender address syntax: domain ends with a dot"},
      {"FROM:<a@b.example> FOO=bar", 555, "5.5.4", "Unsupported parameter FOO"},
      {"FROM:<a@b.example> x-y", 555, "5.5.4", "Unsupported parameter X-Y"},
      {"FROM:<a@b.example> NOTIFY=NEVER", 555, "5.5.4", "Unsupported parameter NOTIFY"},
      {"FROM:<a@b.example> =x", 501, "5.5.4", "Bad parameter syntax"},
      {"FROM:<a@b.example> -X", 501, "5.5.4", "Bad parameter syntax"},
      {"FROM:<a@b.example> SI_ZE=1", 501, "5.5.4", "Bad parameter syntax"},
      {"FROM:<a@b.example> SIZE", 501, "5.5.4", "Bad SIZE value"},
      {"FROM:<a@b.example> SIZE=", 501, "5.5.4", "Bad SIZE value"},
      {"FROM:<a@b.example> SIZE=-1", 501, "5.5.4", "Bad SIZE value"},
      {"FROM:<a@b.example> SIZE=+1", 501, "5.5.4", "Bad SIZE value"},
      {"FROM:<a@b.example> SIZE=1k", 501, "5.5.4", "Bad SIZE value"},
      {"FROM:<a@b.example> SIZE=0x10", 501, "5.5.4", "Bad SIZE value"},
      {"FROM:<a@b.example> SIZE=18446744073709551616", 501, "5.5.4", "SIZE value too large"},
      {"FROM:<a@b.example> SIZE=1 SIZE=1", 501, "5.5.4", "Duplicate parameter SIZE"},
      {"FROM:<a@b.example> size=1 SIZE=2", 501, "5.5.4", "Duplicate parameter SIZE"},
      {"FROM:<a@b.example> BODY=8BIT", 501, "5.5.4", "Bad BODY value"},
      {"FROM:<a@b.example> BODY", 501, "5.5.4", "Bad BODY value"},
      {"FROM:<a@b.example> BODY=7BIT BODY=8BITMIME", 501, "5.5.4", "Duplicate parameter BODY"},
      {"FROM:<a@b.example> SMTPUTF8=yes", 501, "5.5.4", "SMTPUTF8 takes no value"},
      {"FROM:<a@b.example> SMTPUTF8 SMTPUTF8", 501, "5.5.4", "Duplicate parameter SMTPUTF8"},
      {"FROM:<a@b.example> RET=ALL", 501, "5.5.4", "Bad RET value"},
      {"FROM:<a@b.example> RET=FULL RET=HDRS", 501, "5.5.4", "Duplicate parameter RET"},
      {"FROM:<a@b.example> ENVID=a+2", 501, "5.5.4", "Bad ENVID value"},
      {"FROM:<a@b.example> ENVID=a+zz", 501, "5.5.4", "Bad ENVID value"},
      {"FROM:<a@b.example> ENVID=a+00b", 501, "5.5.4", "Bad ENVID value"},  // decodes to a NUL
      {"FROM:<a@b.example> ENVID=a=b", 501, "5.5.4", "Bad ENVID value"},
      {"FROM:<a@b.example> ENVID=" + std::string(101, 'e'), 501, "5.5.4", "ENVID value too long"},
      {"FROM:<a@b.example> ENVID=\xc3\xa9", 501, "5.5.4", "Bad ENVID value"},
      {"FROM:<a@b.example> AUTH=", 501, "5.5.4", "Bad AUTH value"},
      {"FROM:<a@b.example> AUTH=a+0Db", 501, "5.5.4", "Bad AUTH value"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arg);
    auto r = parse_mail_from(c.arg);
    expect_reply(r, c.code, c.enhanced, c.text);
  }
}

TEST(MailFrom, EnvidLimitAtBoundary) {
  auto ok = parse_mail_from("FROM:<a@b.example> ENVID=" + std::string(100, 'e'));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->envid.size(), 100u);
}

TEST(MailFrom, SizeAtMaximum) {
  auto r = parse_mail_from("FROM:<a@b.example> SIZE=18446744073709551615");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size, 18446744073709551615ull);
}

TEST(RcptTo, PathAndParameters) {
  auto r = parse_rcpt_to("TO:<carol@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;carol+40example.net", false);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->path.address(), "carol@example.net");
  EXPECT_TRUE(r->notify.specified);
  EXPECT_TRUE(r->notify.success);
  EXPECT_TRUE(r->notify.failure);
  EXPECT_FALSE(r->notify.delay);
  EXPECT_FALSE(r->notify.never);
  EXPECT_EQ(r->orcpt, "rfc822;carol@example.net");

  auto plain = parse_rcpt_to("to: <Postmaster>", false);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_TRUE(plain->path.postmaster_only);
  EXPECT_FALSE(plain->notify.specified);
  EXPECT_TRUE(plain->orcpt.empty());

  auto never = parse_rcpt_to("TO:<a@b.example> notify=never", false);
  ASSERT_TRUE(never);
  EXPECT_TRUE(never->notify.never);
  EXPECT_TRUE(never->notify.specified);

  auto delay = parse_rcpt_to("TO:<a@b.example> NOTIFY=delay,Success,FAILURE", false);
  ASSERT_TRUE(delay);
  EXPECT_TRUE(delay->notify.delay && delay->notify.success && delay->notify.failure);
}

TEST(RcptTo, Utf8FollowsTheTransaction) {
  const std::string utf8 = "TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example>";
  expect_reply(parse_rcpt_to(utf8, false), 553, "5.6.7");
  auto ok = parse_rcpt_to(utf8 + " ORCPT=utf-8;\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example", true);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_TRUE(ok->path.utf8);
  EXPECT_EQ(ok->orcpt, "utf-8;\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example");
  // Without SMTPUTF8 a non-ASCII ORCPT value is bad syntax.
  expect_reply(parse_rcpt_to("TO:<a@b.example> ORCPT=rfc822;\xc3\xa9@b.example", false), 501, "5.5.4",
               "Bad ORCPT value");
}

TEST(RcptTo, Errors) {
  const std::string usage = "Syntax: RCPT TO:<address>";
  const Bad cases[] = {
      {"", 501, "5.5.4", usage},
      {"TO", 501, "5.5.4", usage},
      {"FROM:<a@b.example>", 501, "5.5.4", usage},
      {"TO:a@b.example", 501, "5.5.4", usage},
      {"TO:<a@b.example> <c@d.example>", 501, "5.5.4", "Bad parameter syntax"},
      {"TO:<>", 501, "5.1.3", "Bad recipient address syntax: empty recipient address"},
      {"TO:<@ours.example,other.example:u@x.example>", 501, "5.1.3", "Bad recipient address syntax: bad source route"},
      {"TO:<a@b.example> SIZE=10", 555, "5.5.4", "Unsupported parameter SIZE"},
      {"TO:<a@b.example> XFORWARD", 555, "5.5.4", "Unsupported parameter XFORWARD"},
      {"TO:<a@b.example> NOTIFY", 501, "5.5.4", "Bad NOTIFY value"},
      {"TO:<a@b.example> NOTIFY=", 501, "5.5.4", "Bad NOTIFY value"},
      {"TO:<a@b.example> NOTIFY=ALWAYS", 501, "5.5.4", "Bad NOTIFY value"},
      {"TO:<a@b.example> NOTIFY=SUCCESS,", 501, "5.5.4", "Bad NOTIFY value"},
      {"TO:<a@b.example> NOTIFY=,SUCCESS", 501, "5.5.4", "Bad NOTIFY value"},
      {"TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", 501, "5.5.4", "Bad NOTIFY value"},
      {"TO:<a@b.example> NOTIFY=NEVER,FAILURE", 501, "5.5.4", "NOTIFY=NEVER cannot be combined"},
      {"TO:<a@b.example> NOTIFY=DELAY,NEVER", 501, "5.5.4", "NOTIFY=NEVER cannot be combined"},
      {"TO:<a@b.example> NOTIFY=NEVER NOTIFY=NEVER", 501, "5.5.4", "Duplicate parameter NOTIFY"},
      {"TO:<a@b.example> ORCPT=bob@b.example", 501, "5.5.4", "Bad ORCPT value"},
      {"TO:<a@b.example> ORCPT=;bob@b.example", 501, "5.5.4", "Bad ORCPT value"},
      {"TO:<a@b.example> ORCPT=rfc822;", 501, "5.5.4", "Bad ORCPT value"},
      {"TO:<a@b.example> ORCPT=rfc822;a+4", 501, "5.5.4", "Bad ORCPT value"},
      {"TO:<a@b.example> ORCPT=rfc822;a+0Ab", 501, "5.5.4", "Bad ORCPT value"},
      {"TO:<a@b.example> ORCPT=rfc822;" + std::string(494, 'o'), 501, "5.5.4", "ORCPT value too long"},
      {"TO:<a@b.example> ORCPT=rfc822;a ORCPT=rfc822;b", 501, "5.5.4", "Duplicate parameter ORCPT"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arg);
    expect_reply(parse_rcpt_to(c.arg, false), c.code, c.enhanced, c.text);
  }
}

TEST(RcptTo, OrcptLimitAtBoundary) {
  // "rfc822;" is 7 octets: 493 more make exactly 500.
  auto ok = parse_rcpt_to("TO:<a@b.example> ORCPT=rfc822;" + std::string(493, 'o'), false);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->orcpt.size(), 500u);
}

TEST(Xtext, DecodeAndEncode) {
  auto d = xtext_decode("a+2Bb+3Dc+20d");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, "a+b=c d");
  auto lower = xtext_decode("+2b");
  ASSERT_TRUE(lower);
  EXPECT_EQ(*lower, "+");
  auto empty = xtext_decode("");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "");
  for (std::string_view bad : {"+", "+2", "a+G0", "a=b", "a b", "\xc3\xa9", "tab\t"}) {
    EXPECT_FALSE(xtext_decode(bad)) << bad;
  }
  EXPECT_EQ(xtext_encode("a+b=c d\xc3\xa9~!"), "a+2Bb+3Dc+20d+C3+A9~!");
  // Round trip over every octet.
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  auto back = xtext_decode(xtext_encode(all));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, all);
}

}  // namespace
}  // namespace sluice::smtp
