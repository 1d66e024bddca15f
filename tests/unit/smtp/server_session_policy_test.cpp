// Tests of the session's asynchronous policy seam (session_policy.hpp "Waiting for a
// decision"): every stage can answer pending, the session parks in wait_policy without
// reading or answering, and on_policy_result() resumes it with the buffered pipeline intact.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "session_fakes.hpp"
#include "smtp/server_session.hpp"

namespace sluice::smtp {
namespace {

using testing_fakes::RecordingObserver;
using testing_fakes::test_settings;

enum class Stage { connect, helo, mail, rcpt, message };

// Answers pending at the stages in `waits`; the test then settles it with the verdict it
// queued in `outcomes` (accept when none). Records what it was asked with.
class WaitingPolicy final : public SessionPolicy {
 public:
  std::set<Stage> waits;
  std::vector<Verdict> outcomes;  // consumed in order by await_verdict
  std::vector<std::string> asked;
  std::string seen_auth_user, seen_helo;
  std::string added_header;  // decide_message adds it to the top when set
  std::function<void(Verdict)> parked;  // a pending await, when the test settles it itself
  bool park = false;

  std::optional<Reply> check_connect(const ClientInfo&) override { return std::nullopt; }
  std::optional<Reply> check_helo(std::string_view) override { return std::nullopt; }
  std::optional<Reply> check_mail_from(const MailFromArgs&) override { return std::nullopt; }
  std::optional<Reply> check_rcpt(const RcptToArgs&, const Envelope&) override { return std::nullopt; }
  std::string new_queue_id() override { return "Q" + std::to_string(++ids_); }

  Verdict decide_connect(const SessionFacts& f) override {
    asked.push_back("connect " + f.client.ip);
    return answer(Stage::connect);
  }
  Verdict decide_helo(const SessionFacts&, std::string_view helo) override {
    asked.push_back("helo " + std::string(helo));
    return answer(Stage::helo);
  }
  Verdict decide_mail_from(const SessionFacts& f, const MailFromArgs& a) override {
    seen_helo = std::string(f.helo);
    seen_auth_user = std::string(f.auth_user);
    asked.push_back("mail " + a.path.address());
    return answer(Stage::mail);
  }
  Verdict decide_rcpt(const SessionFacts&, const RcptToArgs& a, const Envelope& e) override {
    asked.push_back("rcpt " + a.path.address() + " after " + std::to_string(e.recipients.size()));
    return answer(Stage::rcpt);
  }
  Verdict decide_message(const SessionFacts&, Message& m) override {
    asked.push_back("message " + m.envelope.queue_id);
    if (!added_header.empty()) m.content.insert(0, added_header);
    return answer(Stage::message);
  }
  void await_verdict(std::function<void(Verdict)> done) override {
    ++awaits;
    if (park) {
      parked = std::move(done);
      return;
    }
    Verdict v = Verdict::accept();
    if (!outcomes.empty()) {
      v = outcomes.front();
      outcomes.erase(outcomes.begin());
    }
    done(v);
  }
  int awaits = 0;

 private:
  Verdict answer(Stage s) { return waits.count(s) ? Verdict::pending() : Verdict::accept(); }
  int ids_ = 0;
};

// Plays the driver: poll, write, settle pending verdicts through await_verdict, commit.
class PolicyDriver {
 public:
  explicit PolicyDriver(WaitingPolicy& policy, ClientInfo client = {"192.0.2.7", 40000, "192.0.2.25", 25, ""})
      : policy_(policy), clock_(SystemTime{std::chrono::seconds{1751364123}}) {
    session_.emplace(test_settings(), policy_, observer_, clock_, std::move(client));
  }
  // Runs until the session needs input or closes; returns what it wrote.
  std::string run() {
    std::string out;
    for (int i = 0; i < 1000; ++i) {
      const SessionAction a = session_->poll();
      out += session_->take_output();
      if (a == SessionAction::need_input || a == SessionAction::close) break;
      if (a == SessionAction::wait_policy) {
        ++waits;
        if (policy_.park) break;  // the test settles it
        std::optional<Verdict> got;
        policy_.await_verdict([&got](Verdict v) { got = std::move(v); });
        EXPECT_TRUE(got.has_value());
        session_->on_policy_result(*got);
        continue;
      }
      if (a == SessionAction::submit) {
        committed.push_back(session_->take_message());
        session_->on_submitted(ok());
        continue;
      }
      ADD_FAILURE() << "unexpected action";
      break;
    }
    return out;
  }
  std::string send(std::string_view bytes) {
    session_->feed(bytes);
    return run();
  }
  ServerSession& session() { return *session_; }
  RecordingObserver& observer() { return observer_; }
  std::vector<Message> committed;
  int waits = 0;

 private:
  WaitingPolicy& policy_;
  RecordingObserver observer_;
  ManualClock clock_;
  std::optional<ServerSession> session_;
};

constexpr std::string_view kTransaction =
    "EHLO client.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
    "RCPT TO:<c@example.test>\r\nDATA\r\n";

TEST(SessionPolicyWait, SynchronousPoliciesNeverWait) {
  WaitingPolicy p;
  PolicyDriver d(p);
  EXPECT_EQ(d.run(), "220 mx.sluice.test ESMTP sluice\r\n");
  d.send(kTransaction);
  EXPECT_EQ(d.send("hi\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  EXPECT_EQ(d.waits, 0);
  EXPECT_EQ(p.awaits, 0);
  EXPECT_EQ(p.asked, (std::vector<std::string>{"connect 192.0.2.7", "helo client.test", "mail a@example.test",
                                               "rcpt b@example.test after 0", "rcpt c@example.test after 1",
                                               "message Q1"}));
}

TEST(SessionPolicyWait, GreetingWaitsForTheConnectDecision) {
  WaitingPolicy p;
  p.waits = {Stage::connect};
  p.park = true;
  PolicyDriver d(p);
  // Nothing is sent while the decision is pending, even if the client talks early.
  EXPECT_EQ(d.run(), "");
  d.session().feed("EHLO early.test\r\n");
  EXPECT_EQ(d.session().poll(), SessionAction::wait_policy);
  EXPECT_EQ(d.session().take_output(), "");
  ASSERT_TRUE(p.parked == nullptr);  // the driver (test) has not awaited yet
  p.park = false;
  p.await_verdict([&](Verdict v) { d.session().on_policy_result(v); });
  // Greeting first, then the buffered EHLO is answered.
  const std::string out = d.run();
  EXPECT_EQ(out.rfind("220 mx.sluice.test ESMTP sluice\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("250-mx.sluice.test\r\n"), std::string::npos) << out;
}

TEST(SessionPolicyWait, ConnectRejectAfterWaitClosesWithTheReply) {
  WaitingPolicy p;
  p.waits = {Stage::connect};
  p.outcomes = {Verdict::reject(Reply(554, "5.7.1", "Service unavailable; client [192.0.2.7] blocked using bl.test"))};
  PolicyDriver d(p);
  EXPECT_EQ(d.run(), "554 5.7.1 Service unavailable; client [192.0.2.7] blocked using bl.test\r\n");
  EXPECT_TRUE(d.session().closed());
  EXPECT_EQ(d.waits, 1);
}

TEST(SessionPolicyWait, HeloRejectAfterWaitKeepsTheSessionUngreeted) {
  WaitingPolicy p;
  p.waits = {Stage::helo};
  p.outcomes = {Verdict::reject(Reply(550, "5.7.1", "Helo command rejected")), Verdict::accept()};
  PolicyDriver d(p);
  d.run();
  EXPECT_EQ(d.send("EHLO bad.test\r\nMAIL FROM:<a@example.test>\r\n"),
            "550 5.7.1 Helo command rejected\r\n503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(d.send("HELO good.test\r\n"), "250 mx.sluice.test\r\n");
}

TEST(SessionPolicyWait, PipelinedRcptsWaitInOrderAndKeepTheirReplies) {
  WaitingPolicy p;
  p.waits = {Stage::rcpt};
  p.outcomes = {Verdict::reject(Reply(451, "4.7.1", "Greylisted, try again in 60 seconds")), Verdict::accept()};
  PolicyDriver d(p);
  d.run();
  // The whole transaction in one write, as a PIPELINING client sends it.
  const std::string out = d.send(kTransaction);
  EXPECT_NE(out.find("250 2.1.0 Ok\r\n451 4.7.1 Greylisted, try again in 60 seconds\r\n250 2.1.5 Ok\r\n354 "),
            std::string::npos)
      << out;
  EXPECT_EQ(d.waits, 2);
  EXPECT_EQ(d.send("x\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  ASSERT_EQ(d.committed.size(), 1u);
  ASSERT_EQ(d.committed[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(d.committed[0].envelope.recipients[0].address, "c@example.test");
  // The second RCPT was asked about with the first one refused: envelope still empty.
  EXPECT_EQ(p.asked[4], "rcpt c@example.test after 0");
}

TEST(SessionPolicyWait, MailDecisionSeesHeloAndResumesTheTransaction) {
  WaitingPolicy p;
  p.waits = {Stage::mail};
  p.outcomes = {Verdict::reject(Reply(451, "4.7.1", "Rate limit: too many messages")), Verdict::accept()};
  PolicyDriver d(p);
  d.run();
  EXPECT_EQ(d.send("EHLO client.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"),
            std::string("250-mx.sluice.test\r\n") + "250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
                "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 DSN\r\n"
                "451 4.7.1 Rate limit: too many messages\r\n503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(p.seen_helo, "client.test");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
}

TEST(SessionPolicyWait, MessageDecisionMayAddHeadersOrRefuse) {
  WaitingPolicy p;
  p.waits = {Stage::message};
  p.added_header = "X-Checked: yes\r\n";
  p.outcomes = {Verdict::accept(), Verdict::reject(Reply(550, "5.7.1", "Message content rejected"))};
  PolicyDriver d(p);
  d.run();
  d.send(kTransaction);
  EXPECT_EQ(d.send("one\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  ASSERT_EQ(d.committed.size(), 1u);
  EXPECT_EQ(d.committed[0].content.rfind("X-Checked: yes\r\nReceived: ", 0), 0u);
  // Refused at the end of data: nothing committed, the session goes on.
  d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  EXPECT_EQ(d.send("two\r\n.\r\n"), "550 5.7.1 Message content rejected\r\n");
  EXPECT_EQ(d.committed.size(), 1u);
  EXPECT_EQ(d.send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SessionPolicyWait, BdatLastWaitsForTheMessageDecision) {
  WaitingPolicy p;
  p.waits = {Stage::message};
  PolicyDriver d(p);
  d.run();
  EXPECT_EQ(d.send("EHLO c.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 5 LAST\r\nhello")
                ,
            std::string("250-mx.sluice.test\r\n") + "250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
                "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 DSN\r\n"
                "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as Q1\r\n");
  EXPECT_EQ(d.waits, 1);
}

TEST(SessionPolicyWait, AStillPendingResultIsATemporaryFailure) {
  WaitingPolicy p;
  p.waits = {Stage::mail};
  p.outcomes = {Verdict::pending()};
  PolicyDriver d(p);
  d.run();
  d.send("HELO c.test\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n"), "451 4.3.0 Error: policy check unavailable, try again later\r\n");
}

TEST(SessionPolicyWait, ShutdownWhileWaitingAnswersThenCloses) {
  WaitingPolicy p;
  p.waits = {Stage::rcpt};
  p.park = true;
  PolicyDriver d(p);
  d.run();
  d.send("HELO c.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
  ASSERT_TRUE(p.parked == nullptr);
  d.session().on_shutdown();
  EXPECT_FALSE(d.session().closed());  // the pending command is answered first
  d.session().on_policy_result(Verdict::accept());
  EXPECT_EQ(d.session().take_output(), "250 2.1.5 Ok\r\n421 4.3.2 mx.sluice.test Service shutting down\r\n");
  EXPECT_TRUE(d.session().closed());
}

TEST(SessionPolicyWait, EofWhileWaitingDropsTheDecision) {
  WaitingPolicy p;
  p.waits = {Stage::rcpt};
  p.park = true;
  PolicyDriver d(p);
  d.run();
  d.send("HELO c.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
  d.session().on_eof();
  d.session().on_policy_result(Verdict::accept());  // late: ignored
  EXPECT_EQ(d.session().take_output(), "");
  EXPECT_TRUE(d.session().closed());
}

TEST(SessionPolicyWait, DecisionsSeeTheAuthenticatedUser) {
  WaitingPolicy p;
  PolicyDriver d(p);
  d.run();
  d.send("HELO c.test\r\nMAIL FROM:<a@example.test>\r\n");
  EXPECT_EQ(p.seen_auth_user, "");
  EXPECT_EQ(p.seen_helo, "c.test");
}

TEST(SessionPolicyWait, WaitingIsVisibleToTheObserver) {
  WaitingPolicy p;
  p.waits = {Stage::helo};
  PolicyDriver d(p);
  d.run();
  d.send("HELO c.test\r\n");
  const auto& infos = d.observer().infos;
  EXPECT_NE(std::find(infos.begin(), infos.end(), "waiting for policy|session state"), infos.end());
}

}  // namespace
}  // namespace sluice::smtp
