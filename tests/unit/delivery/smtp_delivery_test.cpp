// Tests for delivery/smtp_delivery.cpp (and smtp_channel, tls_client underneath) against real
// SMTP peers on loopback (test_smtp_peer.hpp, on the test's own io_context): two messages
// over one connection, the next host after a refused connection and after a 4xx greeting,
// the bound on hosts per attempt, opportunistic STARTTLS and its plaintext retry, AUTH PLAIN
// with the password file, per-recipient replies, max_messages_per_connection, source_ip,
// a peer that never answers (greeting deadline), and the SEND protocol log lines.
#include "delivery/smtp_delivery.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "delivery/tls_client.hpp"
#include "test_smtp_peer.hpp"

namespace sluice::delivery {
namespace {

namespace fs = std::filesystem;
using testing_peer::PeerBehaviour;
using testing_peer::TestPeer;

const SystemTime kT0 = SystemTime(std::chrono::seconds(1700000000));

fs::path make_temp_dir() {
  std::string tmpl = testing::TempDir() + "/smtp_delivery_XXXXXX";
  const char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return dir;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A port on which nothing listens: taken from the kernel, then given back.
uint16_t closed_port(asio::io_context& io) {
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = a.local_endpoint().port();
  a.close();
  return port;
}

smtp::Envelope envelope(std::string id, std::vector<std::string> rcpts) {
  smtp::Envelope e;
  e.queue_id = std::move(id);
  e.mail_from = "alice@example.test";
  for (auto& r : rcpts) e.recipients.push_back(smtp::Recipient{r, {}, ""});
  return e;
}

class SmtpDeliveryTest : public ::testing::Test {
 protected:
  SmtpDeliveryTest()
      : dir_(make_temp_dir()), clock_(kT0), log_(dir_ / "protocol", log::ProtocolLogKind::send, "mx1", clock_),
        ids_(clock_), tls_(std::move(*make_client_tls_context())),
        ctx_{io_.get_executor(), log_, ids_, "mx1.example.test", *tls_, {}} {
    connector_.name = "internet";
    connector_.helo_name = "out.example.test";
    connector_.address_spaces = {"*"};
    connector_.connect_timeout = std::chrono::seconds(5);
    ctx_.timeouts.greeting = ctx_.timeouts.command = ctx_.timeouts.data_init = ctx_.timeouts.data_end =
        ctx_.timeouts.data_block = ctx_.timeouts.tls_handshake = std::chrono::seconds(10);
  }

  routing::Target target(const TestPeer& peer, std::string host, std::string ip = "127.0.0.1") {
    return routing::Target{std::move(host), std::move(ip), peer.port(), 10};
  }

  // Runs one batch to its end; the peers are stopped afterwards. Bounded: a hung batch fails
  // the test after 60 s instead of hanging the run.
  BatchResult run(const routing::TargetList& targets, std::vector<DeliveryJob> jobs) {
    std::optional<BatchResult> result;
    asio::co_spawn(io_, deliver_batch(ctx_, targets, connector_, std::move(jobs)),
                   [&](std::exception_ptr e, BatchResult r) {
                     EXPECT_FALSE(e) << "deliver_batch threw";
                     result = std::move(r);
                     io_.stop();
                   });
    io_.run_for(std::chrono::seconds(60));
    EXPECT_TRUE(result.has_value()) << "deliver_batch did not finish";
    log_.flush();
    return result.value_or(BatchResult{});
  }

  std::string protocol_log() {
    log_.flush();
    return read_file(log_.current_path());
  }

  fs::path dir_;
  ManualClock clock_;
  log::ProtocolLog log_;
  log::SessionIdGenerator ids_;
  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> tls_;
  SmtpDeliveryContext ctx_;
  config::SendConnector connector_;
};

const std::string kContent = "Subject: hi\r\n\r\nline one\r\n.leading dot\r\n";

TEST_F(SmtpDeliveryTest, TwoMessagesOverOneConnection) {
  TestPeer peer(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net", "carol@example.net"});
  smtp::Envelope e2 = envelope("MSG2", {"dave@example.net"});
  const std::string c2 = "Subject: two\r\n\r\nsecond\r\n";
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt},
                      {{&e1, &kContent, {0, 1}}, {&e2, &c2, {0}}});

  EXPECT_EQ(peer.connections, 1);
  ASSERT_EQ(peer.messages.size(), 2u);
  EXPECT_EQ(peer.messages[0].mail_from, "alice@example.test");
  EXPECT_EQ(peer.messages[0].rcpt_to, (std::vector<std::string>{"bob@example.net", "carol@example.net"}));
  EXPECT_EQ(peer.messages[0].content, kContent);  // dot-stuffed on the wire, unstuffed by the peer
  EXPECT_EQ(peer.messages[1].content, c2);
  EXPECT_EQ(peer.commands.front(), "EHLO out.example.test");
  EXPECT_EQ(peer.commands.back(), "QUIT");

  ASSERT_EQ(r.per_job.size(), 2u);
  ASSERT_EQ(r.per_job[0].size(), 2u);
  EXPECT_EQ(r.per_job[0][0].index, 0u);
  EXPECT_EQ(r.per_job[0][1].index, 1u);
  for (const auto& job : r.per_job)
    for (const auto& rcpt : job) EXPECT_EQ(rcpt.outcome.reply.code(), 250) << rcpt.outcome.reply.text();
  EXPECT_EQ(r.attempt.remote_host, "mx.example.net");
  EXPECT_EQ(r.attempt.remote_ip, "127.0.0.1");
  EXPECT_EQ(r.attempt.port, peer.port());
  EXPECT_EQ(r.attempt.messages, 2u);
  EXPECT_EQ(r.attempt.tls, "");
  EXPECT_FALSE(r.attempt.session_failure.has_value());
  EXPECT_EQ(r.connections.size(), 1u);
}

TEST_F(SmtpDeliveryTest, ALargeMessageArrivesWhole) {
  // Larger than one 64 KB write block and the kernel's socket buffers, over TLS: the content
  // goes out in several blocks, each under its own deadline, with lines that need stuffing.
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true});
  std::string big = "Subject: big\r\n\r\n";
  for (int i = 0; i < 30000; ++i)
    big += (i % 7 == 0 ? "." : "") + std::string("line ") + std::to_string(i) + std::string(50, 'x') + "\r\n";
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &big, {0}}});
  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_TRUE(peer.messages[0].tls);
  EXPECT_EQ(peer.messages[0].content.size(), big.size());
  EXPECT_TRUE(peer.messages[0].content == big);
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 250);
}

TEST_F(SmtpDeliveryTest, SendProtocolLogFollowsExchangeLayout) {
  TestPeer peer(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}});

  const std::string text = protocol_log();
  EXPECT_NE(text.find("#Log-type: SMTP Send Protocol Log"), std::string::npos);
  std::vector<std::string> records;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.starts_with('#')) records.push_back(line);
  ASSERT_GE(records.size(), 8u);
  const std::string remote = "127.0.0.1:" + std::to_string(peer.port());
  // First: '*' attempting to connect, local endpoint still unknown.
  EXPECT_NE(records[0].find(",mx1\\internet,"), std::string::npos) << records[0];
  EXPECT_NE(records[0].find(",0,," + remote + ",*,mx.example.net,attempting to connect"), std::string::npos)
      << records[0];
  // Then '+' with both endpoints, then the greeting received.
  EXPECT_NE(records[1].find(",1,127.0.0.1:"), std::string::npos) << records[1];
  EXPECT_NE(records[1].find("," + remote + ",+,,"), std::string::npos) << records[1];
  EXPECT_NE(records[2].find(",<,220 peer.test ESMTP test peer,"), std::string::npos) << records[2];
  EXPECT_NE(records[3].find(",>,EHLO out.example.test,"), std::string::npos) << records[3];
  EXPECT_NE(text.find(",*,MSG1,sending message"), std::string::npos);
  EXPECT_NE(text.find(",>,MAIL FROM:<alice@example.test>"), std::string::npos);
  EXPECT_NE(text.find(",<,250 2.0.0 Ok: queued,"), std::string::npos);
  EXPECT_EQ(text.find("leading dot"), std::string::npos) << "message content must not be logged";
  EXPECT_NE(records.back().find(",-,,"), std::string::npos) << records.back();
  // One session id and consecutive sequence numbers throughout.
  const std::string sid = records[0].substr(records[0].find("internet,") + 9, 16);
  for (size_t i = 0; i < records.size(); ++i)
    EXPECT_NE(records[i].find(sid + "," + std::to_string(i) + ","), std::string::npos) << records[i];
}

TEST_F(SmtpDeliveryTest, NoProtocolLogWhenTheConnectorSaysSo) {
  connector_.protocol_log = false;
  TestPeer peer(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}});
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 250);
  EXPECT_EQ(protocol_log().find("attempting to connect"), std::string::npos);
}

TEST_F(SmtpDeliveryTest, NextHostAfterConnectionRefused) {
  TestPeer peer(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  const uint16_t dead = closed_port(io_);
  BatchResult r = run({{{"mx1.example.net", "127.0.0.1", dead, 10}, target(peer, "mx2.example.net")}, std::nullopt},
                      {{&e1, &kContent, {0}}});

  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 250);
  ASSERT_EQ(r.connections.size(), 2u);
  ASSERT_TRUE(r.connections[0].session_failure.has_value());
  EXPECT_EQ(r.connections[0].session_failure->scope, Scope::connection);
  EXPECT_FALSE(r.connections[0].session_failure->permanent);
  EXPECT_NE(r.connections[0].session_failure->reply.text().find("Connection refused"), std::string::npos)
      << r.connections[0].session_failure->reply.text();
  EXPECT_EQ(r.attempt.remote_host, "mx2.example.net");
  EXPECT_FALSE(r.attempt.session_failure.has_value());
  const std::string text = protocol_log();
  EXPECT_NE(text.find("Connection refused,failed to connect"), std::string::npos) << text;
}

TEST_F(SmtpDeliveryTest, NextHostAfterA4xxGreeting) {
  TestPeer busy(io_, "127.0.0.1", PeerBehaviour{.greeting = "421 4.3.2 busy, try later"});
  TestPeer good(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(busy, "mx1.example.net"), target(good, "mx2.example.net")}, std::nullopt},
                      {{&e1, &kContent, {0}}});

  EXPECT_EQ(busy.connections, 1);
  EXPECT_TRUE(busy.messages.empty());
  ASSERT_EQ(good.messages.size(), 1u);
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 250);
  ASSERT_EQ(r.connections.size(), 2u);
  ASSERT_TRUE(r.connections[0].session_failure.has_value());
  EXPECT_EQ(r.connections[0].session_failure->reply.code(), 421);
}

TEST_F(SmtpDeliveryTest, EveryHostFailingDefersEveryRecipientWithTheLastError) {
  TestPeer busy(io_, "127.0.0.1", PeerBehaviour{.greeting = "450 4.3.2 busy"});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net", "carol@example.net"});
  smtp::Envelope e2 = envelope("MSG2", {"dave@example.net"});
  const uint16_t dead = closed_port(io_);
  BatchResult r = run({{{"mx1.example.net", "127.0.0.1", dead, 10}, target(busy, "mx2.example.net")}, std::nullopt},
                      {{&e1, &kContent, {0, 1}}, {&e2, &kContent, {0}}});

  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_EQ(r.attempt.session_failure->reply.code(), 450);
  EXPECT_EQ(r.attempt.remote_host, "mx2.example.net");
  ASSERT_EQ(r.per_job.size(), 2u);
  EXPECT_EQ(r.per_job[0].size(), 2u);
  EXPECT_EQ(r.per_job[1].size(), 1u);
  for (const auto& job : r.per_job)
    for (const auto& rcpt : job) {
      EXPECT_FALSE(rcpt.outcome.permanent);
      EXPECT_EQ(rcpt.outcome.reply.code(), 450);
    }
}

TEST_F(SmtpDeliveryTest, StopsAfterMaxHostsPerAttempt) {
  connector_.max_hosts_per_attempt = 2;
  TestPeer a(io_, "127.0.0.1", PeerBehaviour{.greeting = "421 4.3.2 a busy"});
  TestPeer b(io_, "127.0.0.1", PeerBehaviour{.greeting = "421 4.3.2 b busy"});
  TestPeer c(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  // mx1 has two addresses: one host, two connection attempts.
  BatchResult r = run({{target(a, "mx1.example.net"), target(a, "mx1.example.net"), target(b, "mx2.example.net"),
                        target(c, "mx3.example.net")},
                       std::nullopt},
                      {{&e1, &kContent, {0}}});
  EXPECT_EQ(a.connections, 2);
  EXPECT_EQ(b.connections, 1);
  EXPECT_EQ(c.connections, 0);
  EXPECT_EQ(r.connections.size(), 3u);
  EXPECT_NE(r.per_job[0][0].outcome.reply.text().find("b busy"), std::string::npos);
}

TEST_F(SmtpDeliveryTest, PerRecipientReplies) {
  PeerBehaviour b;
  b.rcpt_replies["nobody@example.net"] = "550 5.1.1 No such user";
  b.rcpt_replies["full@example.net"] = "452 4.2.2 Mailbox full";
  TestPeer peer(io_, "127.0.0.1", b);
  smtp::Envelope e1 = envelope("MSG1", {"nobody@example.net", "bob@example.net", "full@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0, 1, 2}}});

  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_EQ(peer.messages[0].rcpt_to, std::vector<std::string>{"bob@example.net"});
  ASSERT_EQ(r.per_job[0].size(), 3u);
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 550);
  EXPECT_TRUE(r.per_job[0][0].outcome.permanent);
  EXPECT_EQ(r.per_job[0][1].outcome.reply.code(), 250);
  EXPECT_EQ(r.per_job[0][2].outcome.reply.code(), 452);
  EXPECT_FALSE(r.per_job[0][2].outcome.permanent);
  EXPECT_FALSE(r.attempt.session_failure.has_value());
}

TEST_F(SmtpDeliveryTest, OnlyTheGivenRecipientsAreSent) {
  TestPeer peer(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"done@example.net", "bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {1}}});
  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_EQ(peer.messages[0].rcpt_to, std::vector<std::string>{"bob@example.net"});
  ASSERT_EQ(r.per_job[0].size(), 1u);
  EXPECT_EQ(r.per_job[0][0].index, 1u);
}

TEST_F(SmtpDeliveryTest, A421AfterAMessageSendsTheRestToTheNextHost) {
  TestPeer dying(io_, "127.0.0.1", PeerBehaviour{.data_end_reply = "421 4.3.2 going down"});
  TestPeer good(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  smtp::Envelope e2 = envelope("MSG2", {"carol@example.net"});
  BatchResult r = run({{target(dying, "mx1.example.net"), target(good, "mx2.example.net")}, std::nullopt},
                      {{&e1, &kContent, {0}}, {&e2, &kContent, {0}}});
  // The message in flight got the 421: deferred (it may have arrived; the queue retries it).
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 421);
  EXPECT_FALSE(r.per_job[0][0].outcome.permanent);
  // The next one was never tried on the dying host: it goes to the next.
  ASSERT_EQ(good.messages.size(), 1u);
  EXPECT_EQ(good.messages[0].rcpt_to, std::vector<std::string>{"carol@example.net"});
  EXPECT_EQ(r.per_job[1][0].outcome.reply.code(), 250);
  EXPECT_EQ(r.attempt.remote_host, "mx2.example.net");
  EXPECT_FALSE(r.attempt.session_failure.has_value());
}

TEST_F(SmtpDeliveryTest, MaxMessagesPerConnectionOpensANewConnection) {
  connector_.max_messages_per_connection = 1;
  TestPeer peer(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  smtp::Envelope e2 = envelope("MSG2", {"carol@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}, {&e2, &kContent, {0}}});
  EXPECT_EQ(peer.connections, 2);
  EXPECT_EQ(peer.messages.size(), 2u);
  EXPECT_EQ(r.connections.size(), 2u);
  EXPECT_EQ(r.per_job[1][0].outcome.reply.code(), 250);
}

TEST_F(SmtpDeliveryTest, OpportunisticStartTls) {
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}});

  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_TRUE(peer.messages[0].tls);
  EXPECT_EQ(peer.messages[0].content, kContent);
  EXPECT_TRUE(r.attempt.tls.starts_with("TLSv1.3 ")) << r.attempt.tls;
  // EHLO again after STARTTLS (RFC 3207 §4.2).
  EXPECT_EQ(std::count(peer.commands.begin(), peer.commands.end(), "EHLO out.example.test"), 2);
  EXPECT_NE(protocol_log().find("TLS negotiation succeeded"), std::string::npos);
}

TEST_F(SmtpDeliveryTest, NoStartTlsWhenTheConnectorSaysNone) {
  connector_.tls = config::TlsMode::none;
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}});
  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_FALSE(peer.messages[0].tls);
  EXPECT_EQ(r.attempt.tls, "");
}

TEST_F(SmtpDeliveryTest, FailedHandshakeRetriesTheSameHostInPlaintext) {
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true, .tls_garbage = true});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}});

  EXPECT_EQ(peer.connections, 2);
  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_FALSE(peer.messages[0].tls);
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 250);
  ASSERT_EQ(r.connections.size(), 2u);
  EXPECT_TRUE(r.connections[0].session_failure.has_value());
  EXPECT_NE(protocol_log().find("TLS negotiation failed"), std::string::npos);
}

TEST_F(SmtpDeliveryTest, RequiredTlsDoesNotFallBackToPlaintext) {
  connector_.tls = config::TlsMode::required;
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true, .tls_garbage = true});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}});
  EXPECT_EQ(peer.connections, 1);
  EXPECT_TRUE(peer.messages.empty());
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_FALSE(r.per_job[0][0].outcome.reply.positive());
}

class SmtpDeliveryAuthTest : public SmtpDeliveryTest {
 protected:
  void SetUp() override {
    const fs::path secret = dir_ / "partner.secret";
    std::ofstream(secret) << "s3cret pass\n";
    connector_.auth = config::SendAuth{"app", secret.string()};
  }
};

TEST_F(SmtpDeliveryAuthTest, AuthPlainOverTlsWithThePasswordFile) {
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true, .auth = std::make_pair("app", "s3cret pass")});
  smtp::Envelope e1 = envelope("MSG1", {"bob@partner.test"});
  BatchResult r = run({{target(peer, "[127.0.0.1]")}, std::nullopt}, {{&e1, &kContent, {0}}});

  ASSERT_EQ(peer.messages.size(), 1u) << r.per_job[0][0].outcome.reply.text();
  EXPECT_EQ(peer.messages[0].auth_user, "app");
  EXPECT_TRUE(peer.messages[0].tls);
  const std::string text = protocol_log();
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << "the password must not reach the log";
  // Nor its AUTH PLAIN form, base64("\0app\0s3cret pass").
  EXPECT_EQ(text.find("AGFwcABzM2NyZXQgcGFzcw"), std::string::npos);
}

TEST_F(SmtpDeliveryAuthTest, WrongPasswordIsNotDelivered) {
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true, .auth = std::make_pair("app", "other")});
  smtp::Envelope e1 = envelope("MSG1", {"bob@partner.test"});
  BatchResult r = run({{target(peer, "[127.0.0.1]")}, std::nullopt}, {{&e1, &kContent, {0}}});
  EXPECT_TRUE(peer.messages.empty());
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_EQ(r.attempt.session_failure->reply.code(), 535);
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 535);
  // Our credentials are wrong, not the users' mail: it waits for the admin, never bounces.
  EXPECT_FALSE(r.per_job[0][0].outcome.permanent);
}

TEST_F(SmtpDeliveryAuthTest, MissingPasswordFileDefersWithoutConnecting) {
  connector_.auth->password_file = (dir_ / "missing.secret").string();
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true, .auth = std::make_pair("app", "x")});
  smtp::Envelope e1 = envelope("MSG1", {"bob@partner.test"});
  BatchResult r = run({{target(peer, "[127.0.0.1]")}, std::nullopt}, {{&e1, &kContent, {0}}});
  EXPECT_EQ(peer.connections, 0);
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_EQ(r.attempt.session_failure->reply.code(), 451);
  EXPECT_EQ(r.attempt.session_failure->scope, Scope::queue);
  EXPECT_NE(r.attempt.session_failure->reply.text().find("missing.secret"), std::string::npos);
  EXPECT_FALSE(r.per_job[0][0].outcome.permanent);
}

TEST_F(SmtpDeliveryTest, BindsTheSourceIp) {
  connector_.source_ip = "127.0.0.5";
  TestPeer peer(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}});
  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_EQ(peer.messages[0].client_ip, "127.0.0.5");
  EXPECT_NE(protocol_log().find(",127.0.0.5:"), std::string::npos);
}

TEST_F(SmtpDeliveryTest, SourceIpOfTheWrongFamilyFailsThatTargetOnly) {
  connector_.source_ip = "127.0.0.1";
  TestPeer peer(io_, "127.0.0.1", {});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{{"mx.example.net", "::1", peer.port(), 10}, target(peer, "mx.example.net")}, std::nullopt},
                      {{&e1, &kContent, {0}}});
  EXPECT_EQ(peer.messages.size(), 1u);
  ASSERT_EQ(r.connections.size(), 2u);
  ASSERT_TRUE(r.connections[0].session_failure.has_value());
  EXPECT_NE(r.connections[0].session_failure->reply.text().find("IPv6"), std::string::npos);
}

TEST_F(SmtpDeliveryTest, APeerThatNeverAnswersTimesOut) {
  ctx_.timeouts.greeting = std::chrono::seconds(1);
  TestPeer silent(io_, "127.0.0.1", PeerBehaviour{.greeting = ""});
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(silent, "mx.example.net")}, std::nullopt}, {{&e1, &kContent, {0}}});
  EXPECT_EQ(silent.connections, 1);
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_FALSE(r.attempt.session_failure->permanent);
  EXPECT_EQ(r.attempt.session_failure->reply.code(), 421);
  EXPECT_FALSE(r.per_job[0][0].outcome.reply.positive());
  EXPECT_NE(protocol_log().find("timeout waiting for the greeting reply"), std::string::npos) << protocol_log();
}

TEST_F(SmtpDeliveryTest, NoTargetGivesEveryRecipientTheRoutingError) {
  smtp::Envelope e1 = envelope("MSG1", {"bob@example.net"});
  routing::TargetList none;
  none.error = Error{ErrorClass::permanent, "no MX", Reply(550, "5.1.2", "Host or domain name not found")};
  BatchResult r = run(none, {{&e1, &kContent, {0}}});
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_EQ(r.per_job[0][0].outcome.reply.code(), 550);
  EXPECT_TRUE(r.per_job[0][0].outcome.permanent);
}

}  // namespace
}  // namespace sluice::delivery
