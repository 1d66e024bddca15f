// Tests for queue/dsn.cpp: NOTIFY rules (RFC 3461 §4.1, §5.2.2), no notice to the null
// sender, the multipart/report structure taken apart part by part, every machine-readable
// field (RFC 3464 §2.2, §2.3), RET=HDRS/FULL and the size cap, delay and success notices,
// SMTPUTF8 (RFC 6533), CRLF line endings throughout, and reply text that tries to inject
// header lines.
#include "queue/dsn.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;

const SystemTime kNow = SystemTime(std::chrono::seconds(1'700'000'000));  // Tue, 14 Nov 2023 22:13:20

smtp::Envelope envelope() {
  smtp::Envelope e;
  e.queue_id = "0CHG5V1M2KT01";
  e.mail_from = "alice@example.test";
  e.recipients.push_back(smtp::Recipient{"bob@example.net", {}, "rfc822;Bob@Example.NET"});
  e.recipients.push_back(smtp::Recipient{"carol@example.org", {}, ""});
  e.envid = "ENV-42";
  e.message_id = "<m1@example.test>";
  e.received_at_us = std::chrono::duration_cast<std::chrono::microseconds>((kNow - 1h).time_since_epoch()).count();
  return e;
}

const std::string kContent =
    "From: alice@example.test\r\nTo: bob@example.net\r\nSubject: lunch\r\n\r\nSee you at noon.\r\n";

DsnRecipient failed_bob() {
  DsnRecipient r;
  r.index = 0;
  r.action = DsnAction::failed;
  r.reply = "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown";
  r.remote_mta = "mx1.example.net";
  r.last_attempt = kNow - 1min;
  return r;
}

DsnRequest request(const smtp::Envelope& e, const std::string& content, std::vector<DsnRecipient> rcpts) {
  DsnRequest req;
  req.original = &e;
  req.content = &content;
  req.recipients = std::move(rcpts);
  req.reporting_mta = "mx.example.test";
  req.queue_id = "0CHG5V1M2KT99";
  req.now = kNow;
  return req;
}

struct Part {
  std::map<std::string, std::string> headers;  // name lower case
  std::string body;
};

struct Parsed {
  std::map<std::string, std::string> headers;
  std::vector<Part> parts;
};

// Header fields of a section ending at the first empty line, unfolded.
std::map<std::string, std::string> parse_headers(const std::string& text, size_t& pos) {
  std::map<std::string, std::string> out;
  std::string last;
  while (pos < text.size()) {
    size_t eol = text.find("\r\n", pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = std::min(text.size(), eol + 2);
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      out[last] += " " + line.substr(1);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    last = line.substr(0, colon);
    for (auto& c : last) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value[0] == ' ') value.erase(0, 1);
    out[last] = value;
  }
  return out;
}

Parsed parse(const std::string& text) {
  Parsed p;
  size_t pos = 0;
  p.headers = parse_headers(text, pos);
  const std::string& ct = p.headers["content-type"];
  auto b = ct.find("boundary=\"");
  EXPECT_NE(b, std::string::npos) << ct;
  if (b == std::string::npos) return p;
  const std::string boundary = ct.substr(b + 10, ct.find('"', b + 10) - b - 10);
  const std::string delim = "\r\n--" + boundary;
  size_t start = text.find("--" + boundary + "\r\n", pos);
  EXPECT_NE(start, std::string::npos);
  if (start == std::string::npos) return p;
  start += boundary.size() + 4;
  for (int guard = 0; guard < 10; ++guard) {
    size_t end = text.find(delim, start);
    EXPECT_NE(end, std::string::npos);
    if (end == std::string::npos) break;
    Part part;
    size_t ppos = start;
    std::string section = text.substr(start, end - start);
    ppos = 0;
    part.headers = parse_headers(section, ppos);
    part.body = section.substr(ppos);
    p.parts.push_back(std::move(part));
    size_t after = end + delim.size();
    if (text.compare(after, 2, "--") == 0) {
      EXPECT_EQ(text.substr(after), "--\r\n");
      break;
    }
    EXPECT_EQ(text.compare(after, 2, "\r\n"), 0);
    start = after + 2;
  }
  return p;
}

// The report part as groups of fields (RFC 3464 §2.1: per-message, then per-recipient).
std::vector<std::map<std::string, std::string>> groups(const std::string& report) {
  std::vector<std::map<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < report.size()) {
    auto g = parse_headers(report, pos);
    if (!g.empty()) out.push_back(std::move(g));
  }
  return out;
}

void expect_crlf_only(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') {
      ASSERT_TRUE(i > 0 && s[i - 1] == '\r') << "bare LF at " << i;
    }
    if (s[i] == '\r') {
      ASSERT_TRUE(i + 1 < s.size() && s[i + 1] == '\n') << "bare CR at " << i;
    }
  }
}

TEST(DsnNotify, DefaultIsFailureAndDelay) {
  smtp::DsnNotify none;
  EXPECT_TRUE(notify_wants(none, DsnAction::failed));
  EXPECT_TRUE(notify_wants(none, DsnAction::delayed));
  EXPECT_FALSE(notify_wants(none, DsnAction::delivered));
  EXPECT_FALSE(notify_wants(none, DsnAction::relayed));
}

TEST(DsnNotify, NeverAndExplicitLists) {
  smtp::DsnNotify never{true, true, false, false, false};
  for (auto a : {DsnAction::failed, DsnAction::delayed, DsnAction::delivered, DsnAction::relayed, DsnAction::expanded})
    EXPECT_FALSE(notify_wants(never, a)) << to_string(a);
  smtp::DsnNotify success{true, false, true, false, false};
  EXPECT_FALSE(notify_wants(success, DsnAction::failed));
  EXPECT_FALSE(notify_wants(success, DsnAction::delayed));
  EXPECT_TRUE(notify_wants(success, DsnAction::delivered));
  EXPECT_TRUE(notify_wants(success, DsnAction::relayed));
  EXPECT_TRUE(notify_wants(success, DsnAction::expanded));
  smtp::DsnNotify failure{true, false, false, true, false};
  EXPECT_TRUE(notify_wants(failure, DsnAction::failed));
  EXPECT_FALSE(notify_wants(failure, DsnAction::delayed));
  smtp::DsnNotify delay{true, false, false, false, true};
  EXPECT_TRUE(notify_wants(delay, DsnAction::delayed));
  EXPECT_FALSE(notify_wants(delay, DsnAction::failed));
}

TEST(DsnEnhancedCode, FromReplies) {
  EXPECT_EQ(enhanced_code_of("550 5.1.1 User unknown"), "5.1.1");
  EXPECT_EQ(enhanced_code_of("550-5.7.26 blocked"), "5.7.26");
  EXPECT_EQ(enhanced_code_of("451 4.4.0"), "4.4.0");
  EXPECT_EQ(enhanced_code_of("554 5.1.10 null MX"), "5.1.10");
  EXPECT_EQ(enhanced_code_of("550 User unknown"), "");
  EXPECT_EQ(enhanced_code_of("550 5.1 x"), "");
  EXPECT_EQ(enhanced_code_of("550 5.1.1x"), "");
  EXPECT_EQ(enhanced_code_of("Connection refused"), "");
  EXPECT_EQ(enhanced_code_of(""), "");
}

TEST(Dsn, NeverToTheNullSender) {
  smtp::Envelope e = envelope();
  e.mail_from = "";
  EXPECT_FALSE(build_dsn(request(e, kContent, {failed_bob()})).has_value());
}

TEST(Dsn, NoneWhenNotifyNeverOrNotAsked) {
  smtp::Envelope e = envelope();
  e.recipients[0].notify = smtp::DsnNotify{true, true, false, false, false};
  EXPECT_FALSE(build_dsn(request(e, kContent, {failed_bob()})).has_value());
  e.recipients[0].notify = smtp::DsnNotify{true, false, true, false, false};  // SUCCESS only
  EXPECT_FALSE(build_dsn(request(e, kContent, {failed_bob()})).has_value());
}

TEST(Dsn, FailureNoticeFieldByField) {
  smtp::Envelope e = envelope();
  auto m = build_dsn(request(e, kContent, {failed_bob()}));
  ASSERT_TRUE(m.has_value());

  // Envelope: from <> to the sender, a message of its own.
  EXPECT_EQ(m->envelope.queue_id, "0CHG5V1M2KT99");
  EXPECT_EQ(m->envelope.mail_from, "");
  ASSERT_EQ(m->envelope.recipients.size(), 1u);
  EXPECT_EQ(m->envelope.recipients[0].address, "alice@example.test");
  EXPECT_EQ(m->envelope.body, smtp::BodyType::seven_bit);
  EXPECT_EQ(m->envelope.message_id, "<0CHG5V1M2KT99@mx.example.test>");
  EXPECT_GT(m->envelope.received_at_us, 0);
  expect_crlf_only(m->content);

  Parsed p = parse(m->content);
  EXPECT_EQ(p.headers["from"], "Mail Delivery System <MAILER-DAEMON@mx.example.test>");
  EXPECT_EQ(p.headers["to"], "<alice@example.test>");
  EXPECT_EQ(p.headers["subject"], "Undelivered Mail Returned to Sender");
  EXPECT_EQ(p.headers["date"], "Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(p.headers["message-id"], "<0CHG5V1M2KT99@mx.example.test>");
  EXPECT_EQ(p.headers["references"], "<m1@example.test>");
  EXPECT_EQ(p.headers["auto-submitted"], "auto-replied");
  EXPECT_EQ(p.headers["mime-version"], "1.0");
  EXPECT_EQ(p.headers["content-type"].rfind("multipart/report; report-type=delivery-status;", 0), 0u);
  ASSERT_EQ(p.parts.size(), 3u);

  // Part 1: plain words, the remote's reply verbatim, and advice.
  EXPECT_EQ(p.parts[0].headers["content-type"], "text/plain; charset=utf-8");
  const std::string& human = p.parts[0].body;
  EXPECT_NE(human.find("could not be delivered to 1 recipient"), std::string::npos) << human;
  EXPECT_NE(human.find("<bob@example.net>:"), std::string::npos) << human;
  EXPECT_NE(human.find("The server mx1.example.net said: 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown"),
            std::string::npos)
      << human;
  EXPECT_NE(human.find("mailbox does not exist"), std::string::npos) << human;
  EXPECT_NE(human.find("What to do: Check the address"), std::string::npos) << human;
  EXPECT_EQ(human.find("carol"), std::string::npos) << "only the recipients reported on";

  // Part 2: the report.
  EXPECT_EQ(p.parts[1].headers["content-type"], "message/delivery-status");
  auto g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u) << p.parts[1].body;
  EXPECT_EQ(g[0]["reporting-mta"], "dns; mx.example.test");
  EXPECT_EQ(g[0]["original-envelope-id"], "ENV-42");
  EXPECT_EQ(g[0]["arrival-date"], "Tue, 14 Nov 2023 21:13:20 +0000");
  EXPECT_EQ(g[0]["x-sluice-queue-id"], "0CHG5V1M2KT01");
  EXPECT_EQ(g[1]["final-recipient"], "rfc822; bob@example.net");
  EXPECT_EQ(g[1]["original-recipient"], "rfc822; Bob@Example.NET");
  EXPECT_EQ(g[1]["action"], "failed");
  EXPECT_EQ(g[1]["status"], "5.1.1");
  EXPECT_EQ(g[1]["remote-mta"], "dns; mx1.example.net");
  EXPECT_EQ(g[1]["diagnostic-code"], "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown");
  EXPECT_EQ(g[1]["last-attempt-date"], "Tue, 14 Nov 2023 22:12:20 +0000");
  EXPECT_EQ(g[1].count("will-retry-until"), 0u);

  // Part 3: RET not given, a failure: the whole message.
  EXPECT_EQ(p.parts[2].headers["content-type"], "message/rfc822");
  EXPECT_EQ(p.parts[2].body, kContent);
}

TEST(Dsn, RetHdrsReturnsTheHeaderOnly) {
  smtp::Envelope e = envelope();
  e.ret = smtp::DsnRet::headers;
  auto m = build_dsn(request(e, kContent, {failed_bob()}));
  ASSERT_TRUE(m.has_value());
  Parsed p = parse(m->content);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[2].headers["content-type"], "text/rfc822-headers");
  EXPECT_EQ(p.parts[2].body, "From: alice@example.test\r\nTo: bob@example.net\r\nSubject: lunch\r\n\r\n");
  EXPECT_EQ(m->content.find("See you at noon."), std::string::npos);
}

TEST(Dsn, RetFullReturnsTheMessage) {
  smtp::Envelope e = envelope();
  e.ret = smtp::DsnRet::full;
  auto m = build_dsn(request(e, kContent, {failed_bob()}));
  ASSERT_TRUE(m.has_value());
  Parsed p = parse(m->content);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[2].headers["content-type"], "message/rfc822");
  EXPECT_EQ(p.parts[2].body, kContent);
}

TEST(Dsn, AMessageTooLargeToReturnComesBackAsItsHeader) {
  smtp::Envelope e = envelope();
  e.ret = smtp::DsnRet::full;
  const std::string big = "Subject: big\r\n\r\n" + std::string(kMaxReturnedContent, 'x') + "\r\n";
  auto m = build_dsn(request(e, big, {failed_bob()}));
  ASSERT_TRUE(m.has_value());
  Parsed p = parse(m->content);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[2].headers["content-type"], "text/rfc822-headers");
  EXPECT_EQ(p.parts[2].body, "Subject: big\r\n\r\n");
  EXPECT_NE(p.parts[0].body.find("too large to return"), std::string::npos);
}

TEST(Dsn, DelayNoticeSaysItKeepsTrying) {
  smtp::Envelope e = envelope();
  DsnRecipient r;
  r.index = 1;
  r.action = DsnAction::delayed;
  r.reply = "451 4.4.1 connect to mx.example.org[192.0.2.9]:25: Connection refused";
  r.last_attempt = kNow - 5min;
  r.will_retry_until = kNow + 24h;
  auto m = build_dsn(request(e, kContent, {r}));
  ASSERT_TRUE(m.has_value());
  Parsed p = parse(m->content);
  EXPECT_EQ(p.headers["subject"], "Delayed Mail (still being retried)");
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_NE(p.parts[0].body.find("has not been delivered yet to 1 recipient"), std::string::npos);
  EXPECT_NE(p.parts[0].body.find("until Wed, 15 Nov 2023 22:13:20 +0000"), std::string::npos) << p.parts[0].body;
  EXPECT_NE(p.parts[0].body.find("The mail system said: 451 4.4.1"), std::string::npos) << p.parts[0].body;
  auto g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1]["final-recipient"], "rfc822; carol@example.org");
  EXPECT_EQ(g[1].count("original-recipient"), 0u);
  EXPECT_EQ(g[1]["action"], "delayed");
  EXPECT_EQ(g[1]["status"], "4.4.1");
  EXPECT_EQ(g[1]["will-retry-until"], "Wed, 15 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(g[1].count("remote-mta"), 0u);
  // A delay notice carries the header only, whatever RET says (RET is about failures).
  EXPECT_EQ(p.parts[2].headers["content-type"], "text/rfc822-headers");
}

TEST(Dsn, SuccessNoticeOnlyForRecipientsThatAskedForIt) {
  smtp::Envelope e = envelope();
  e.recipients[0].notify = smtp::DsnNotify{true, false, true, true, false};
  DsnRecipient bob;
  bob.index = 0;
  bob.action = DsnAction::relayed;
  bob.reply = "250 2.0.0 Ok: queued as ABC";
  bob.remote_mta = "mx1.example.net";
  DsnRecipient carol = bob;
  carol.index = 1;  // default NOTIFY: no success notice
  auto m = build_dsn(request(e, kContent, {bob, carol}));
  ASSERT_TRUE(m.has_value());
  Parsed p = parse(m->content);
  EXPECT_EQ(p.headers["subject"], "Successful Mail Delivery Report");
  auto g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1]["action"], "relayed");
  EXPECT_EQ(g[1]["status"], "2.0.0");
  EXPECT_EQ(m->content.find("carol@example.org"), std::string::npos);
}

TEST(Dsn, OneNoticeForSeveralRecipientsTakesTheGravestSubject) {
  smtp::Envelope e = envelope();
  DsnRecipient carol;
  carol.index = 1;
  carol.action = DsnAction::delayed;
  auto m = build_dsn(request(e, kContent, {carol, failed_bob()}));
  ASSERT_TRUE(m.has_value());
  Parsed p = parse(m->content);
  EXPECT_EQ(p.headers["subject"], "Undelivered Mail Returned to Sender");
  auto g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[1]["action"], "delayed");
  EXPECT_EQ(g[1]["status"], "4.0.0");  // no reply yet: the generic code
  EXPECT_EQ(g[1].count("diagnostic-code"), 0u);
  EXPECT_EQ(g[2]["action"], "failed");
}

TEST(Dsn, ExpiryUsesTheGivenStatusAndExplanation) {
  smtp::Envelope e = envelope();
  DsnRecipient r = failed_bob();
  r.reply = "451 4.4.1 connect to mx1.example.net[192.0.2.1]:25: Connection timed out";
  r.status = "4.4.7";
  r.explanation = "The message stayed in the queue for 5 days without being delivered.";
  auto m = build_dsn(request(e, kContent, {r}));
  ASSERT_TRUE(m.has_value());
  Parsed p = parse(m->content);
  auto g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1]["action"], "failed");
  EXPECT_EQ(g[1]["status"], "4.4.7");
  EXPECT_EQ(g[1]["diagnostic-code"], "smtp; 451 4.4.1 connect to mx1.example.net[192.0.2.1]:25: Connection timed out");
  EXPECT_NE(p.parts[0].body.find("What happened: The message stayed in the queue for 5 days"), std::string::npos);
}

TEST(Dsn, PlainWordsComeFromTheKnowledgeBase) {
  // A receiver's own words are recognised (diagnose/knowledge.txt), not only the status.
  smtp::Envelope e = envelope();
  DsnRecipient r = failed_bob();
  r.reply = "550 5.7.26 This mail has been blocked because the sender is unauthenticated. "
            "Gmail requires all senders to authenticate with either SPF or DKIM. - gsmtp";
  auto m = build_dsn(request(e, kContent, {r}));
  ASSERT_TRUE(m.has_value());
  const std::string human = parse(m->content).parts[0].body;
  EXPECT_NE(human.find("What happened: Gmail refused the message because neither SPF nor DKIM"), std::string::npos)
      << human;
  EXPECT_NE(human.find("What to do: Publish an SPF record"), std::string::npos) << human;
}

TEST(Dsn, ReplyTextCannotInjectFields) {
  smtp::Envelope e = envelope();
  DsnRecipient r = failed_bob();
  r.reply = "550 5.7.1 no\r\nAction: delivered\r\nX-Evil: 1";
  r.remote_mta = "mx\r\nStatus: 2.0.0";
  auto m = build_dsn(request(e, kContent, {r}));
  ASSERT_TRUE(m.has_value());
  expect_crlf_only(m->content);
  Parsed p = parse(m->content);
  auto g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1]["action"], "failed");
  EXPECT_EQ(g[1]["status"], "5.7.1");
  EXPECT_EQ(g[1].count("x-evil"), 0u);
}

TEST(Dsn, Smtputf8UsesGlobalTypesAndUtf8Addresses) {
  smtp::Envelope e = envelope();
  e.smtputf8 = true;
  e.mail_from = "j\xc3\xb6rg@example.test";
  e.recipients[0].address = "b\xc3\xb8" "b@example.net";
  e.recipients[0].orcpt = "";
  const std::string content = "Subject: \xc3\xa9t\xc3\xa9\r\n\r\nBody\r\n";
  auto m = build_dsn(request(e, content, {failed_bob()}));
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->envelope.smtputf8);
  EXPECT_EQ(m->envelope.body, smtp::BodyType::eight_bit_mime);
  Parsed p = parse(m->content);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[1].headers["content-type"], "message/global-delivery-status");
  EXPECT_EQ(p.parts[2].headers["content-type"], "message/global");
  EXPECT_EQ(p.parts[2].headers["content-transfer-encoding"], "8bit");
  auto g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1]["final-recipient"], "utf-8; b\xc3\xb8" "b@example.net");
}

TEST(Dsn, BoundaryNeverOccursInTheReturnedMessage) {
  smtp::Envelope e = envelope();
  const std::string tricky = "Subject: x\r\n\r\n--=_sluice_dsn_0CHG5V1M2KT99\r\n--=_sluice_dsn_0CHG5V1M2KT99_0\r\n";
  auto m = build_dsn(request(e, tricky, {failed_bob()}));
  ASSERT_TRUE(m.has_value());
  Parsed p = parse(m->content);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[2].body, tricky);
}

}  // namespace
}  // namespace sluice::queue
