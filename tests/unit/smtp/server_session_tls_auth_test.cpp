// Tests of server_session's STARTTLS and AUTH through its API: the CVE-2011-0411 injection
// with the whole input in one read, the actions a driver sees (start_tls, verify_password),
// credentials kept out of the observer, the logon failure tarpit across sessions, shutdown
// and EOF during a password check, the Received and Envelope of an ESMTPSA message. The reply
// sequences of whole conversations are in the dialog files.
#include <gtest/gtest.h>

#include <string>

#include "session_fakes.hpp"
#include "smtp/server_session.hpp"

namespace sluice::smtp {
namespace {

using testing_fakes::Driver;
using testing_fakes::FakeAuthenticator;
using testing_fakes::FakePolicy;
using testing_fakes::RecordingObserver;
using testing_fakes::test_settings;

constexpr std::string_view kAlicePlain = "AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=";  // \0alice@example.test\0secret
constexpr std::string_view kAliceWrong = "AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==";  // \0alice@example.test\0wrong

SessionSettings tls_settings() {
  SessionSettings s = test_settings();
  s.tls_available = true;
  return s;
}

TEST(ServerSessionTls, InjectedCommandsAfterStarttlsAreDiscarded) {
  Driver d(tls_settings());
  d.send("EHLO c.example.test\r\n");
  // One read holds STARTTLS and the injected plaintext commands (CVE-2011-0411).
  const std::string out = d.send("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.test>\r\n");
  EXPECT_EQ(out, "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(d.saw_start_tls());
  EXPECT_EQ(d.session().poll(), SessionAction::start_tls);  // until the driver reports
  d.session().on_tls_started(TlsInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256", 128});
  EXPECT_TRUE(d.session().secure());
  EXPECT_EQ(d.run(), "");  // nothing left to execute
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  const auto& cmds = d.observer().commands;
  EXPECT_EQ(std::count(cmds.begin(), cmds.end(), "RSET"), 0);
  const auto& infos = d.observer().infos;
  EXPECT_NE(std::find(infos.begin(), infos.end(), "37 octets after STARTTLS discarded|STARTTLS"), infos.end());
  EXPECT_NE(std::find(infos.begin(), infos.end(),
                      "TLS protocol TLSv1.3 negotiated with cipher TLS_AES_128_GCM_SHA256|TLS negotiation succeeded"),
            infos.end());
}

TEST(ServerSessionTls, BytesFedBeforeTheHandshakeAreDropped) {
  Driver d(tls_settings());
  d.send("STARTTLS\r\n");
  d.send("RSET\r\n");  // a driver that read once more anyway: still never executed
  d.session().on_tls_started(TlsInfo{"TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", 128});
  EXPECT_EQ(d.run(), "");
  EXPECT_EQ(d.send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(ServerSessionTls, HandshakeFailureClosesSilently) {
  Driver d(tls_settings());
  d.send("STARTTLS\r\n");
  d.session().on_tls_failed();
  EXPECT_TRUE(d.session().closed());
  EXPECT_EQ(d.session().poll(), SessionAction::close);
  EXPECT_EQ(d.session().take_output(), "");
}

TEST(ServerSessionAuth, PasswordCheckIsAnActionWithTheCredentials) {
  SessionSettings s = test_settings();
  s.allow_plaintext_auth = true;
  FakePolicy policy;
  RecordingObserver observer;
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  FakeAuthenticator auth;
  ServerSession session(s, policy, observer, clock, ClientInfo{"192.0.2.1", 1, "", 25, ""}, &auth);
  session.feed("EHLO c.example.test\r\nAUTH PLAIN " + std::string(kAlicePlain) + "\r\nNOOP\r\n");
  EXPECT_EQ(session.poll(), SessionAction::verify_password);
  EXPECT_EQ(session.poll(), SessionAction::verify_password);  // until the verdict comes
  const PasswordCheck c = session.take_password_check();
  EXPECT_EQ(c.username, "alice@example.test");
  EXPECT_EQ(c.password, "secret");
  session.on_password_verified(true);
  EXPECT_EQ(session.auth_user(), "alice@example.test");
  EXPECT_EQ(session.poll(), SessionAction::need_input);
  const std::string out = session.take_output();
  EXPECT_NE(out.find("235 2.7.0 Authentication successful\r\n250 2.0.0 Ok\r\n"), std::string::npos) << out;
  EXPECT_NE(std::find(observer.infos.begin(), observer.infos.end(), "alice@example.test|authenticated"),
            observer.infos.end());
}

TEST(ServerSessionAuth, CredentialsNeverReachTheObserver) {
  SessionSettings s = test_settings();
  s.allow_plaintext_auth = true;
  Driver d(s, ClientInfo{"192.0.2.1", 1, "", 25, ""}, true);
  d.send("EHLO c.example.test\r\n");
  d.send("AUTH PLAIN " + std::string(kAlicePlain) + "\r\n");
  d.send("AUTH LOGIN\r\n");  // 503: already authenticated, a clean line
  RecordingObserver& o = d.observer();
  Driver d2(s, ClientInfo{"192.0.2.2", 1, "", 25, ""}, true);
  d2.send("EHLO c.example.test\r\nAUTH LOGIN\r\nYWxpY2VAZXhhbXBsZS50ZXN0\r\nc2VjcmV0\r\n");
  EXPECT_EQ(d2.session().auth_user(), "alice@example.test");
  for (const RecordingObserver* obs : {&o, &d2.observer()}) {
    for (const std::string& c : obs->commands) {
      EXPECT_EQ(c.find("AGFsaWNl"), std::string::npos) << c;
      EXPECT_EQ(c.find("c2VjcmV0"), std::string::npos) << c;
      EXPECT_EQ(c.find("YWxpY2VA"), std::string::npos) << c;
    }
    for (const Reply& r : obs->replies) {
      if (r.code() == 334) {
        EXPECT_EQ(r.text(), "334 ****");
      }
    }
  }
  EXPECT_NE(std::find(o.commands.begin(), o.commands.end(), "AUTH PLAIN ****"), o.commands.end());
  EXPECT_EQ(std::count(d2.observer().commands.begin(), d2.observer().commands.end(), "****"), 2);
}

TEST(ServerSessionAuth, FailureLimitRefusesTheAddressInLaterSessions) {
  SessionSettings s = test_settings();
  s.allow_plaintext_auth = true;
  s.max_errors = 20;
  FakePolicy policy;
  RecordingObserver observer;
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  FakeAuthenticator auth;  // shared by the sessions, as the daemon shares one per connector
  auto run = [&](ServerSession& session, std::string_view in) {
    session.feed(in);
    for (int i = 0; i < 100; ++i) {
      const SessionAction a = session.poll();
      if (a != SessionAction::verify_password) break;
      const PasswordCheck c = session.take_password_check();
      session.on_password_verified(auth.verify_password(c.username, c.password));
    }
    return session.take_output();
  };
  const std::string wrong = "AUTH PLAIN " + std::string(kAliceWrong) + "\r\n";
  ServerSession first(s, policy, observer, clock, ClientInfo{"192.0.2.9", 1, "", 25, ""}, &auth);
  std::string out = run(first, "EHLO c.example.test\r\n" + wrong + wrong);
  EXPECT_FALSE(first.closed());
  out = run(first, wrong);
  EXPECT_NE(out.find("535 5.7.8 Authentication credentials invalid\r\n421 4.7.0 Too many failed logons, try again later\r\n"),
            std::string::npos)
      << out;
  EXPECT_TRUE(first.closed());

  // Reconnecting: even the right password is refused, before any check runs.
  const int checks = auth.verifications;
  ServerSession second(s, policy, observer, clock, ClientInfo{"192.0.2.9", 2, "", 25, ""}, &auth);
  out = run(second, "EHLO c.example.test\r\nAUTH PLAIN " + std::string(kAlicePlain) + "\r\n");
  EXPECT_NE(out.find("421 4.7.0 Too many failed logons, try again later\r\n"), std::string::npos) << out;
  EXPECT_TRUE(second.closed());
  EXPECT_EQ(auth.verifications, checks);

  // Another address is not affected.
  ServerSession third(s, policy, observer, clock, ClientInfo{"192.0.2.10", 2, "", 25, ""}, &auth);
  out = run(third, "EHLO c.example.test\r\nAUTH PLAIN " + std::string(kAlicePlain) + "\r\n");
  EXPECT_NE(out.find("235 2.7.0"), std::string::npos) << out;
}

TEST(ServerSessionAuth, ShutdownDuringPasswordCheckAnswersFirst) {
  SessionSettings s = test_settings();
  s.allow_plaintext_auth = true;
  FakePolicy policy;
  RecordingObserver observer;
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  FakeAuthenticator auth;
  ServerSession session(s, policy, observer, clock, ClientInfo{"192.0.2.1", 1, "", 25, ""}, &auth);
  session.feed("EHLO c.example.test\r\nAUTH PLAIN " + std::string(kAlicePlain) + "\r\n");
  ASSERT_EQ(session.poll(), SessionAction::verify_password);
  (void)session.take_output();
  session.on_shutdown();
  EXPECT_FALSE(session.closed());
  session.on_password_verified(true);
  EXPECT_EQ(session.take_output(),
            "235 2.7.0 Authentication successful\r\n421 4.3.2 mx.sluice.test Service shutting down\r\n");
  EXPECT_TRUE(session.closed());
}

TEST(ServerSessionAuth, EofDuringPasswordCheckIgnoresTheVerdict) {
  SessionSettings s = test_settings();
  s.allow_plaintext_auth = true;
  FakePolicy policy;
  RecordingObserver observer;
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  FakeAuthenticator auth;
  ServerSession session(s, policy, observer, clock, ClientInfo{"192.0.2.1", 1, "", 25, ""}, &auth);
  session.feed("EHLO c.example.test\r\nAUTH PLAIN " + std::string(kAlicePlain) + "\r\n");
  ASSERT_EQ(session.poll(), SessionAction::verify_password);
  (void)session.take_output();
  session.on_eof();
  session.on_password_verified(true);
  EXPECT_TRUE(session.closed());
  EXPECT_EQ(session.take_output(), "");
  EXPECT_EQ(session.auth_user(), "");
}

TEST(ServerSessionAuth, ReceivedNamesTlsAndTheUser) {
  SessionSettings s = tls_settings();
  Driver d(s, ClientInfo{"192.0.2.1", 1, "", 25, "", TlsInfo{"TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", 256}}, true);
  d.send("EHLO c.example.test\r\nAUTH PLAIN " + std::string(kAlicePlain) +
         "\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  d.send("Subject: x\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(d.committed().size(), 1u);
  const Message& m = d.committed().front();
  EXPECT_EQ(m.envelope.protocol, "ESMTPSA");
  EXPECT_EQ(m.envelope.auth_user, "alice@example.test");
  EXPECT_EQ(m.content.rfind(
                "Received: from c.example.test (unknown [192.0.2.1])\r\n"
                "\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))\r\n"
                "\t(Authenticated sender: alice@example.test)\r\n"
                "\tby mx.sluice.test (sluice) with ESMTPSA id Q0001\r\n",
                0),
            0u)
      << m.content;
}

TEST(ServerSessionAuth, Utf8TransactionKeywords) {
  SessionSettings s = test_settings();
  s.allow_plaintext_auth = true;
  Driver d(s, ClientInfo{"192.0.2.1", 1, "", 25, ""}, true);
  d.send("EHLO c.example.test\r\nAUTH PLAIN " + std::string(kAlicePlain) +
         "\r\nMAIL FROM:<alice@example.test> SMTPUTF8\r\nRCPT TO:<b@example.test>\r\nDATA\r\n.\r\n");
  ASSERT_EQ(d.committed().size(), 1u);
  EXPECT_EQ(d.committed().front().envelope.protocol, "UTF8SMTPA");  // RFC 6531 §3.7.7
}

}  // namespace
}  // namespace sluice::smtp
