// Tests of smtp/server_session through its API: the Envelope and Message it hands over, the
// Received header, the events it reports, timeouts, shutdown, EOF, the input bound. The reply
// sequences of whole conversations are in the dialog files (dialog_test.cpp).
#include "smtp/server_session.hpp"

#include <gtest/gtest.h>

#include <string>

#include "session_fakes.hpp"

namespace sluice::smtp {
namespace {

using testing_fakes::Driver;
using testing_fakes::test_settings;

constexpr std::string_view kEnvelope =
    "EHLO client.example.test\r\n"
    "MAIL FROM:<alice@example.test> SIZE=100 RET=HDRS ENVID=abc+2Bd\r\n"
    "RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.test\r\n";

TEST(ServerSession, GreetsWithTheBanner) {
  Driver d(test_settings());
  EXPECT_EQ(d.all_output(), "220 mx.sluice.test ESMTP sluice\r\n");
  EXPECT_EQ(d.session().current_timeout(), std::chrono::seconds(300));
  EXPECT_FALSE(d.session().closed());
}

TEST(ServerSession, ConnectRefusalClosesWithoutGreeting) {
  Driver d(test_settings(), ClientInfo{"192.0.2.66", 1, "", 25, ""});
  EXPECT_EQ(d.all_output(), "554 5.7.1 Connection refused\r\n");
  EXPECT_TRUE(d.saw_close());
  EXPECT_TRUE(d.session().closed());
}

TEST(ServerSession, FillsTheEnvelopeAndPrependsReceived) {
  Driver d(test_settings(), ClientInfo{"192.0.2.1", 40000, "192.0.2.25", 25, "client.example.test"});
  d.send(kEnvelope);
  d.send("DATA\r\n");
  EXPECT_EQ(d.session().current_timeout(), std::chrono::seconds(180));
  const std::string out = d.send("Message-ID: <m1@example.test>\r\nSubject: hi\r\n\r\n..dot\r\n.\r\n");
  EXPECT_EQ(out, "250 2.0.0 Ok: queued as Q0001\r\n");
  ASSERT_EQ(d.committed().size(), 1u);
  const Message& m = d.committed()[0];
  const Envelope& e = m.envelope;
  EXPECT_EQ(e.queue_id, "Q0001");
  EXPECT_EQ(e.mail_from, "alice@example.test");
  ASSERT_EQ(e.recipients.size(), 1u);
  EXPECT_EQ(e.recipients[0].address, "bob@example.test");
  EXPECT_TRUE(e.recipients[0].notify.specified);
  EXPECT_TRUE(e.recipients[0].notify.success);
  EXPECT_TRUE(e.recipients[0].notify.failure);
  EXPECT_FALSE(e.recipients[0].notify.delay);
  EXPECT_EQ(e.recipients[0].orcpt, "rfc822;bob@example.test");
  EXPECT_EQ(e.ret, DsnRet::headers);
  EXPECT_EQ(e.envid, "abc+d");
  EXPECT_EQ(e.declared_size, 100u);
  EXPECT_EQ(e.connector, "Default Frontend");
  EXPECT_EQ(e.client_ip, "192.0.2.1");
  EXPECT_EQ(e.client_port, 40000);
  EXPECT_EQ(e.client_helo, "client.example.test");
  EXPECT_EQ(e.protocol, "ESMTP");
  EXPECT_EQ(e.message_id, "<m1@example.test>");
  EXPECT_EQ(e.received_at_us, 1751364123LL * 1000000);
  EXPECT_EQ(m.content,
            "Received: from client.example.test (client.example.test [192.0.2.1])\r\n"
            "\tby mx.sluice.test (sluice) with ESMTP id Q0001\r\n"
            "\tfor <bob@example.test>; Tue, 01 Jul 2025 10:02:03 +0000\r\n"
            "Message-ID: <m1@example.test>\r\nSubject: hi\r\n\r\n.dot\r\n");
  EXPECT_EQ(d.session().current_timeout(), std::chrono::seconds(300));
}

TEST(ServerSession, HeloGivesSmtpAndSeveralRecipientsNoForClause) {
  Driver d(test_settings());
  d.send("HELO client\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  d.send("x\r\n.\r\n");
  ASSERT_EQ(d.committed().size(), 1u);
  const Message& m = d.committed()[0];
  EXPECT_EQ(m.envelope.protocol, "SMTP");
  EXPECT_EQ(m.envelope.mail_from, "");
  EXPECT_EQ(m.envelope.recipients.size(), 2u);
  EXPECT_EQ(m.envelope.message_id, "");
  EXPECT_EQ(m.content.find(" for "), std::string::npos);
  EXPECT_NE(m.content.find("with SMTP id Q0001;\r\n\tTue, 01 Jul 2025"), std::string::npos);
}

TEST(ServerSession, Smtputf8GivesUtf8Smtp) {
  Driver d(test_settings());
  d.send("EHLO c\r\nMAIL FROM:<j\xc3\xb6rg@example.test> SMTPUTF8\r\nRCPT TO:<a@example.test>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(d.committed().size(), 1u);
  EXPECT_EQ(d.committed()[0].envelope.protocol, "UTF8SMTP");
  EXPECT_TRUE(d.committed()[0].envelope.smtputf8);
  EXPECT_EQ(d.committed()[0].envelope.mail_from, "j\xc3\xb6rg@example.test");
}

TEST(ServerSession, BdatMessageIsBinaryAndComplete) {
  Driver d(test_settings());
  d.send("EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
  EXPECT_EQ(d.send(std::string("BDAT 5\r\nab\n\r\0", 13)), "250 2.0.0 5 octets received\r\n");
  EXPECT_EQ(d.send("BDAT 3 LAST\r\n.\r\n"), "250 2.0.0 Ok: queued as Q0001\r\n");
  ASSERT_EQ(d.committed().size(), 1u);
  const std::string& c = d.committed()[0].content;
  EXPECT_EQ(c.substr(c.size() - 8), std::string("ab\n\r\0.\r\n", 8));
}

TEST(ServerSession, CommitFailureGivesItsReplyAndTheSessionGoesOn) {
  Driver d(test_settings());
  d.send(kEnvelope);
  d.fail_next_commit();
  EXPECT_EQ(d.send("DATA\r\nx\r\n.\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n452 4.3.1 Insufficient system storage\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n"), "250 2.1.0 Ok\r\n");  // transaction was reset
}

TEST(ServerSession, GenericCommitFailureIs451) {
  testing_fakes::FakePolicy policy;
  testing_fakes::RecordingObserver observer;
  ManualClock clock(SystemTime{});
  ServerSession s(test_settings(), policy, observer, clock, ClientInfo{"192.0.2.1", 1, "", 25, ""});
  s.feed("EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(s.poll(), SessionAction::submit);
  EXPECT_EQ(s.poll(), SessionAction::submit);  // until on_submitted, whatever is buffered
  (void)s.take_message();
  s.take_output();
  s.on_submitted(fail(ErrorClass::io, "rocksdb write failed"));
  EXPECT_EQ(s.take_output(), "451 4.3.0 Error: message not saved, try again later\r\n");
  EXPECT_EQ(s.poll(), SessionAction::need_input);
  EXPECT_EQ(s.take_output(), "250 2.0.0 Ok\r\n");  // the pipelined NOOP was kept
}

TEST(ServerSession, TimeoutCloses) {
  Driver d(test_settings());
  d.send("EHLO c\r\n");
  d.session().on_timeout();
  EXPECT_EQ(d.event_output(), "421 4.4.2 mx.sluice.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(d.session().closed());
  EXPECT_EQ(d.session().poll(), SessionAction::close);
}

TEST(ServerSession, EofDropsTheOpenTransaction) {
  Driver d(test_settings());
  d.send(kEnvelope);
  d.send("DATA\r\nSubject: half\r\n");
  d.session().on_eof();
  EXPECT_EQ(d.event_output(), "");
  EXPECT_TRUE(d.session().closed());
  EXPECT_EQ(d.session().poll(), SessionAction::close);
  EXPECT_TRUE(d.committed().empty());
}

TEST(ServerSession, ShutdownAnswers421) {
  Driver d(test_settings());
  d.session().on_shutdown();
  EXPECT_EQ(d.event_output(), "421 4.3.2 mx.sluice.test Service shutting down\r\n");
  EXPECT_TRUE(d.session().closed());
}

TEST(ServerSession, ShutdownDuringCommitAnswersTheMessageFirst) {
  testing_fakes::FakePolicy policy;
  testing_fakes::RecordingObserver observer;
  ManualClock clock(SystemTime{});
  ServerSession s(test_settings(), policy, observer, clock, ClientInfo{"192.0.2.1", 1, "", 25, ""});
  s.feed("EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(s.poll(), SessionAction::submit);
  s.take_output();
  Message m = s.take_message();
  s.on_shutdown();
  EXPECT_EQ(s.take_output(), "");
  EXPECT_FALSE(s.closed());
  s.on_submitted(ok());
  EXPECT_EQ(s.take_output(), "250 2.0.0 Ok: queued as Q0001\r\n421 4.3.2 mx.sluice.test Service shutting down\r\n");
  EXPECT_TRUE(s.closed());
  EXPECT_EQ(s.poll(), SessionAction::close);
}

TEST(ServerSession, ObserverSeesCommandsRepliesAndStateChanges) {
  Driver d(test_settings());
  d.send("EHLO c\r\nAUTH PLAIN dGVzdAB0ZXN0AHNlY3JldA==\r\n");
  d.send(kEnvelope.substr(kEnvelope.find("MAIL")));
  d.send("DATA\r\nx\r\n.\r\nQUIT\r\n");
  const auto& obs = d.observer();
  ASSERT_GE(obs.commands.size(), 3u);
  EXPECT_EQ(obs.commands[0], "EHLO c");
  EXPECT_EQ(obs.commands[1], "AUTH PLAIN ****");  // credentials never reach the log
  EXPECT_EQ(obs.commands.back(), "QUIT");
  EXPECT_EQ(obs.replies.front().code(), 220);
  EXPECT_EQ(obs.replies.back().code(), 221);
  const std::vector<std::string> want = {"ready|session state", "data|session state",
                                         "ready|session state", "committing|session state",
                                         "ready|session state", "queued as Q0001|message accepted",
                                         "closed|session state"};
  EXPECT_EQ(obs.infos, want);
  for (const std::string& c : obs.commands) EXPECT_EQ(c.find("Subject"), std::string::npos);
}

TEST(ServerSession, InputWithoutLineEndStaysBounded) {
  Driver d(test_settings());
  std::string junk(4096, 'x');
  for (int i = 0; i < 256; ++i) EXPECT_EQ(d.send(junk), "");  // 1 MiB, discarded as it comes
  EXPECT_EQ(d.send("\r\nNOOP\r\n"), "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(ServerSession, QuitIgnoresWhatFollows) {
  Driver d(test_settings());
  EXPECT_EQ(d.send("QUIT\r\nNOOP\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(d.saw_close());
  d.session().feed("NOOP\r\n");
  EXPECT_EQ(d.session().poll(), SessionAction::close);
  EXPECT_EQ(d.session().take_output(), "");
}

}  // namespace
}  // namespace sluice::smtp
