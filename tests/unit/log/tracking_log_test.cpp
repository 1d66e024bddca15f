// tests/unit/log/tracking_log_test.cpp: the message tracking log writes one valid JSON object
// per line with every documented key in order, survives hostile strings, and rotates.
#include "log/tracking_log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "log_test_util.hpp"

namespace sluice::log {
namespace {

namespace fs = std::filesystem;
using testing_util::at_utc;
using testing_util::list_files;
using testing_util::read_file;
using Strings = std::vector<std::string>;

TrackingEvent receive_event(std::string recipient) {
  TrackingEvent e;
  e.event_id = "RECEIVE";
  e.source = "SMTP";
  e.queue_id = "0CHG5V1M2KT01";
  e.message_id = "<abc@client.example.test>";
  e.sender = "alice@client.example.test";
  e.recipient = std::move(recipient);
  e.recipient_status = "250 2.1.5 Ok";
  e.client_ip = "192.0.2.7";
  e.client_hostname = "client.example.test";
  e.server_ip = "10.0.0.6";
  e.connector = "Default Frontend";
  e.related_recipient = "postmaster@example.test";
  e.source_context = "";
  e.return_path = "alice@client.example.test";
  e.total_bytes = 4242;
  e.recipient_count = 2;
  e.tls_version = "TLSv1.3";
  e.tls_cipher = "TLS_AES_256_GCM_SHA384";
  e.auth_user = "alice";
  return e;
}

Strings lines_of(const std::string& text) {
  Strings out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class TrackingLogTest : public ::testing::Test {
 protected:
  fs::path dir_ = testing_util::make_temp_dir() / "logs" / "tracking";
  ManualClock clock_{at_utc(9, 14, 30, 0, 125)};
};

TEST_F(TrackingLogTest, OneJsonObjectPerRecipientWithExchangeFieldNames) {
  TrackingLog log(dir_, "mx1.example.test", clock_);
  log.write(receive_event("bob@example.test"));
  log.write(receive_event("carol@example.test"));
  log.flush();
  EXPECT_EQ(list_files(dir_), Strings{"MSGTRK20240309-1.LOG"});
  const std::string text = read_file(dir_ / "MSGTRK20240309-1.LOG");
  ASSERT_TRUE(text.ends_with("\n"));
  const Strings lines = lines_of(text);
  ASSERT_EQ(lines.size(), 2u);  // no header block: every line is JSON
  const auto j = nlohmann::ordered_json::parse(lines[0]);
  Strings keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (Strings{"date-time", "client-ip", "client-hostname", "server-ip",
                           "server-hostname", "source-context", "connector-id", "source",
                           "event-id", "internal-message-id", "message-id", "recipient-address",
                           "recipient-status", "total-bytes", "recipient-count",
                           "related-recipient-address", "sender-address", "return-path",
                           "tls-version", "tls-cipher", "tls-verified", "auth-user",
                           "schema-version"}));
  EXPECT_EQ(j["date-time"], "2024-03-09T14:30:00.125Z");
  EXPECT_EQ(j["client-ip"], "192.0.2.7");
  EXPECT_EQ(j["client-hostname"], "client.example.test");
  EXPECT_EQ(j["server-ip"], "10.0.0.6");
  EXPECT_EQ(j["server-hostname"], "mx1.example.test");
  EXPECT_EQ(j["source-context"], "");
  EXPECT_EQ(j["connector-id"], "Default Frontend");
  EXPECT_EQ(j["source"], "SMTP");
  EXPECT_EQ(j["event-id"], "RECEIVE");
  EXPECT_EQ(j["internal-message-id"], "0CHG5V1M2KT01");
  EXPECT_EQ(j["message-id"], "<abc@client.example.test>");
  EXPECT_EQ(j["recipient-address"], "bob@example.test");
  EXPECT_EQ(j["recipient-status"], "250 2.1.5 Ok");
  EXPECT_EQ(j["total-bytes"], 4242);
  EXPECT_EQ(j["recipient-count"], 2);
  EXPECT_EQ(j["related-recipient-address"], "postmaster@example.test");
  EXPECT_EQ(j["sender-address"], "alice@client.example.test");
  EXPECT_EQ(j["return-path"], "alice@client.example.test");
  EXPECT_EQ(j["tls-version"], "TLSv1.3");
  EXPECT_EQ(j["tls-cipher"], "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(j["tls-verified"], "");  // inbound: the client sent no certificate to check
  EXPECT_EQ(j["auth-user"], "alice");
  EXPECT_EQ(j["schema-version"], TrackingLog::kSchemaVersion);
  EXPECT_FALSE(j.contains("message-subject"));
  EXPECT_EQ(nlohmann::json::parse(lines[1])["recipient-address"], "carol@example.test");
}

TEST_F(TrackingLogTest, NullSenderAndDefaults) {
  TrackingLog log(dir_, "mx1", clock_);
  TrackingEvent e;
  e.event_id = "DSN";
  e.source = "DSN";
  e.return_path = "<>";
  const auto j = nlohmann::json::parse(log.format(clock_.now(), e));
  EXPECT_EQ(j["return-path"], "<>");
  EXPECT_EQ(j["sender-address"], "");
  EXPECT_EQ(j["total-bytes"], 0);
  EXPECT_EQ(j["recipient-count"], 0);
  EXPECT_EQ(j["tls-version"], "");
  EXPECT_EQ(j["tls-cipher"], "");
  EXPECT_EQ(j["tls-verified"], "");
  EXPECT_EQ(j["auth-user"], "");
}

TEST_F(TrackingLogTest, OutboundVerificationResultIsKeptVerbatim) {
  TrackingLog log(dir_, "mx1", clock_);
  TrackingEvent e;
  e.event_id = "DEFER";
  e.tls_version = "TLSv1.3";
  e.tls_verified = "unverified: certificate verify failed: self-signed certificate";
  const auto j = nlohmann::json::parse(log.format(clock_.now(), e));
  EXPECT_EQ(j["tls-verified"], "unverified: certificate verify failed: self-signed certificate");
}

TEST_F(TrackingLogTest, HostileStringsStayOneValidLine) {
  TrackingLog log(dir_, "mx1", clock_);
  TrackingEvent e = receive_event("bob@example.test");
  e.client_hostname = "evil\r\n{\"event-id\":\"DELIVER\"}";
  e.message_id = std::string("<bad-utf8-\xC3\x28-\xFF@x>");  // invalid UTF-8 from a peer
  e.recipient_status = "550 5.1.1 \"no\" \\ \t\x01";
  const std::string line = log.format(clock_.now(), e);
  ASSERT_TRUE(line.ends_with("\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["client-hostname"], e.client_hostname);
  EXPECT_EQ(j["event-id"], "RECEIVE");
  EXPECT_EQ(j["recipient-status"], e.recipient_status);
  // Bad bytes become U+FFFD; the rest of the value survives.
  const std::string mid = j["message-id"];
  EXPECT_TRUE(mid.starts_with("<bad-utf8-"));
  EXPECT_NE(mid.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_TRUE(mid.ends_with("@x>"));
}

TEST_F(TrackingLogTest, RotatesBySizeAndDay) {
  LogRetention r;
  const size_t line_size = TrackingLog(dir_, "mx1", clock_).format(clock_.now(), receive_event("a@x")).size();
  r.max_file_size = 2 * line_size;
  ManualClock clock(at_utc(9, 23, 59, 59, 0));
  TrackingLog log(dir_, "mx1", clock, r);
  for (int i = 0; i < 3; ++i) log.write(receive_event("a@x"));
  clock.advance(std::chrono::seconds(1));
  log.write(receive_event("a@x"));
  log.flush();
  EXPECT_EQ(list_files(dir_), (Strings{"MSGTRK20240309-1.LOG", "MSGTRK20240309-2.LOG",
                                       "MSGTRK20240310-1.LOG"}));
  size_t total = 0;
  for (const auto& name : list_files(dir_))
    for (const auto& line : lines_of(read_file(dir_ / name))) {
      EXPECT_TRUE(nlohmann::json::accept(line)) << line;
      ++total;
    }
  EXPECT_EQ(total, 4u);
}

TEST_F(TrackingLogTest, TickWritesAfterASecond) {
  TrackingLog log(dir_, "mx1", clock_);
  log.write(receive_event("bob@example.test"));
  const fs::path p = log.current_path();
  EXPECT_EQ(p, dir_ / "MSGTRK20240309-1.LOG");
  log.tick();
  EXPECT_EQ(read_file(p), "");
  clock_.advance(std::chrono::seconds(1));
  log.tick();
  EXPECT_EQ(lines_of(read_file(p)).size(), 1u);
}

}  // namespace
}  // namespace sluice::log
