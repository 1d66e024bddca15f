// Tests for queue/queue_manager.cpp with the real pieces it drives — a spool::Store in a
// temp dir, MaildirDelivery into a temp Maildir root, a TrackingLog, a LocalDirectory, an
// io_context run by the queue — and a fake Transport that answers outbound batches as each
// test scripts (the real one is tested in tests/unit/delivery against loopback peers).
// Covered: local delivery, alias expansion and duplicate suppression per mailbox, recovery
// that never re-delivers, Maildir failures deferred then retried, expiry with a 4.4.7
// bounce, next-hop queues (domain, smart host, Unreachable) with Status/LastError/
// RetryCount/NextRetryTime, Retry of a whole next hop after a connection-level failure and
// its single attempt at NextRetryTime, 4xx defers one recipient, 5xx fails it with a bounce,
// max_connections, max_messages_per_connection, max_message_rate, NOTIFY (NEVER, SUCCESS),
// no bounce to the null sender, the one delay notice (kept across a restart), forwarding of
// remote alias members as a new message, restart with queues rebuilt from the spool, and
// the snapshot views. Waits are wait_idle (bounded), never sleeps; time is a test clock.
#include "queue/queue_manager.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <condition_variable>
#include <functional>
#include <thread>
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

// A Clock the test moves while the queue's threads read it.
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

// One batch as the queue handed it over.
struct Call {
  std::string hop;
  std::string connector;
  struct Job {
    std::string queue_id, mail_from, content;
    std::vector<std::string> recipients;
    std::vector<size_t> indexes;
  };
  std::vector<Job> jobs;
  Transport::Done done;
};

delivery::Outcome reply_outcome(int code, const std::string& enhanced, const std::string& text) {
  delivery::Outcome o;
  o.reply = Reply(code, enhanced, text);
  o.permanent = code >= 500;
  o.scope = delivery::Scope::recipient;
  return o;
}

// Answers every recipient with `outcome_for(address)`, or holds the batch for the test.
class FakeTransport final : public Transport {
 public:
  using Script = std::function<delivery::Outcome(const std::string& hop, const std::string& rcpt)>;

  void deliver(const routing::NextHop& hop, std::vector<delivery::DeliveryJob> jobs, Done done) override {
    Call c;
    c.hop = hop.name;
    c.connector = hop.connector ? hop.connector->name : "";
    for (const auto& j : jobs) {
      Call::Job cj{j.envelope->queue_id, j.envelope->mail_from, *j.content, {}, j.recipients};
      for (size_t i : j.recipients) cj.recipients.push_back(j.envelope->recipients[i].address);
      c.jobs.push_back(std::move(cj));
    }
    std::unique_lock lock(mu_);
    if (session_failure_) {
      auto sf = *session_failure_;
      calls_.push_back(c);
      cv_.notify_all();
      lock.unlock();
      delivery::BatchResult r = result_for(c, [&](const std::string&, const std::string&) { return sf; });
      r.attempt.session_failure = sf;
      done(std::move(r));
      return;
    }
    if (!script_) {
      c.done = std::move(done);
      held_.push_back(c);
      calls_.push_back(c);
      cv_.notify_all();
      return;
    }
    Script script = script_;
    calls_.push_back(c);
    cv_.notify_all();
    lock.unlock();
    done(result_for(c, script));
  }

  static delivery::BatchResult result_for(const Call& c, const Script& script) {
    delivery::BatchResult r;
    r.attempt.remote_host = "mx1." + c.hop;
    r.attempt.remote_ip = "127.0.0.2";
    r.attempt.port = 25;
    r.attempt.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
    r.attempt.latency = 12ms;
    for (const auto& j : c.jobs) {
      std::vector<delivery::RecipientOutcome> out;
      for (size_t k = 0; k < j.indexes.size(); ++k)
        out.push_back(delivery::RecipientOutcome{j.indexes[k], script(c.hop, j.recipients[k])});
      r.per_job.push_back(std::move(out));
    }
    return r;
  }

  void accept_all() {
    set_script([](const std::string&, const std::string&) { return reply_outcome(250, "2.0.0", "Ok: queued"); });
  }
  void set_script(Script s) {
    std::lock_guard lock(mu_);
    script_ = std::move(s);
    session_failure_.reset();
  }
  void hold() {
    std::lock_guard lock(mu_);
    script_ = nullptr;
    session_failure_.reset();
  }
  void fail_sessions(delivery::Outcome o) {
    std::lock_guard lock(mu_);
    session_failure_ = std::move(o);
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // Bounded: true once `n` batches have been handed over.
  bool wait_calls(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return calls_.size() >= n; });
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Completes the oldest held batch with `script`.
  void release_one(const Script& script) {
    Call c;
    {
      std::lock_guard lock(mu_);
      ASSERT_FALSE(held_.empty());
      c = std::move(held_.front());
      held_.erase(held_.begin());
    }
    c.done(result_for(c, script));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Script script_;
  std::optional<delivery::Outcome> session_failure_;
  std::vector<Call> calls_;
  std::vector<Call> held_;
};

delivery::Outcome ok250(const std::string&, const std::string&) { return reply_outcome(250, "2.0.0", "Ok: queued"); }

class QueueManagerTest : public ::testing::Test {
 protected:
  QueueManagerTest()
      : directory_({"example.test"}, {"alice@example.test", "bob@example.test"},
                   aliases("team: alice, bob\nmixed: alice, carol@remote.example\n")),
        ids_(id_clock_, 1),
        queue_ids_(id_clock_, 2) {
    std::string tmpl = testing::TempDir() + "sluice-queue-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(maildir_root());
    open_store();
    maildir_ = std::make_unique<delivery::MaildirDelivery>(maildir_root(), "mx.example.test");
    tracking_ = std::make_unique<log::TrackingLog>(root_ / "tracking", "mx.example.test", clock_);
    config_.server.hostname = "mx.example.test";
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
  // An MX-routed connector for every domain.
  config::SendConnector& add_internet_connector() {
    config::SendConnector c;
    c.name = "internet";
    c.address_spaces = {"*"};
    config_.send_connectors.push_back(c);
    return config_.send_connectors.back();
  }
  void start_queue(unsigned workers = 2) {
    loop_ = std::make_unique<asio::io_context>();
    QueueOptions options;
    options.local_workers = workers;
    options.shutdown_grace = 2s;
    queue_ = std::make_unique<QueueManager>(
        QueueServices{*store_, directory_, *maildir_, *tracking_, clock_, *loop_, transport_, queue_ids_},
        std::make_shared<const config::Config>(config_), options);
  }
  void restart_queue() {
    queue_.reset();
    store_.reset();
    open_store();
    start_queue();
    queue_->recover(spool_contents());
    wait_idle();
  }
  void wait_idle() {
    ASSERT_TRUE(queue_->wait_idle(std::chrono::steady_clock::now() + 10s)) << "queue did not settle";
  }
  void advance(std::chrono::microseconds d) {
    clock_.advance(d);
    queue_->wake();
    wait_idle();
  }

  smtp::Message spooled_message(std::vector<std::string> recipients, std::string body = "Hello.\r\n",
                                std::string sender = "sender@remote.example") {
    smtp::Message m;
    m.envelope.queue_id = ids_.next();
    m.envelope.mail_from = std::move(sender);
    for (auto& r : recipients) m.envelope.recipients.push_back(smtp::Recipient{std::move(r), {}, ""});
    m.envelope.connector = "Default";
    m.envelope.client_ip = "192.0.2.1";
    m.envelope.client_helo = "client.remote.example";
    m.envelope.message_id = "<" + m.envelope.queue_id + "@remote.example>";
    m.envelope.received_at_us = clock_.now_us();
    m.content = "From: sender@remote.example\r\nSubject: test\r\n\r\n" + body;
    write(m);
    return m;
  }
  void write(smtp::Message& m) {
    smtp::Message* batch[] = {&m};
    auto w = store_->write_messages(batch);
    EXPECT_TRUE(w.has_value()) << w.error().message();
  }

  std::vector<spool::SpooledMessage> spool_contents() {
    auto all = store_->load_all();
    EXPECT_TRUE(all.has_value()) << all.error().message();
    return all ? std::move(*all) : std::vector<spool::SpooledMessage>{};
  }
  // The spooled messages from the null sender: the notices.
  std::vector<spool::SpooledMessage> spooled_dsns() {
    std::vector<spool::SpooledMessage> out;
    for (auto& m : spool_contents())
      if (m.envelope.mail_from.empty()) out.push_back(std::move(m));
    return out;
  }

  std::vector<fs::path> mailbox(std::string_view local) const {
    std::vector<fs::path> out;
    const fs::path dir = maildir_root() / "example.test" / std::string(local) / "new";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(it->path());
    return out;
  }

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
  std::optional<QueueInfo> queue_named(std::string_view name) {
    for (auto& q : queue_->queues())
      if (q.identity == name) return q;
    return std::nullopt;
  }

  fs::path root_;
  SharedClock clock_;
  ManualClock id_clock_{SystemTime(std::chrono::seconds(1'700'000'000))};
  routing::LocalDirectory directory_;
  QueueIdGenerator ids_;
  QueueIdGenerator queue_ids_;
  config::Config config_;
  FakeTransport transport_;
  std::unique_ptr<spool::Store> store_;
  std::unique_ptr<delivery::MaildirDelivery> maildir_;
  std::unique_ptr<log::TrackingLog> tracking_;
  std::unique_ptr<asio::io_context> loop_;
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
  auto unreachable = queue_named("Unreachable");
  ASSERT_TRUE(unreachable.has_value());
  EXPECT_EQ(unreachable->delivery_type, DeliveryType::unreachable);
  EXPECT_EQ(unreachable->status, QueueStatus::retry);
  EXPECT_EQ(unreachable->message_count, 1u);
  EXPECT_EQ(unreachable->last_error, defer[0]["recipient-status"].get<std::string>());
  EXPECT_TRUE(transport_.calls().empty());

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
  EXPECT_EQ(carol.next_attempt_us, kStartUs + std::chrono::microseconds(config_.queue.retry_interval(1)).count());
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
  clock_.advance(config_.queue.retry_interval(1) - 1s);
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

TEST_F(QueueManagerTest, RemoteAliasMembersAreForwardedAsANewMessage) {
  add_internet_connector();
  transport_.accept_all();
  start_queue();
  smtp::Message m = spooled_message({"mixed@example.test"});
  queue_->enqueue(std::move(m));
  wait_idle();
  EXPECT_EQ(mailbox("alice").size(), 1u);
  auto calls = transport_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].hop, "remote.example");
  ASSERT_EQ(calls[0].jobs.size(), 1u);
  EXPECT_EQ(calls[0].jobs[0].recipients, std::vector<std::string>{"carol@remote.example"});
  EXPECT_EQ(calls[0].jobs[0].mail_from, "sender@remote.example");
  EXPECT_NE(calls[0].jobs[0].content.find("Hello."), std::string::npos);
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(tracking("REDIRECT", "carol@remote.example").size(), 1u);
  EXPECT_EQ(tracking("SEND", "carol@remote.example").size(), 1u);
}

TEST_F(QueueManagerTest, UnknownUserAtDeliveryTimeFailsAndIsRemoved) {
  // The user was removed from the configuration after the message was accepted.
  start_queue();
  queue_->enqueue(spooled_message({"zed@example.test"}));
  wait_idle();
  EXPECT_EQ(queue_->stats().failed, 1u);
  auto failed = tracking("FAIL", "zed@example.test");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["recipient-status"].get<std::string>().rfind("550 5.1.1", 0), 0u);
  // The original is gone; what is left is the bounce to the sender (no send connector:
  // it waits in Unreachable).
  auto all = spool_contents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].envelope.mail_from, "");
  ASSERT_EQ(all[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(all[0].envelope.recipients[0].address, "sender@remote.example");
  auto content = store_->read_content(all[0].envelope.queue_id);
  ASSERT_TRUE(content.has_value());
  EXPECT_NE(content->find("Diagnostic-Code: smtp; 550 5.1.1"), std::string::npos) << *content;
  EXPECT_EQ(tracking("DSN", "zed@example.test").size(), 1u);
}

TEST_F(QueueManagerTest, ExpiredMessageFailsItsWaitingRecipients) {
  start_queue();
  smtp::Message m = spooled_message({"carol@remote.example"});
  std::vector<spool::RecipientState> states(1);
  states[0].status = RecipientStatus::deferred;
  states[0].attempts = 30;
  ASSERT_TRUE(store_->update_recipients(m.envelope.queue_id, states).has_value());
  clock_.advance(config_.queue.expire_after + 1s);
  queue_->recover(spool_contents());
  wait_idle();
  EXPECT_EQ(queue_->stats().failed, 1u);
  auto failed = tracking("FAIL", "carol@remote.example");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["recipient-status"].get<std::string>().rfind("550 4.4.7 Message expired", 0), 0u);
  EXPECT_EQ(tracking("EXPIRE", "carol@remote.example").size(), 1u);
  auto dsns = spooled_dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_EQ(spool_contents().size(), 1u);  // the original is gone
  auto content = store_->read_content(dsns[0].envelope.queue_id);
  ASSERT_TRUE(content.has_value());
  EXPECT_NE(content->find("Status: 4.4.7"), std::string::npos) << *content;
  EXPECT_NE(content->find("Action: failed"), std::string::npos);
}

TEST_F(QueueManagerTest, MessageWithoutAReceiveTimeDoesNotExpire) {
  start_queue();
  clock_.advance(config_.queue.expire_after + 1s);
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


// --- outbound -------------------------------------------------------------------------------

TEST_F(QueueManagerTest, RemoteRecipientGoesThroughItsDomainsQueueAndIsTracked) {
  add_internet_connector();
  transport_.set_script(ok250);
  start_queue();
  smtp::Message m = spooled_message({"alice@example.test", "dave@far.example", "erin@far.example"}, "Mixed.\r\n");
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();

  EXPECT_EQ(mailbox("alice").size(), 1u);
  auto calls = transport_.calls();
  ASSERT_EQ(calls.size(), 1u);  // both remote recipients in one transaction
  EXPECT_EQ(calls[0].hop, "far.example");
  EXPECT_EQ(calls[0].connector, "internet");
  ASSERT_EQ(calls[0].jobs.size(), 1u);
  EXPECT_EQ(calls[0].jobs[0].queue_id, id);
  EXPECT_EQ(calls[0].jobs[0].indexes, (std::vector<size_t>{1, 2}));
  EXPECT_NE(calls[0].jobs[0].content.find("Mixed."), std::string::npos);
  EXPECT_TRUE(spool_contents().empty());

  auto sent = tracking("SEND", "dave@far.example");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["recipient-status"], "250 2.0.0 Ok: queued");
  EXPECT_EQ(sent[0]["connector-id"], "internet");
  EXPECT_EQ(sent[0]["server-ip"], "127.0.0.2");
  const std::string ctx = sent[0]["source-context"];
  EXPECT_NE(ctx.find("mx1.far.example[127.0.0.2]:25"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("TLSv1.3"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("attempt 1"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("12 ms"), std::string::npos) << ctx;
  auto q = queue_named("far.example");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->delivery_type, DeliveryType::dns_connector_delivery);
  EXPECT_EQ(q->status, QueueStatus::ready);
  EXPECT_EQ(q->message_count, 0u);
}

TEST_F(QueueManagerTest, A4xxDefersOneRecipientA5xxFailsAnotherWithABounce) {
  add_internet_connector();
  transport_.set_script([](const std::string&, const std::string& rcpt) {
    if (rcpt == "busy@far.example") return reply_outcome(450, "4.2.1", "Mailbox busy, try later");
    if (rcpt == "nobody@far.example") return reply_outcome(550, "5.1.1", "<nobody@far.example>: User unknown");
    return reply_outcome(250, "2.0.0", "Ok");
  });
  start_queue();
  smtp::Message m = spooled_message({"busy@far.example", "nobody@far.example", "ok@far.example"});
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();

  auto all = spool_contents();
  ASSERT_EQ(all.size(), 1u);  // the original (busy waits); the bounce has gone out already
  const spool::SpooledMessage& orig = all[0];
  ASSERT_EQ(orig.envelope.queue_id, id);
  EXPECT_EQ(orig.recipients[0].status, RecipientStatus::deferred);
  EXPECT_EQ(orig.recipients[0].last_reply, "450 4.2.1 Mailbox busy, try later");
  EXPECT_EQ(orig.recipients[0].next_attempt_us, kStartUs + 60'000'000);
  EXPECT_EQ(orig.recipients[0].remote_mta, "mx1.far.example");
  EXPECT_EQ(orig.recipients[1].status, RecipientStatus::failed);
  EXPECT_FALSE(orig.recipients[1].dsn_pending);  // the bounce is written
  EXPECT_EQ(orig.recipients[2].status, RecipientStatus::delivered);
  // The hop itself is fine: a recipient's 4xx does not put the queue in Retry.
  EXPECT_EQ(queue_named("far.example")->status, QueueStatus::ready);

  // The bounce went out through the sender's domain queue, from <> to the sender.
  std::vector<Call::Job> bounces;
  for (const auto& c : transport_.calls())
    for (const auto& j : c.jobs)
      if (j.mail_from.empty()) {
        EXPECT_EQ(c.hop, "remote.example");
        bounces.push_back(j);
      }
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0].recipients, std::vector<std::string>{"sender@remote.example"});
  const std::string& content = bounces[0].content;
  EXPECT_NE(content.find("Final-Recipient: rfc822; nobody@far.example"), std::string::npos) << content;
  EXPECT_NE(content.find("Diagnostic-Code: smtp; 550 5.1.1 <nobody@far.example>: User unknown"), std::string::npos);
  EXPECT_NE(content.find("Remote-MTA: dns; mx1.far.example"), std::string::npos);
  EXPECT_EQ(content.find("busy@far.example"), std::string::npos) << "only the failed recipient";
  EXPECT_EQ(tracking("DEFER", "busy@far.example").size(), 1u);
  EXPECT_EQ(tracking("FAIL", "nobody@far.example").size(), 1u);
  EXPECT_EQ(tracking("DSN", "nobody@far.example").size(), 1u);

  // The deferred one at its retry time.
  advance(60s);
  all = spool_contents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].recipients[0].attempts, 2u);
  EXPECT_EQ(all[0].recipients[0].next_attempt_us, kStartUs + 60'000'000 + 300'000'000);
  EXPECT_EQ(tracking("DEFER", "busy@far.example").size(), 2u);
  EXPECT_EQ(tracking("DSN", "nobody@far.example").size(), 1u);  // no second bounce
}

TEST_F(QueueManagerTest, AConnectionFailurePutsTheWholeNextHopInRetry) {
  add_internet_connector();
  delivery::Outcome refused{false, delivery::Scope::connection,
                            Reply(451, "4.4.1", "connect to mx1.far.example[127.0.0.2]:25: Connection refused"),
                            "the server refused the connection"};
  transport_.fail_sessions(refused);
  start_queue();
  queue_->enqueue(spooled_message({"dave@far.example"}));
  wait_idle();

  auto q = queue_named("far.example");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->status, QueueStatus::retry);
  EXPECT_EQ(q->last_error, "451 4.4.1 connect to mx1.far.example[127.0.0.2]:25: Connection refused");
  EXPECT_EQ(q->retry_count, 1u);
  ASSERT_TRUE(q->next_retry_time.has_value());
  EXPECT_EQ(*q->next_retry_time, SystemTime(std::chrono::microseconds(kStartUs)) + 60s);
  EXPECT_EQ(q->message_count, 1u);
  EXPECT_EQ(transport_.calls().size(), 1u);

  // More mail for the hop waits for NextRetryTime instead of hammering a dead server.
  queue_->enqueue(spooled_message({"erin@far.example"}));
  queue_->enqueue(spooled_message({"fay@far.example"}));
  wait_idle();
  EXPECT_EQ(transport_.calls().size(), 1u);
  EXPECT_EQ(queue_named("far.example")->message_count, 3u);

  // Still refused at the first retry: one connection, and the next interval (5m).
  advance(60s);
  EXPECT_EQ(transport_.calls().size(), 2u);
  q = queue_named("far.example");
  EXPECT_EQ(q->retry_count, 2u);
  EXPECT_EQ(*q->next_retry_time, SystemTime(std::chrono::microseconds(kStartUs)) + 60s + 5min);

  // The server is back: one connection at NextRetryTime carries the queue and it is Ready.
  transport_.set_script(ok250);
  advance(5min);
  auto calls = transport_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].jobs.size(), 3u);
  q = queue_named("far.example");
  EXPECT_EQ(q->status, QueueStatus::ready);
  EXPECT_EQ(q->retry_count, 0u);
  EXPECT_FALSE(q->next_retry_time.has_value());
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(tracking("DEFER", "dave@far.example").size(), 2u);
  EXPECT_EQ(tracking("SEND", "dave@far.example").size(), 1u);
}

TEST_F(QueueManagerTest, APermanentNextHopFailureBouncesEveryRecipient) {
  add_internet_connector();
  transport_.fail_sessions(delivery::Outcome{true, delivery::Scope::queue,
                                             Reply(550, "5.1.2", "Host or domain name not found: NXDOMAIN for nowhere.example"),
                                             "the domain does not exist"});
  start_queue();
  queue_->enqueue(spooled_message({"a@nowhere.example", "b@nowhere.example"}));
  wait_idle();
  EXPECT_EQ(tracking("FAIL", "a@nowhere.example").size(), 1u);
  EXPECT_EQ(tracking("FAIL", "b@nowhere.example").size(), 1u);
  // One notice for both. (It fails too here — the fake fails every hop — and, sent from
  // <>, goes no further: a third FAIL, no second notice, nothing left in the spool.)
  EXPECT_EQ(queue_->stats().dsns, 1u);
  EXPECT_EQ(queue_->stats().failed, 3u);
  EXPECT_EQ(tracking("FAIL", "sender@remote.example").size(), 1u);
  EXPECT_TRUE(spool_contents().empty());
  std::optional<std::string> content;
  for (const auto& c : transport_.calls())
    for (const auto& j : c.jobs)
      if (j.mail_from.empty()) content = j.content;
  ASSERT_TRUE(content.has_value());
  EXPECT_NE(content->find("Final-Recipient: rfc822; a@nowhere.example"), std::string::npos);
  EXPECT_NE(content->find("Final-Recipient: rfc822; b@nowhere.example"), std::string::npos);
  EXPECT_NE(content->find("Status: 5.1.2"), std::string::npos);
  EXPECT_NE(queue_named("nowhere.example")->status, QueueStatus::retry);
}

TEST_F(QueueManagerTest, NoBounceForNotifyNeverOrTheNullSender) {
  add_internet_connector();
  transport_.set_script([](const std::string&, const std::string&) { return reply_outcome(550, "5.7.1", "Rejected"); });
  start_queue();
  smtp::Message never = spooled_message({"x@far.example"});
  never.envelope.recipients[0].notify = smtp::DsnNotify{true, true, false, false, false};
  std::vector<spool::RecipientState> st(1);
  // The spool holds what the session wrote; rewrite it with NOTIFY=NEVER.
  ASSERT_TRUE(store_->remove(never.envelope.queue_id).has_value());
  write(never);
  queue_->enqueue(std::move(never));
  queue_->enqueue(spooled_message({"y@far.example"}, "Bounce.\r\n", ""));
  wait_idle();
  EXPECT_EQ(queue_->stats().failed, 2u);
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(queue_->stats().dsns, 0u);
}

TEST_F(QueueManagerTest, NotifySuccessGetsARelayedReport) {
  add_internet_connector();
  transport_.set_script(ok250);
  start_queue();
  smtp::Message m = spooled_message({"x@far.example"});
  m.envelope.recipients[0].notify = smtp::DsnNotify{true, false, true, false, false};
  ASSERT_TRUE(store_->remove(m.envelope.queue_id).has_value());
  write(m);
  queue_->enqueue(std::move(m));
  wait_idle();
  EXPECT_EQ(queue_->stats().dsns, 1u);
  // The report went out (to remote.example) and nothing is left.
  bool report_sent = false;
  for (const auto& c : transport_.calls())
    for (const auto& j : c.jobs)
      report_sent = report_sent || (j.mail_from.empty() && j.content.find("Action: relayed") != std::string::npos);
  EXPECT_TRUE(report_sent);
  EXPECT_TRUE(spool_contents().empty());
}

TEST_F(QueueManagerTest, MaxConnectionsPerNextHopIsRespected) {
  config::SendConnector& c = add_internet_connector();
  c.max_connections = 2;
  c.max_messages_per_connection = 1;
  transport_.hold();
  start_queue();
  for (int i = 0; i < 5; ++i) queue_->enqueue(spooled_message({"u" + std::to_string(i) + "@far.example"}));
  ASSERT_TRUE(transport_.wait_calls(2));
  // Not idle (two batches are held), and no third one however long the queue is asked.
  EXPECT_FALSE(queue_->wait_idle(std::chrono::steady_clock::now() + 100ms));
  EXPECT_EQ(transport_.held(), 2u);
  EXPECT_EQ(queue_named("far.example")->active_connections, 2u);
  transport_.release_one(ok250);
  ASSERT_TRUE(transport_.wait_calls(3));
  EXPECT_FALSE(queue_->wait_idle(std::chrono::steady_clock::now() + 100ms));
  EXPECT_EQ(transport_.calls().size(), 3u);
  EXPECT_EQ(transport_.held(), 2u);
  transport_.set_script(ok250);
  while (transport_.held() > 0) transport_.release_one(ok250);
  wait_idle();
  EXPECT_EQ(transport_.calls().size(), 5u);
  EXPECT_TRUE(spool_contents().empty());
}

TEST_F(QueueManagerTest, MessagesPerConnectionSplitTheQueueIntoBatches) {
  config::SendConnector& c = add_internet_connector();
  c.max_messages_per_connection = 2;
  transport_.hold();
  start_queue();
  queue_->stop();  // nothing starts until all five are in
  queue_.reset();
  for (int i = 0; i < 5; ++i) spooled_message({"u" + std::to_string(i) + "@far.example"});
  transport_.set_script(ok250);
  start_queue();
  queue_->recover(spool_contents());
  wait_idle();
  auto calls = transport_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].jobs.size(), 2u);
  EXPECT_EQ(calls[1].jobs.size(), 2u);
  EXPECT_EQ(calls[2].jobs.size(), 1u);
  EXPECT_TRUE(spool_contents().empty());
}

TEST_F(QueueManagerTest, MessageRateIsHonouredPerNextHop) {
  config::SendConnector& c = add_internet_connector();
  c.max_messages_per_connection = 1;
  c.max_message_rate = config::MessageRate{2, std::chrono::seconds(60)};
  for (int i = 0; i < 5; ++i) spooled_message({"u" + std::to_string(i) + "@far.example"});
  transport_.set_script(ok250);
  start_queue();
  queue_->recover(spool_contents());
  wait_idle();
  EXPECT_EQ(transport_.calls().size(), 2u);
  advance(59s);
  EXPECT_EQ(transport_.calls().size(), 2u);
  advance(1s);
  EXPECT_EQ(transport_.calls().size(), 4u);
  advance(60s);
  EXPECT_EQ(transport_.calls().size(), 5u);
  EXPECT_TRUE(spool_contents().empty());
}

TEST_F(QueueManagerTest, SmartHostConnectorGivesOneQueueForAllItsDomains) {
  config::SendConnector c;
  c.name = "partner";
  c.address_spaces = {"partner.test", "*.partner.test"};
  c.smart_hosts = {config::HostPort{"127.0.0.1", 2600, true}};
  config_.send_connectors.push_back(c);
  transport_.set_script(ok250);
  start_queue();
  queue_->enqueue(spooled_message({"a@partner.test", "b@eu.partner.test"}));
  wait_idle();
  auto calls = transport_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].hop, "smarthost:partner");
  EXPECT_EQ(calls[0].jobs[0].recipients.size(), 2u);
  EXPECT_EQ(queue_named("smarthost:partner")->delivery_type, DeliveryType::smart_host_connector_delivery);
}

TEST_F(QueueManagerTest, OneDelayNoticeAfterDelayNoticeAfterKeptAcrossARestart) {
  add_internet_connector();
  config_.queue.delay_notice_after = std::chrono::hours(4);
  transport_.set_script([](const std::string& hop, const std::string&) {
    if (hop == "far.example") return reply_outcome(451, "4.7.1", "Greylisted, try again");
    return reply_outcome(250, "2.0.0", "Ok");
  });
  start_queue();
  queue_->enqueue(spooled_message({"dave@far.example"}));
  wait_idle();
  EXPECT_EQ(queue_->stats().dsns, 0u);
  // Retries up to and past 4 hours (1m, 5m, 10m, 30m, 1h, 2h, ...).
  for (auto step : {1min, 5min, 10min, 30min, 60min, 120min}) advance(step);
  EXPECT_EQ(queue_->stats().dsns, 0u);  // 3h46m
  advance(14min);                       // 4h: the notice, without waiting for an attempt
  EXPECT_EQ(queue_->stats().dsns, 1u);
  auto notices = tracking("DSN", "dave@far.example");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0]["recipient-status"].get<std::string>().rfind("delayed 451 4.7.1", 0), 0u);
  auto all = spool_contents();
  ASSERT_EQ(all.size(), 1u);  // the notice went out; the original waits
  EXPECT_TRUE(all[0].recipients[0].delay_notified);

  restart_queue();
  advance(4h);
  EXPECT_EQ(tracking("DSN", "dave@far.example").size(), 1u);  // still only one
}

TEST_F(QueueManagerTest, RestartRebuildsNextHopQueuesFromTheSpool) {
  add_internet_connector();
  transport_.set_script([](const std::string&, const std::string& rcpt) {
    if (rcpt == "dave@far.example") return reply_outcome(421, "4.3.2", "Service shutting down");
    return reply_outcome(250, "2.0.0", "Ok");
  });
  start_queue();
  queue_->enqueue(spooled_message({"alice@example.test", "dave@far.example", "erin@near.example"}));
  wait_idle();

  restart_queue();
  auto q = queue_named("far.example");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->message_count, 1u);
  auto msgs = queue_->messages(MessageFilter{"far.example", ""});
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].last_error, "421 4.3.2 Service shutting down");
  EXPECT_EQ(msgs[0].recipients[0].state.status, RecipientStatus::delivered);
  EXPECT_EQ(msgs[0].recipients[1].queue, "far.example");
  EXPECT_EQ(msgs[0].recipients[2].state.status, RecipientStatus::delivered);
  ASSERT_TRUE(msgs[0].expiration_time.has_value());
  EXPECT_TRUE(queue_->messages(MessageFilter{"near.example", ""}).size() == 1u);  // erin done, still listed by hop

  transport_.set_script(ok250);
  advance(60s);
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_EQ(mailbox("alice").size(), 1u);  // never twice
  EXPECT_EQ(tracking("SEND", "dave@far.example").size(), 1u);
  EXPECT_EQ(tracking("SEND", "erin@near.example").size(), 1u);
}

// --- administrative actions (admin API) ------------------------------------------------------

TEST_F(QueueManagerTest, ASuspendedQueueStartsNothingUntilResumed) {
  add_internet_connector();
  transport_.set_script(ok250);
  start_queue();
  ASSERT_TRUE(queue_->suspend_queue("Local").has_value());
  queue_->enqueue(spooled_message({"alice@example.test"}));
  wait_idle();
  EXPECT_TRUE(mailbox("alice").empty());
  EXPECT_EQ(queue_named("Local")->status, QueueStatus::suspended);
  EXPECT_EQ(queue_named("Local")->message_count, 1u);

  ASSERT_TRUE(queue_->resume_queue("Local").has_value());
  wait_idle();
  EXPECT_EQ(mailbox("alice").size(), 1u);
  EXPECT_NE(queue_named("Local")->status, QueueStatus::suspended);
  EXPECT_FALSE(queue_->suspend_queue("no.such.queue").has_value());
}

TEST_F(QueueManagerTest, ASuspendedMessageWaitsWhileOthersInItsQueueGo) {
  add_internet_connector();
  transport_.set_script(ok250);
  start_queue();
  EXPECT_FALSE(queue_->suspend_queue("far.example").has_value());  // no mail for it yet: no such queue
  smtp::Message held = spooled_message({"held@far.example"});
  const std::string held_id = held.envelope.queue_id;
  // A message can only be suspended once the queue knows it: hold its queue, admit it and
  // another, suspend the one, release the queue.
  queue_->enqueue(spooled_message({"first@far.example"}));
  wait_idle();
  ASSERT_TRUE(queue_->suspend_queue("far.example").has_value());
  queue_->enqueue(std::move(held));
  queue_->enqueue(spooled_message({"other@far.example"}));
  wait_idle();
  ASSERT_TRUE(queue_->suspend_message(held_id).has_value());
  ASSERT_TRUE(queue_->resume_queue("far.example").has_value());
  wait_idle();
  EXPECT_EQ(tracking("SEND", "other@far.example").size(), 1u);
  EXPECT_TRUE(tracking("SEND", "held@far.example").empty());
  auto msgs = queue_->messages({.queue = "", .queue_id = held_id});
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs[0].suspended);

  ASSERT_TRUE(queue_->resume_message(held_id).has_value());
  wait_idle();
  EXPECT_EQ(tracking("SEND", "held@far.example").size(), 1u);
  EXPECT_TRUE(queue_->messages({.queue = "", .queue_id = held_id}).empty());
}

TEST_F(QueueManagerTest, RetryMakesAQueueInRetryTryNowAndRecordsEveryAttempt) {
  add_internet_connector();
  delivery::Outcome refused{false, delivery::Scope::connection,
                            Reply(451, "4.4.1", "connect to mx1.far.example[127.0.0.2]:25: Connection refused"),
                            "the server refused the connection"};
  transport_.fail_sessions(refused);
  start_queue();
  smtp::Message m = spooled_message({"dave@far.example"});
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();
  ASSERT_EQ(queue_named("far.example")->status, QueueStatus::retry);
  auto msgs = queue_->messages({.queue = "far.example", .queue_id = ""});
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].last_error, "451 4.4.1 connect to mx1.far.example[127.0.0.2]:25: Connection refused");
  ASSERT_EQ(msgs[0].attempts.size(), 1u);
  EXPECT_EQ(msgs[0].attempts[0].status, "deferred");
  EXPECT_EQ(msgs[0].attempts[0].remote_host, "mx1.far.example");
  EXPECT_EQ(msgs[0].attempts[0].connector, "internet");
  EXPECT_EQ(msgs[0].attempts[0].reply, msgs[0].last_error);

  // The peer is fixed; without the admin's retry nothing happens before NextRetryTime.
  transport_.set_script(ok250);
  queue_->wake();
  wait_idle();
  EXPECT_EQ(transport_.calls().size(), 1u);
  ASSERT_TRUE(queue_->retry_queue("far.example").has_value());
  wait_idle();
  EXPECT_EQ(transport_.calls().size(), 2u);
  EXPECT_EQ(tracking("SEND", "dave@far.example").size(), 1u);
  EXPECT_TRUE(queue_->messages({.queue = "", .queue_id = id}).empty());
}

TEST_F(QueueManagerTest, RetryOfOneMessageIgnoresItsRetryTime) {
  add_internet_connector();
  transport_.set_script([](const std::string&, const std::string&) { return reply_outcome(451, "4.7.1", "Greylisted"); });
  start_queue();
  smtp::Message m = spooled_message({"gail@far.example"});
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();
  EXPECT_EQ(tracking("DEFER", "gail@far.example").size(), 1u);
  transport_.set_script(ok250);
  ASSERT_TRUE(queue_->retry_message(id).has_value());
  wait_idle();
  EXPECT_EQ(tracking("SEND", "gail@far.example").size(), 1u);
  EXPECT_FALSE(queue_->retry_message(id).has_value());  // gone now
}

TEST_F(QueueManagerTest, RemoveWithoutNdrDeletesSilently) {
  start_queue();
  ASSERT_TRUE(queue_->suspend_queue("Local").has_value());
  smtp::Message m = spooled_message({"alice@example.test", "bob@example.test"});
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();
  ASSERT_TRUE(queue_->remove_message(id, false).has_value());
  wait_idle();
  EXPECT_TRUE(spool_contents().empty());
  EXPECT_TRUE(queue_->messages().empty());
  EXPECT_EQ(queue_->stats().dsns, 0u);
  auto fails = tracking("FAIL", "alice@example.test");
  ASSERT_EQ(fails.size(), 1u);
  EXPECT_EQ(fails[0]["source"], "ADMIN");
  EXPECT_EQ(fails[0]["recipient-status"], "550 5.0.0 Message removed from the queue by an administrator");
  EXPECT_FALSE(queue_->remove_message(id, false).has_value());
}

TEST_F(QueueManagerTest, RemoveWithNdrSendsTheSenderAFailureNotice) {
  add_internet_connector();
  transport_.set_script(ok250);  // the notice goes out through remote.example's queue
  start_queue();
  ASSERT_TRUE(queue_->suspend_queue("Local").has_value());
  smtp::Message m = spooled_message({"alice@example.test"});
  const std::string id = m.envelope.queue_id;
  queue_->enqueue(std::move(m));
  wait_idle();
  ASSERT_TRUE(queue_->remove_message(id, true).has_value());
  wait_idle();
  EXPECT_EQ(queue_->stats().dsns, 1u);
  ASSERT_EQ(transport_.calls().size(), 1u);
  const Call::Job notice = transport_.calls()[0].jobs[0];
  EXPECT_EQ(notice.mail_from, "");
  EXPECT_EQ(notice.recipients, std::vector<std::string>{"sender@remote.example"});
  EXPECT_NE(notice.content.find("Final-Recipient: rfc822; alice@example.test"), std::string::npos) << notice.content;
  EXPECT_NE(notice.content.find("removed from the queue by an administrator"), std::string::npos) << notice.content;
  EXPECT_TRUE(mailbox("alice").empty());
  EXPECT_TRUE(spool_contents().empty());
}

}  // namespace
}  // namespace sluice::queue
