// Tests for queue/queue_manager.cpp with the real pieces it drives: a spool::Store in a temp
// dir, MaildirDelivery into a temp Maildir root, a TrackingLog and a LocalDirectory. Covered:
// delivery to every local recipient and removal from the spool, alias expansion, a recipient
// without a route staying deferred (and its state surviving a reopen), recovery that never
// re-delivers a delivered recipient, a Maildir failure deferred with a 4xx then retried, no
// duplicate for the local members of a partly remote alias, expiry, the tracking events, and
// the back-off table. Workers are waited for with wait_idle (bounded), never with a sleep.
#include "queue/queue_manager.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/queue_id.hpp"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using spool::RecipientStatus;

constexpr int64_t kStartUs = 1'700'000'000'000'000;

// A Clock the test moves while worker threads read it (ManualClock is not meant to be read
// and moved from two threads at once).
class SharedClock final : public Clock {
 public:
  SystemTime now() const override { return SystemTime(std::chrono::microseconds(us_.load())); }
  void advance(std::chrono::microseconds d) { us_ += d.count(); }
  int64_t now_us() const { return us_.load(); }

 private:
  std::atomic<int64_t> us_{kStartUs};
};

routing::Aliases aliases(std::string_view text) {
  auto r = routing::Aliases::parse(text, "aliases");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().context);
  return r ? std::move(*r) : routing::Aliases{};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class QueueManagerTest : public ::testing::Test {
 protected:
  QueueManagerTest()
      : directory_({"example.test"}, {"alice@example.test", "bob@example.test"},
                   aliases("team: alice, bob\nmixed: alice, carol@remote.example\n")),
        ids_(id_clock_, 1) {
    std::string tmpl = testing::TempDir() + "sluice-queue-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(maildir_root());
    open_store();
    maildir_ = std::make_unique<delivery::MaildirDelivery>(maildir_root(), "mx.example.test");
    tracking_ = std::make_unique<log::TrackingLog>(root_ / "tracking", "mx.example.test", clock_);
  }
  ~QueueManagerTest() override {
    queue_.reset();
    tracking_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  fs::path maildir_root() const { return root_ / "maildir"; }
  void open_store() {
    auto s = spool::Store::open(root_ / "spool");
    ASSERT_TRUE(s.has_value()) << s.error().message();
    store_ = std::move(*s);
  }
  void start_queue(unsigned workers = 2) {
    queue_ = std::make_unique<QueueManager>(
        QueueServices{*store_, directory_, *maildir_, *tracking_, clock_}, workers);
  }
  // Bounded: a hang fails the test instead of blocking the suite.
  void wait_idle() {
    ASSERT_TRUE(queue_->wait_idle(std::chrono::steady_clock::now() + 10s)) << "queue did not settle";
  }

  // A message as a session hands it over, already written to the spool (as the daemon's
  // sink does before enqueue).
  smtp::Message spooled_message(std::vector<std::string> recipients, std::string body = "Hello.\r\n") {
    smtp::Message m;
    m.envelope.queue_id = ids_.next();
    m.envelope.mail_from = "sender@remote.example";
    for (auto& r : recipients) m.envelope.recipients.push_back(smtp::Recipient{std::move(r), {}, ""});
    m.envelope.connector = "Default";
    m.envelope.client_ip = "192.0.2.1";
    m.envelope.client_helo = "client.remote.example";
    m.envelope.message_id = "<" + m.envelope.queue_id + "@remote.example>";
    m.envelope.received_at_us = clock_.now_us();
    m.content = "From: sender@remote.example\r\nSubject: test\r\n\r\n" + body;
    smtp::Message* batch[] = {&m};
    auto w = store_->write_messages(batch);
    EXPECT_TRUE(w.has_value()) << w.error().message();
    return m;
  }

  std::vector<spool::SpooledMessage> spool_contents() {
    auto all = store_->load_all();
    EXPECT_TRUE(all.has_value()) << all.error().message();
    return all ? std::move(*all) : std::vector<spool::SpooledMessage>{};
  }

  std::vector<fs::path> mailbox(std::string_view local) const {
    std::vector<fs::path> out;
    const fs::path dir = maildir_root() / "example.test" / std::string(local) / "new";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(it->path());
    return out;
  }

  // Every tracking record written so far.
  std::vector<nlohmann::json> tracking_records() {
    tracking_->flush();
    std::vector<nlohmann::json> out;
    for (const auto& f : fs::directory_iterator(root_ / "tracking")) {
      std::istringstream in(read_file(f.path()));
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }
  std::vector<nlohmann::json> tracking(std::string_view event, std::string_view recipient) {
    std::vector<nlohmann::json> out;
    for (auto& r : tracking_records())
      if (r["event-id"] == event && r["recipient-address"] == recipient) out.push_back(r);
    return out;
  }

  fs::path root_;
  SharedClock clock_;
  ManualClock id_clock_{SystemTime(std::chrono::seconds(1'700'000'000))};
  routing::LocalDirectory directory_;
  QueueIdGenerator ids_;
  std::unique_ptr<spool::Store> store_;
  std::unique_ptr<delivery::MaildirDelivery> maildir_;
  std::unique_ptr<log::TrackingLog> tracking_;
  std::unique_ptr<QueueManager> queue_;  // last: stopped first
};

TEST_F(QueueManagerTest, DeliversToEveryLocalRecipientThenRemovesTheMessage) {
  start_queue();
  smtp::Message m = spooled_message({"alice@example.test", "Bob@Example.Test"}, "Body line.\r\n");
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();

  for (const char* user : {"alice", "bob"}) {
    auto files = mailbox(user);
    ASSERT_EQ(files.size(), 1u) << user;
    const std::string text = read_file(files[0]);
    EXPECT_NE(text.find("Delivered-To: " + std::string(user) + "@example.test\n"), std::string::npos) << text;
    EXPECT_NE(text.find("Return-Path: <sender@remote.example>\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nBody line.\n"), std::string::npos) << text;
  }
  EXPECT_TRUE(spool_contents().empty());
  const auto stats = queue_->stats();
  EXPECT_EQ(stats.delivered, 2u);
  EXPECT_EQ(stats.deferred, 0u);
  EXPECT_EQ(stats.ready + stats.waiting, 0u);

  auto delivered = tracking("DELIVER", "alice@example.test");
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0]["internal-message-id"], id);
  EXPECT_EQ(delivered[0]["source"], "STOREDRIVER");
  EXPECT_EQ(delivered[0]["recipient-count"], 2);
  EXPECT_EQ(delivered[0]["source-context"], mailbox("alice")[0].filename().string());
  EXPECT_EQ(tracking("DELIVER", "bob@example.test").size(), 1u);
}

TEST_F(QueueManagerTest, AliasExpandsToTwoMailboxes) {
  start_queue();
  queue_->enqueue(spooled_message({"team@example.test"}));
  wait_idle();
  EXPECT_EQ(mailbox("alice").size(), 1u);
  EXPECT_EQ(mailbox("bob").size(), 1u);
  EXPECT_FALSE(fs::exists(maildir_root() / "example.test" / "team"));
  EXPECT_TRUE(spool_contents().empty());
  for (const char* target : {"alice@example.test", "bob@example.test"}) {
    auto d = tracking("DELIVER", target);
    ASSERT_EQ(d.size(), 1u) << target;
    EXPECT_EQ(d[0]["related-recipient-address"], "team@example.test");
  }
  EXPECT_EQ(queue_->stats().delivered, 1u);  // one envelope recipient
}

TEST_F(QueueManagerTest, AMailboxNamedTwiceGetsOneCopy) {
  // alice directly and through the alias: one copy, both recipients done.
  start_queue();
  queue_->enqueue(spooled_message({"team@example.test", "alice@example.test", "ALICE@example.test"}));
  wait_idle();
  EXPECT_EQ(mailbox("alice").size(), 1u);
  EXPECT_EQ(mailbox("bob").size(), 1u);
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(queue_->stats().delivered, 3u);
  EXPECT_EQ(tracking("DELIVER", "alice@example.test").size(), 1u);
}

TEST_F(QueueManagerTest, PostmasterWithoutAUserGoesToTheImplicitMailbox) {
  start_queue();
  queue_->enqueue(spooled_message({"Postmaster"}));
  wait_idle();
  EXPECT_EQ(mailbox("postmaster").size(), 1u);
  EXPECT_TRUE(spool_contents().empty());
}

TEST_F(QueueManagerTest, RecipientWithoutARouteStaysDeferredInTheSpool) {
  start_queue();
  smtp::Message m = spooled_message({"alice@example.test", "carol@remote.example"});
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();

  EXPECT_EQ(mailbox("alice").size(), 1u);
  EXPECT_EQ(queue_->stats().waiting, 1u);
  auto defer = tracking("DEFER", "carol@remote.example");
  ASSERT_EQ(defer.size(), 1u);
  EXPECT_NE(defer[0]["recipient-status"].get<std::string>().find("No route to remote.example"), std::string::npos);

  // The state was written to the spool: it is there after a restart.
  queue_.reset();
  store_.reset();
  open_store();
  auto all = spool_contents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].envelope.queue_id, id);
  ASSERT_EQ(all[0].recipients.size(), 2u);
  EXPECT_EQ(all[0].recipients[0].status, RecipientStatus::delivered);
  const spool::RecipientState& carol = all[0].recipients[1];
  EXPECT_EQ(carol.status, RecipientStatus::deferred);
  EXPECT_EQ(carol.attempts, 1u);
  EXPECT_EQ(carol.last_reply.rfind("451 4.4.0", 0), 0u) << carol.last_reply;
  EXPECT_NE(carol.last_reply.find("No route to remote.example"), std::string::npos) << carol.last_reply;
  EXPECT_EQ(carol.next_attempt_us, kStartUs + std::chrono::microseconds(QueueManager::retry_delay(1)).count());
  EXPECT_EQ(carol.updated_us, kStartUs);
}

TEST_F(QueueManagerTest, RecoveryDeliversPendingRecipientsAndNeverRedeliversDeliveredOnes) {
  // The state a crash leaves: alice delivered and recorded, bob not yet; a second message
  // never attempted at all.
  smtp::Message first = spooled_message({"alice@example.test", "bob@example.test"}, "First.\r\n");
  smtp::Message second = spooled_message({"team@example.test"}, "Second.\r\n");
  std::vector<spool::RecipientState> states(2);
  states[0].status = RecipientStatus::delivered;
  states[0].attempts = 1;
  states[0].last_reply = "250 2.0.0 Delivered";
  ASSERT_TRUE(store_->update_recipients(first.envelope.queue_id, states).has_value());

  start_queue();
  queue_->recover(spool_contents());
  wait_idle();

  // Content came back from the spool, since recovery has none in memory.
  auto bob = mailbox("bob");
  ASSERT_EQ(bob.size(), 2u);
  std::string both = read_file(bob[0]) + read_file(bob[1]);
  EXPECT_NE(both.find("First."), std::string::npos);
  EXPECT_NE(both.find("Second."), std::string::npos);
  auto alice = mailbox("alice");
  ASSERT_EQ(alice.size(), 1u);  // only the second message: the first was already delivered
  EXPECT_NE(read_file(alice[0]).find("Second."), std::string::npos);
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(tracking("DELIVER", "alice@example.test").size(), 1u);
}

TEST_F(QueueManagerTest, RecoveryWaitsForADeferredRecipientsRetryTime) {
  smtp::Message m = spooled_message({"alice@example.test"});
  std::vector<spool::RecipientState> states(1);
  states[0].status = RecipientStatus::deferred;
  states[0].attempts = 1;
  states[0].next_attempt_us = kStartUs + 60'000'000;
  ASSERT_TRUE(store_->update_recipients(m.envelope.queue_id, states).has_value());

  start_queue();
  queue_->recover(spool_contents());
  wait_idle();
  EXPECT_TRUE(mailbox("alice").empty());
  EXPECT_EQ(queue_->stats().waiting, 1u);

  clock_.advance(60s);
  queue_->wake();
  wait_idle();
  EXPECT_EQ(mailbox("alice").size(), 1u);
  EXPECT_TRUE(spool_contents().empty());
}

TEST_F(QueueManagerTest, RecoveryDoesNotLetALaterRetryHoldBackAPendingRecipient) {
  // "Never tried" (next attempt 0) must count as due now, not as "no time set".
  smtp::Message m = spooled_message({"alice@example.test", "carol@remote.example"});
  std::vector<spool::RecipientState> states(2);
  states[1].status = RecipientStatus::deferred;
  states[1].attempts = 1;
  states[1].next_attempt_us = kStartUs + 3'600'000'000;
  ASSERT_TRUE(store_->update_recipients(m.envelope.queue_id, states).has_value());
  start_queue();
  queue_->recover(spool_contents());
  wait_idle();
  EXPECT_EQ(mailbox("alice").size(), 1u);
  auto all = spool_contents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].recipients[0].status, RecipientStatus::delivered);
  EXPECT_EQ(all[0].recipients[1].attempts, 1u);  // carol's time has not come
}

TEST_F(QueueManagerTest, RecoveryRemovesAMessageWhoseRecipientsAreAllFinal) {
  // A crash after the last state was written but before the message was removed.
  smtp::Message m = spooled_message({"alice@example.test", "zed@example.test"});
  std::vector<spool::RecipientState> states(2);
  states[0].status = RecipientStatus::delivered;
  states[1].status = RecipientStatus::failed;
  ASSERT_TRUE(store_->update_recipients(m.envelope.queue_id, states).has_value());
  start_queue();
  queue_->recover(spool_contents());
  wait_idle();
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_TRUE(mailbox("alice").empty());
}

TEST_F(QueueManagerTest, AMessageGoneFromTheSpoolIsDroppedNotRetriedForever) {
  // Recovered, then removed (by an admin, or moved aside as damaged) before its attempt.
  smtp::Message m = spooled_message({"alice@example.test"});
  auto recovered = spool_contents();
  ASSERT_EQ(recovered.size(), 1u);
  ASSERT_TRUE(store_->remove(m.envelope.queue_id).has_value());
  start_queue();
  queue_->recover(std::move(recovered));
  wait_idle();
  const auto stats = queue_->stats();
  EXPECT_EQ(stats.ready + stats.waiting, 0u);
  EXPECT_TRUE(mailbox("alice").empty());
}

TEST_F(QueueManagerTest, MaildirFailureDefersWith4xxKeepsTheMessageAndRetries) {
  // A file where alice's Maildir directory should be: delivery cannot create it.
  fs::create_directories(maildir_root() / "example.test");
  const fs::path obstacle = maildir_root() / "example.test" / "alice";
  std::ofstream(obstacle) << "not a directory";

  start_queue();
  smtp::Message m = spooled_message({"alice@example.test"});
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();

  auto all = spool_contents();
  ASSERT_EQ(all.size(), 1u);
  const spool::RecipientState& st = all[0].recipients[0];
  EXPECT_EQ(st.status, RecipientStatus::deferred);
  EXPECT_EQ(st.last_reply[0], '4') << st.last_reply;
  EXPECT_EQ(st.attempts, 1u);
  auto defer = tracking("DEFER", "alice@example.test");
  ASSERT_EQ(defer.size(), 1u);
  EXPECT_EQ(defer[0]["internal-message-id"], id);
  EXPECT_EQ(defer[0]["recipient-status"], st.last_reply);
  EXPECT_EQ(queue_->stats().deferred, 1u);

  // The admin fixes the mailbox; at the retry time the message goes out.
  fs::remove(obstacle);
  clock_.advance(QueueManager::retry_delay(1) - 1s);
  queue_->wake();
  wait_idle();
  EXPECT_TRUE(mailbox("alice").empty());  // not due yet
  clock_.advance(1s);
  queue_->wake();
  wait_idle();
  EXPECT_EQ(mailbox("alice").size(), 1u);
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(tracking("DELIVER", "alice@example.test").size(), 1u);
}

TEST_F(QueueManagerTest, RetryOfAPartlyRemoteAliasDoesNotDeliverTheLocalMemberAgain) {
  start_queue();
  queue_->enqueue(spooled_message({"mixed@example.test"}));
  wait_idle();
  EXPECT_EQ(mailbox("alice").size(), 1u);
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    clock_.advance(QueueManager::retry_delay(attempt));
    queue_->wake();
    wait_idle();
  }
  EXPECT_EQ(mailbox("alice").size(), 1u);
  auto all = spool_contents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].recipients[0].status, RecipientStatus::deferred);
  EXPECT_EQ(all[0].recipients[0].attempts, 4u);
  EXPECT_EQ(tracking("DEFER", "mixed@example.test").size(), 4u);
  EXPECT_EQ(tracking("DELIVER", "alice@example.test").size(), 1u);
}

TEST_F(QueueManagerTest, UnknownUserAtDeliveryTimeFailsAndIsRemoved) {
  // The user was removed from the configuration after the message was accepted.
  start_queue();
  queue_->enqueue(spooled_message({"zed@example.test"}));
  wait_idle();
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(queue_->stats().failed, 1u);
  auto failed = tracking("FAIL", "zed@example.test");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["recipient-status"].get<std::string>().rfind("550 5.1.1", 0), 0u);
}

TEST_F(QueueManagerTest, ExpiredMessageFailsItsWaitingRecipients) {
  start_queue();
  smtp::Message m = spooled_message({"carol@remote.example"});
  std::vector<spool::RecipientState> states(1);
  states[0].status = RecipientStatus::deferred;
  states[0].attempts = 30;
  ASSERT_TRUE(store_->update_recipients(m.envelope.queue_id, states).has_value());
  clock_.advance(QueueManager::kMaxQueueLifetime + 1s);
  queue_->recover(spool_contents());
  wait_idle();
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(queue_->stats().failed, 1u);
  auto failed = tracking("FAIL", "carol@remote.example");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["recipient-status"].get<std::string>().rfind("554 5.4.7", 0), 0u);
}

TEST_F(QueueManagerTest, MessageWithoutAReceiveTimeDoesNotExpire) {
  start_queue();
  clock_.advance(QueueManager::kMaxQueueLifetime + 1s);
  smtp::Message m = spooled_message({"carol@remote.example"});
  m.envelope.received_at_us = 0;
  queue_->enqueue(std::move(m));
  wait_idle();
  auto all = spool_contents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].recipients[0].status, RecipientStatus::deferred);
  EXPECT_EQ(queue_->stats().failed, 0u);
}

TEST_F(QueueManagerTest, StopLeavesUnattemptedMessagesInTheSpool) {
  start_queue();
  queue_->stop();
  queue_->enqueue(spooled_message({"alice@example.test"}));
  queue_.reset();  // joins the workers
  EXPECT_TRUE(mailbox("alice").empty());
  EXPECT_EQ(spool_contents().size(), 1u);
}

TEST(QueueManagerRetryTest, BackOffTable) {
  EXPECT_EQ(QueueManager::retry_delay(0), 1min);
  EXPECT_EQ(QueueManager::retry_delay(1), 1min);
  EXPECT_EQ(QueueManager::retry_delay(2), 5min);
  EXPECT_EQ(QueueManager::retry_delay(3), 15min);
  EXPECT_EQ(QueueManager::retry_delay(4), 30min);
  EXPECT_EQ(QueueManager::retry_delay(5), 1h);
  EXPECT_EQ(QueueManager::retry_delay(1000), 1h);
}

}  // namespace
}  // namespace sluice::queue
