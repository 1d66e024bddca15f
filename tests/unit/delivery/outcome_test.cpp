// Tests for delivery/outcome.cpp: every stage's scope and permanence, 421 anywhere, the 552
// to RCPT rule, soft STARTTLS/AUTH failures, connect errors and lost connections with their
// Postfix-style replies, DNS and routing failures, and the plain-words explanations.
#include "delivery/outcome.hpp"

#include <gtest/gtest.h>

namespace sluice::delivery {
namespace {

bool contains(const std::string& s, std::string_view needle) { return s.find(needle) != std::string::npos; }

TEST(OutcomeTest, RcptRepliesConcernOnlyThatRecipient) {
  const Outcome perm = classify_reply(Reply(550, "5.1.1", "User unknown"), "RCPT TO");
  EXPECT_TRUE(perm.permanent);
  EXPECT_EQ(perm.scope, Scope::recipient);
  EXPECT_EQ(perm.reply.text(), "550 5.1.1 User unknown");  // verbatim
  EXPECT_FALSE(perm.delivered());
  EXPECT_TRUE(contains(perm.explanation, "refused the recipient (RCPT TO)"));
  EXPECT_TRUE(contains(perm.explanation, "the mailbox does not exist"));
  EXPECT_TRUE(contains(perm.explanation, "permanent"));

  const Outcome temp = classify_reply(Reply(450, "4.2.1", "Try later"), "RCPT TO");
  EXPECT_FALSE(temp.permanent);
  EXPECT_EQ(temp.scope, Scope::recipient);
  EXPECT_TRUE(contains(temp.explanation, "temporary"));
}

TEST(OutcomeTest, TooManyRecipients552ToRcptIsTemporary) {
  // RFC 5321 §4.5.3.1.10: clients treat 552 to RCPT as 452.
  const Outcome o = classify_reply(Reply(552, "5.5.3", "Too many recipients"), "RCPT TO");
  EXPECT_FALSE(o.permanent);
  EXPECT_EQ(o.scope, Scope::recipient);
  EXPECT_EQ(o.reply.code(), 552);
  EXPECT_TRUE(contains(o.explanation, "too many recipients"));
  // At end of DATA, 552 keeps its plain meaning: the message is too big.
  const Outcome big = classify_reply(Reply(552, "5.3.4", "Message too big"), "end of DATA");
  EXPECT_TRUE(big.permanent);
  EXPECT_EQ(big.scope, Scope::message);
  EXPECT_TRUE(contains(big.explanation, "larger than the remote server accepts"));
}

TEST(OutcomeTest, MailDataAndEndOfDataConcernTheMessage) {
  for (const char* stage : {"MAIL FROM", "DATA", "end of DATA"}) {
    const Outcome perm = classify_reply(Reply(554, "5.7.1", "Rejected"), stage);
    EXPECT_TRUE(perm.permanent) << stage;
    EXPECT_EQ(perm.scope, Scope::message) << stage;
    const Outcome temp = classify_reply(Reply(451, "4.3.0", "Local error"), stage);
    EXPECT_FALSE(temp.permanent) << stage;
    EXPECT_EQ(temp.scope, Scope::message) << stage;
  }
  EXPECT_TRUE(contains(classify_reply(Reply(554, "5.7.1", "x"), "end of DATA").explanation, "after receiving it"));
  EXPECT_TRUE(contains(classify_reply(Reply(553, "5.1.7", "x"), "MAIL FROM").explanation, "refused the sender"));
}

TEST(OutcomeTest, StagesAreCaseInsensitiveAndUnknownOnesCountAsMessage) {
  EXPECT_EQ(classify_reply(Reply(550, "5.1.1", "x"), "rcpt to").scope, Scope::recipient);
  EXPECT_EQ(classify_reply(Reply(550, "5.1.1", "x"), "RCPT").scope, Scope::recipient);
  EXPECT_EQ(classify_reply(Reply(550, "5.0.0", "x"), "BDAT").scope, Scope::message);
  const Outcome unknown = classify_reply(Reply(550, "5.0.0", "x"), "XFOO");
  EXPECT_EQ(unknown.scope, Scope::message);
  EXPECT_TRUE(unknown.permanent);
}

TEST(OutcomeTest, A421AnywhereEndsTheConnectionTemporarily) {
  for (const char* stage : {"greeting", "EHLO", "MAIL FROM", "RCPT TO", "DATA", "end of DATA"}) {
    const Outcome o = classify_reply(Reply(421, "4.7.0", "Too many connections"), stage);
    EXPECT_FALSE(o.permanent) << stage;
    EXPECT_EQ(o.scope, Scope::connection) << stage;
    EXPECT_TRUE(contains(o.explanation, "closed the session")) << stage;
    EXPECT_TRUE(contains(o.explanation, "next host")) << stage;
  }
}

TEST(OutcomeTest, GreetingAndEhloFailuresTryTheNextHost) {
  const Outcome temp = classify_reply(Reply(450, "", "Busy"), "greeting");
  EXPECT_FALSE(temp.permanent);
  EXPECT_EQ(temp.scope, Scope::connection);
  // A 5xx greeting is permanent for that host: the next MX is tried, the last one bounces.
  const Outcome perm = classify_reply(Reply(554, "5.7.1", "Blocked"), "greeting");
  EXPECT_TRUE(perm.permanent);
  EXPECT_EQ(perm.scope, Scope::connection);
  EXPECT_TRUE(contains(perm.explanation, "tries the next host"));
  const Outcome ehlo = classify_reply(Reply(501, "5.5.2", "Bad HELO"), "HELO");
  EXPECT_TRUE(ehlo.permanent);
  EXPECT_EQ(ehlo.scope, Scope::connection);
}

TEST(OutcomeTest, StarttlsAndAuthFailuresNeverBounce) {
  const Outcome auth = classify_reply(Reply(535, "5.7.8", "Authentication credentials invalid"), "AUTH");
  EXPECT_FALSE(auth.permanent);
  EXPECT_EQ(auth.scope, Scope::connection);
  EXPECT_TRUE(contains(auth.explanation, "refused our login"));
  EXPECT_TRUE(contains(auth.explanation, "check the connector's auth settings"));
  const Outcome tls = classify_reply(Reply(554, "5.7.3", "TLS not available"), "STARTTLS");
  EXPECT_FALSE(tls.permanent);
  EXPECT_EQ(tls.scope, Scope::connection);
}

TEST(OutcomeTest, PositiveRepliesAreDeliveries) {
  const Outcome o = classify_reply(Reply(250, "2.0.0", "Ok: queued as 123"), "end of DATA");
  EXPECT_TRUE(o.delivered());
  EXPECT_FALSE(o.permanent);
  EXPECT_EQ(o.reply.text(), "250 2.0.0 Ok: queued as 123");
  EXPECT_TRUE(contains(o.explanation, "accepted the message"));
}

TEST(OutcomeTest, AnInvalidReplyCodeGivesUpOnTheHost) {
  const Outcome o = classify_reply(Reply(999, "", "garbage"), "RCPT TO");
  EXPECT_FALSE(o.permanent);
  EXPECT_EQ(o.scope, Scope::connection);
  EXPECT_TRUE(contains(o.explanation, "not valid SMTP"));
}

TEST(OutcomeTest, ConnectErrorsArePostfixStyleAndExplainTheCause) {
  const Outcome refused = classify_connect_error("Connection refused", "mx.example.net", "192.0.2.1", 25);
  EXPECT_FALSE(refused.permanent);
  EXPECT_EQ(refused.scope, Scope::connection);
  EXPECT_EQ(refused.reply.text(), "451 4.4.1 connect to mx.example.net[192.0.2.1]:25: Connection refused");
  EXPECT_TRUE(contains(refused.explanation, "nothing accepts connections"));

  const Outcome timeout = classify_connect_error("Connection timed out", "mx.example.net", "192.0.2.1", 25);
  EXPECT_EQ(timeout.reply.enhanced(), "4.4.1");
  EXPECT_TRUE(contains(timeout.explanation, "block outbound port 25"));

  const Outcome v6 = classify_connect_error("Network is unreachable", "mx.example.net", "2001:db8::1", 25);
  EXPECT_EQ(v6.reply.text(), "451 4.4.1 connect to mx.example.net[2001:db8::1]:25: Network is unreachable");
  EXPECT_TRUE(contains(v6.explanation, "no network route"));

  EXPECT_TRUE(contains(classify_connect_error("Something odd", "h", "192.0.2.1", 2525).explanation, "could not be made"));
}

TEST(OutcomeTest, LostConnectionIs442AndWarnsOfDuplicatesAfterData) {
  const Outcome o = classify_lost_connection("end of DATA", "mx.example.net", "192.0.2.1");
  EXPECT_FALSE(o.permanent);
  EXPECT_EQ(o.scope, Scope::connection);
  EXPECT_EQ(o.reply.text(), "451 4.4.2 lost connection with mx.example.net[192.0.2.1] while sending end of DATA");
  EXPECT_TRUE(contains(o.explanation, "delivered twice"));
  const Outcome rcpt = classify_lost_connection("RCPT TO", "mx.example.net", "192.0.2.1");
  EXPECT_FALSE(contains(rcpt.explanation, "twice"));
  EXPECT_EQ(classify_lost_connection("", "h", "192.0.2.1").reply.text(), "451 4.4.2 lost connection with h[192.0.2.1] while the session");
}

TEST(OutcomeTest, DnsFailuresConcernTheWholeQueue) {
  const Outcome nx = classify_dns(dns::Status::nxdomain, "NXDOMAIN for nosuch.example");
  EXPECT_TRUE(nx.permanent);
  EXPECT_EQ(nx.scope, Scope::queue);
  EXPECT_EQ(nx.reply.enhanced(), "5.1.2");
  EXPECT_TRUE(contains(nx.explanation, "domain does not exist"));

  const Outcome nodata = classify_dns(dns::Status::nodata, "no A record for example.net");
  EXPECT_TRUE(nodata.permanent);
  EXPECT_EQ(nodata.reply.enhanced(), "5.1.2");

  for (auto s : {dns::Status::servfail, dns::Status::timeout, dns::Status::error}) {
    const Outcome o = classify_dns(s, "SERVFAIL for mx.example.net");
    EXPECT_FALSE(o.permanent);
    EXPECT_EQ(o.scope, Scope::queue);
    EXPECT_EQ(o.reply.text(), "451 4.4.3 DNS query failed: SERVFAIL for mx.example.net");
    EXPECT_TRUE(contains(o.explanation, "DNS lookup failed"));
    EXPECT_TRUE(contains(o.explanation, "whole queue waits"));
  }
}

TEST(OutcomeTest, RouteErrorsKeepTheirReplyAndWords) {
  Reply null_mx(556, "5.1.10", "Recipient address rejected: example.net does not accept mail (null MX)");
  const Outcome o = classify_route_error(Error{ErrorClass::permanent, null_mx.text(), null_mx});
  EXPECT_TRUE(o.permanent);
  EXPECT_EQ(o.scope, Scope::queue);
  EXPECT_EQ(o.reply, null_mx);
  EXPECT_TRUE(contains(o.explanation, "null MX"));
  EXPECT_TRUE(contains(o.explanation, "returned to its sender"));

  // Unreachable: routing's own words explain it.
  Reply none(451, "4.4.0", "No route to example.net: no send connector is configured");
  const Outcome u = classify_route_error(Error{ErrorClass::transient, "no send connector is configured", none});
  EXPECT_FALSE(u.permanent);
  EXPECT_TRUE(contains(u.explanation, "No send connector is configured"));

  // An Error without a reply still gets one of the right class.
  const Outcome bare = classify_route_error(Error{ErrorClass::permanent, "broken", std::nullopt});
  EXPECT_EQ(bare.reply.text(), "550 5.4.4 broken");
  EXPECT_EQ(classify_route_error(Error{ErrorClass::transient, "later", std::nullopt}).reply.text(), "451 4.4.0 later");
}

TEST(OutcomeTest, ReplyMeaningByEnhancedCodeThenSubjectThenBasicCode) {
  EXPECT_EQ(reply_meaning(Reply(552, "5.2.2", "x")), "the mailbox is full");
  EXPECT_EQ(reply_meaning(Reply(452, "4.2.2", "x")), "the mailbox is full");
  EXPECT_EQ(reply_meaning(Reply(556, "5.1.10", "x")), "the recipient's domain publishes a null MX: it accepts no mail at all");
  EXPECT_EQ(reply_meaning(Reply(550, "5.7.99", "x")), reply_meaning(Reply(550, "5.7.0", "x")));  // unknown detail
  EXPECT_EQ(reply_meaning(Reply(421, "", "x")), "the remote server is closing the connection (busy, rate limiting, or shutting down)");
  EXPECT_EQ(reply_meaning(Reply(599, "", "x")), "");
  EXPECT_STREQ(to_string(Scope::queue), "queue");
}

}  // namespace
}  // namespace sluice::delivery
