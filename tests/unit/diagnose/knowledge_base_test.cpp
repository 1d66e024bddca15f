// Tests for diagnose/knowledge_base: reading replies in their many shapes, the data format and
// its errors, the ranking of entries, and the built-in knowledge on typical inputs. The golden
// outputs of real-world replies are in explain_golden_test.cpp.
#include "diagnose/knowledge_base.hpp"

#include <gtest/gtest.h>

namespace sluice::diagnose {
namespace {

TEST(KnowledgeBase, BuiltinDataParses) {
  // The compiled-in data must be valid: builtin() would otherwise answer "unknown" to all.
  auto kb = KnowledgeBase::parse(
#include "diagnose/knowledge.txt"
  );
  ASSERT_TRUE(kb) << kb.error().message();
  EXPECT_GE(kb->entries().size(), 100u);
  EXPECT_EQ(KnowledgeBase::builtin().entries().size(), kb->entries().size());
}

TEST(KnowledgeBase, EveryEntryIsComplete) {
  for (const Entry& e : KnowledgeBase::builtin().entries()) {
    EXPECT_FALSE(e.title.empty()) << e.id;
    EXPECT_FALSE(e.meaning.empty()) << e.id;
    EXPECT_FALSE(e.todo.empty()) << e.id;
    EXPECT_TRUE(e.meaning.back() == '.' || e.meaning.back() == ')') << e.id << ": meaning ends a sentence";
  }
}

TEST(KnowledgeBase, ParseErrorsNameTheLine) {
  auto r = KnowledgeBase::parse("[a]\ncategory: nonsense\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("line 2"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("nonsense"), std::string::npos);

  r = KnowledgeBase::parse("code: 550\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("before the first [id]"), std::string::npos);

  r = KnowledgeBase::parse("[a]\ncode: 55\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("bad code"), std::string::npos);

  r = KnowledgeBase::parse("[a]\ntitle: t\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("needs title, meaning, todo and retry"), std::string::npos);

  r = KnowledgeBase::parse("[a]\ntitle: t\nmeaning: m.\ntodo: x\nretry: no\n[a]\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("duplicate"), std::string::npos);

  r = KnowledgeBase::parse("[a]\nretry: sometimes\n");
  ASSERT_FALSE(r);
  r = KnowledgeBase::parse("[a]\nfoo: bar\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown key 'foo'"), std::string::npos);
  r = KnowledgeBase::parse("# only a comment\n");
  ASSERT_FALSE(r);
}

TEST(KnowledgeBase, ContinuationLinesJoinWithASpace) {
  auto kb = KnowledgeBase::parse(
      "[a]\ntitle: t\nmeaning: first\n  second.\ncause: c1\n  c2\ntodo: do\nretry: yes\ncategory: tls\n");
  ASSERT_TRUE(kb) << kb.error().message();
  const Entry& e = kb->entries().at(0);
  EXPECT_EQ(e.meaning, "first second.");
  ASSERT_EQ(e.causes.size(), 1u);
  EXPECT_EQ(e.causes[0], "c1 c2");
  EXPECT_EQ(e.category, Category::tls);
}

// A small base to check the ranking rules on their own.
const char* kRanking = R"(
[code-550]
code: 550
title: code
meaning: m.
todo: t
retry: no
[status-wild]
status: 5.7.*
title: wild
meaning: m.
todo: t
retry: no
[status-exact]
status: 5.7.1
title: exact
meaning: m.
todo: t
retry: no
[status-range]
status: 5.7.100-199
title: range
meaning: m.
todo: t
retry: no
[text-a]
text: Blocked Using
title: text-a
meaning: m.
todo: t
retry: by-code
[text-b]
text: blocked
title: text-b
meaning: m.
todo: t
retry: by-code
[provider]
status: 5.7.150
provider: Big
title: provider
meaning: m.
todo: t
retry: yes
)";

TEST(KnowledgeBase, MostSpecificEntryWins) {
  auto kb = KnowledgeBase::parse(kRanking);
  ASSERT_TRUE(kb) << kb.error().message();
  EXPECT_EQ(kb->explain("550 something").rule, "code-550");
  EXPECT_EQ(kb->explain("550 5.7.9 something").rule, "status-wild");
  EXPECT_EQ(kb->explain("550 5.7.1 something").rule, "status-exact");
  EXPECT_EQ(kb->explain("550 5.7.120 something").rule, "status-range");
  EXPECT_EQ(kb->explain("550 5.7.150 something").rule, "provider");
  // A text beats the status; among texts the earlier entry wins; case does not matter.
  EXPECT_EQ(kb->explain("550 5.7.1 client BLOCKED USING zen").rule, "text-a");
  EXPECT_EQ(kb->explain("550 5.7.1 client blocked").rule, "text-b");
  // by-code follows the reply class.
  EXPECT_EQ(kb->explain("450 blocked").retry, Retry::yes);
  EXPECT_EQ(kb->explain("550 blocked").retry, Retry::no);
  EXPECT_EQ(kb->explain("blocked").retry, Retry::maybe);
  // Nothing fits: said so, with no rule.
  Explanation none = kb->explain("451 4.3.0 x");
  EXPECT_EQ(none.rule, "");
  EXPECT_EQ(none.category, Category::unknown);
  EXPECT_FALSE(none.todo.empty());
}

TEST(KnowledgeBase, TextKnowledgeNeverExplainsASuccess) {
  auto kb = KnowledgeBase::parse(kRanking);
  ASSERT_TRUE(kb);
  EXPECT_EQ(kb->explain("250 2.0.0 Ok: nothing blocked").rule, "");
}

TEST(Explain, ReadsCodeStatusAndText) {
  Explanation e = explain("550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown");
  EXPECT_EQ(e.code, 550);
  EXPECT_EQ(e.status, "5.1.1");
  EXPECT_EQ(e.text, "<bob@example.net>: Recipient address rejected: User unknown");
  EXPECT_EQ(e.category, Category::invalid_recipient);
  EXPECT_EQ(e.retry, Retry::no);
}

TEST(Explain, ReadsMultiLineReplies) {
  Explanation e = explain(
      "550-5.7.26 This mail has been blocked because the sender is\r\n"
      "550-5.7.26 unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.\r\n"
      "550 5.7.26  Authentication results: dmarc=pass spf=fail dkim=none - gsmtp\r\n");
  EXPECT_EQ(e.code, 550);
  EXPECT_EQ(e.status, "5.7.26");
  EXPECT_EQ(e.provider, "Gmail");
  EXPECT_EQ(e.rule, "gmail-unauthenticated");
  EXPECT_EQ(e.text.find("5.7.26"), std::string::npos) << "continuation prefixes removed: " << e.text;
  EXPECT_EQ(e.text.find("550"), std::string::npos) << e.text;
}

TEST(Explain, ReadsThePostfixSaidForm) {
  Explanation e = explain(
      "host mx.example.net[192.0.2.7] said: 552 5.2.2 <carol@example.net>: Mailbox full (in reply to RCPT TO command)");
  EXPECT_EQ(e.code, 552);
  EXPECT_EQ(e.status, "5.2.2");
  EXPECT_EQ(e.category, Category::mailbox);
}

TEST(Explain, AnIpAddressIsNotAnEnhancedCode) {
  Explanation e = explain("421 Messages from 4.16.55.1 deferred");
  EXPECT_EQ(e.code, 421);
  EXPECT_EQ(e.status, "");
  e = explain("554 Service unavailable; Client host [5.1.1.9] blocked");
  EXPECT_EQ(e.status, "");
}

TEST(Explain, LocalErrorsWithoutACode) {
  Explanation e = explain("Connection refused");
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.category, Category::network);
  EXPECT_EQ(e.retry, Retry::yes);
  EXPECT_EQ(explain("certificate verify failed: self-signed certificate").rule, "tls-self-signed");
  EXPECT_EQ(explain("TLS required but mx.example.net did not offer STARTTLS").rule, "tls-no-starttls");
  EXPECT_EQ(explain("certificate name mismatch: mx.example.net not in *.example.org").rule, "tls-name-mismatch");
  EXPECT_EQ(explain("certificate verify failed: certificate has expired").rule, "tls-expired");
}

TEST(Explain, ClassifiesWhatOurOwnDeliveryReports) {
  // The texts delivery/outcome and the queue put in LastError.
  EXPECT_EQ(explain("451 4.4.1 connect to mx.example.net[192.0.2.1]:25: Connection refused").rule, "connect-refused");
  EXPECT_EQ(explain("451 4.4.1 connect to mx.example.net[192.0.2.1]:25: Connection timed out").rule, "connect-timeout");
  EXPECT_EQ(explain("451 4.4.2 lost connection with mx.example.net[192.0.2.1] while sending end of DATA").rule,
            "lost-connection");
  EXPECT_EQ(explain("451 4.4.3 DNS query failed: SERVFAIL for example.net").category, Category::dns);
  EXPECT_EQ(explain("550 5.1.10 example.net does not accept mail (null MX)").category, Category::bad_domain);
  EXPECT_EQ(explain("451 4.3.5 Cannot authenticate to the smart host: 535 5.7.8 bad credentials").rule,
            "smart-host-auth-local");
  EXPECT_EQ(explain("451 4.4.0 No route to example.org: no send connector covers it").category,
            Category::configuration);
}

TEST(Explain, MoreOfOurOwnTexts) {
  EXPECT_EQ(explain("250 2.0.0 Ok: queued as 0CHG5V1M2KT99").category, Category::success);
  EXPECT_EQ(explain("451 4.4.0 Connection closed before any message was sent").rule, "lost-connection");
  EXPECT_EQ(explain("452 4.2.2 Mailbox full: insufficient storage").category, Category::mailbox);
  EXPECT_EQ(explain("452 4.2.2 Mailbox full: insufficient storage").retry, Retry::yes);
  EXPECT_EQ(explain("550 5.4.6 mail forwarding loop for bob@example.test").rule, "mail-loop");
  EXPECT_EQ(explain("TLS handshake failed: sslv3 alert handshake failure").rule, "tls-handshake");
  EXPECT_EQ(explain("TLS handshake timed out").category, Category::tls);
  EXPECT_EQ(explain("451 4.4.4 No host of this next hop could be tried").retry, Retry::yes);
}

TEST(Explain, FromAReply) {
  Explanation e = explain(Reply(451, "4.7.1", "Greylisted, please try again in 300 seconds"));
  EXPECT_EQ(e.category, Category::greylisting);
  EXPECT_EQ(e.retry, Retry::yes);
  EXPECT_EQ(e.status, "4.7.1");
}

TEST(OneLineAdvice, CategoryActionAndRetry) {
  const std::string line = one_line_advice(Reply(550, "5.1.1", "User unknown"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("invalid recipient: ", 0), 0u) << line;
  EXPECT_NE(line.find("(retrying alone will not help)"), std::string::npos) << line;
  EXPECT_NE(one_line_advice("451 4.4.1 connect to a[192.0.2.1]:25: Connection refused").find("(retrying helps)"),
            std::string::npos);
}

TEST(AsksToSlowDown, RateLimitsAndReputationDeferrals) {
  EXPECT_TRUE(asks_to_slow_down(explain(
      "421-4.7.28 [192.0.2.10] Our system has detected an unusual rate of unsolicited mail originating from your IP address. - gsmtp")));
  EXPECT_TRUE(asks_to_slow_down(explain(
      "421 4.7.0 [TSS04] Messages from 192.0.2.10 temporarily deferred due to unexpected volume or user complaints")));
  EXPECT_TRUE(asks_to_slow_down(explain("451 4.7.500 Server busy. Please try again later from [192.0.2.10]. (S77719)")));
  EXPECT_TRUE(asks_to_slow_down(explain("421 Comcast RL0000002 Too many sessions are opened")));
  EXPECT_TRUE(asks_to_slow_down(explain("421 4.7.0 Too many connections from your IP")));
  // Not: one mailbox's limit, one transaction's recipients, a permanent block, other failures.
  EXPECT_FALSE(asks_to_slow_down(explain(
      "450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages")));
  EXPECT_FALSE(asks_to_slow_down(explain("452 4.5.3 Too many recipients")));
  EXPECT_FALSE(asks_to_slow_down(explain("550 5.7.606 Access denied, banned sending IP [192.0.2.10]")));
  EXPECT_FALSE(asks_to_slow_down(explain("451 4.7.1 Greylisted, try again later")));
  EXPECT_FALSE(asks_to_slow_down(explain("451 4.4.1 connect to a[192.0.2.1]:25: Connection refused")));
}

TEST(FormatExplanation, HasEverySection) {
  const std::string out = format_explanation(explain("550 5.7.1 Relay access denied"));
  for (const char* s : {"What:", "Category:", "Codes:", "550 5.7.1", "Meaning:", "Likely causes:", "What to do:",
                        "Retrying:", "Rule:         relay-denied"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
}  // namespace sluice::diagnose
