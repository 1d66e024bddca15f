// tests/unit/cli/admin_commands_test.cpp: the commands that talk to the admin API, run
// through run_cli against an in-process HTTP server on port 0 (answers shaped like admin/'s),
// and the errors a person must be able to act on (not running, token missing or refused, no
// such message); the mailq, queue, message and track layouts.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/admin_client.hpp"
#include "cli/cli_app.hpp"
#include "cli/mailq_command.hpp"
#include "cli/message_command.hpp"
#include "cli/queue_command.hpp"
#include "cli/track_command.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json kMessage = json::parse(R"({
  "identity": "0CHG5V1M2KT01", "queue_id": "0CHG5V1M2KT01", "queues": ["example.net"],
  "from_address": "alice@example.org", "message_id": "<m1@example.org>", "size": 2048,
  "status": "Retry", "date_received": "2026-03-04T10:11:12Z", "expiration_time": "2026-03-09T10:11:12Z",
  "last_error": "451 4.3.0 mailbox busy", "retry_count": 2,
  "recipients": [
    {"address": "bob@example.net", "queue": "example.net", "status": "deferred", "last_reply": "451 4.3.0 mailbox busy", "attempts": 2, "next_retry_time": "2026-03-04T10:21:12Z"},
    {"address": "carol@example.net", "queue": "example.net", "status": "delivered", "last_reply": "250 2.0.0 ok", "attempts": 1, "next_retry_time": null}
  ],
  "attempts": [{"time": "2026-03-04T10:11:13Z", "status": "deferred", "remote_host": "mx.example.net", "remote_ip": "192.0.2.7", "port": 25, "tls": "TLSv1.3", "reply": "451 4.3.0 mailbox busy"}],
  "headers": [{"name": "Subject", "value": "hello"}],
  "transcript": "< 220 mx.example.net ESMTP\n> EHLO us\n> AUTH PLAIN ****\n< 451 4.3.0 mailbox busy"
})");

TEST(Mailq, PostfixFormat) {
  const std::string text = format_mailq(json::array({kMessage}), /*utc=*/true);
  EXPECT_EQ(text,
            "----Queue ID-----  --Size-- ---Arrival Time---- -Sender/Recipient-------\n"
            "0CHG5V1M2KT01          2048 Wed Mar  4 10:11:12  alice@example.org\n"
            "(451 4.3.0 mailbox busy)\n"
            "                                                 bob@example.net\n"
            "\n"
            "-- 2 Kbytes in 1 Request.\n");
}

TEST(Mailq, EmptyAndStatusCharacters) {
  EXPECT_EQ(format_mailq(json::array()), "Mail queue is empty\n");
  json suspended = kMessage;
  suspended["status"] = "Suspended";
  suspended["from_address"] = "";
  json active = kMessage;
  active["status"] = "Active";
  const std::string text = format_mailq(json::array({suspended, active}), true);
  EXPECT_NE(text.find("0CHG5V1M2KT01    !     2048 Wed Mar  4 10:11:12  MAILER-DAEMON\n"), std::string::npos) << text;
  EXPECT_NE(text.find("0CHG5V1M2KT01    *     2048"), std::string::npos) << text;
  EXPECT_NE(text.find("-- 4 Kbytes in 2 Requests.\n"), std::string::npos);
}

TEST(ApiTime, Forms) {
  EXPECT_EQ(api_time(json("1970-01-01T00:01:00Z")), 60);
  EXPECT_EQ(api_time(json("1970-01-01T01:01:00.123+01:00")), 60);
  EXPECT_EQ(api_time(json(60)), 60);
  EXPECT_EQ(api_time(json(60'000'000'000'000LL)), 60'000'000);  // microseconds
  EXPECT_EQ(api_time(json(nullptr)), -1);
  EXPECT_EQ(api_time(json("yesterday")), -1);
}

TEST(Tables, QueueAndMessages) {
  const json queues = json::parse(R"([{"identity": "example.net", "delivery_type": "DnsConnectorDelivery",
    "status": "Retry", "message_count": 3, "next_retry_time": "2026-03-04T10:21:12Z", "last_error": "451 4.3.0 mailbox busy"}])");
  EXPECT_EQ(format_queues(queues),
            "Identity     DeliveryType          Status  MessageCount  NextRetryTime         LastError\n"
            "example.net  DnsConnectorDelivery  Retry   3             2026-03-04T10:21:12Z  451 4.3.0 mailbox busy\n");
  const std::string messages = format_messages(json::array({kMessage}));
  EXPECT_NE(messages.find("0CHG5V1M2KT01  example.net  Retry   alice@example.org  bob@example.net,carol@example.net  "
                          "2048  2           451 4.3.0 mailbox busy"),
            std::string::npos)
      << messages;
  EXPECT_EQ(format_messages(json::array()), "No messages match.\n");
}

TEST(Tables, MessageShow) {
  const std::string text = format_message(kMessage);
  EXPECT_NE(text.find("LastError:      451 4.3.0 mailbox busy\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mx.example.net[192.0.2.7]:25  TLSv1.3"), std::string::npos) << text;
  EXPECT_NE(text.find("  Subject: hello\n"), std::string::npos);
  EXPECT_NE(text.find("Transcript of the last failed attempt:\n  < 220 mx.example.net ESMTP\n"), std::string::npos);
  EXPECT_NE(text.find("  > AUTH PLAIN ****\n"), std::string::npos);
}

TEST(Tables, Track) {
  const json records = json::parse(R"([{"date-time": "2026-03-04T10:11:12.000Z", "event-id": "DEFER",
    "internal-message-id": "0CHG5V1M2KT01", "sender-address": "", "recipient-address": "bob@example.net",
    "recipient-status": "451 4.3.0 mailbox busy"}])");
  EXPECT_EQ(format_track(records),
            "Time                      Event  QueueId        Sender  Recipient        Status\n"
            "2026-03-04T10:11:12.000Z  DEFER  0CHG5V1M2KT01  <>      bob@example.net  451 4.3.0 mailbox busy\n");
}

// A stand-in for sluiced's admin API on a free loopback port, requiring token "t0k".
class FakeAdmin {
 public:
  FakeAdmin() {
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      seen_.push_back(req.method + " " + req.path + (req.params.empty() ? "" : "?" + params(req)));
      if (req.get_header_value("Authorization") != "Bearer t0k") {
        res.status = 401;
        res.set_content(R"({"error":{"status":401,"message":"missing or wrong bearer token"}})", "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_.Get("/api/v1/queues", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"([{"identity":"example.net","delivery_type":"DnsConnectorDelivery","status":"Retry",
        "message_count":1,"next_retry_time":null,"last_error":"451 4.3.0 mailbox busy"}])", "application/json");
    });
    server_.Get("/api/v1/messages", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(json::array({kMessage}).dump(), "application/json");
    });
    server_.Get(R"(/api/v1/messages/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
      if (req.matches[1] == "0CHG5V1M2KT01") return res.set_content(kMessage.dump(), "application/json");
      res.status = 404;
      res.set_content(R"({"error":{"status":404,"message":"no message NOPE in the queue"}})", "application/json");
    });
    server_.Get(R"(/api/v1/messages/([^/]+)/export)", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("Subject: hello\r\n\r\nbody\r\n", "message/rfc822");
    });
    server_.Post(R"(/api/v1/messages/([^/]+)/([a-z]+))", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"result":"done"})", "application/json");
    });
    server_.Post(R"(/api/v1/queues/([^/]+)/([a-z]+))", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"result":"done"})", "application/json");
    });
    server_.Post("/api/v1/reload", [](const httplib::Request&, httplib::Response& res) {
      res.status = 422;
      res.set_content(R"({"error":{"status":422,"message":"configuration not reloaded, the old one keeps running: x.toml:3:1: unknown key"}})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port already listens (connections wait in the backlog); stop() only works
    // once the accept loop runs, so wait for it (bounded).
    for (int i = 0; i < 10'000'000 && !server_.is_running(); ++i) std::this_thread::yield();
  }
  ~FakeAdmin() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  const std::vector<std::string>& seen() const { return seen_; }

 private:
  static std::string params(const httplib::Request& req) {
    std::string out;
    for (const auto& [k, v] : req.params) out += (out.empty() ? "" : "&") + k + "=" + v;
    return out;
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::string> seen_;  // written by the server thread before each reply is sent
};

struct CliRun {
  int code;
  std::string out, err;
};

class AdminCommands : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("admin_cmds_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  // A configuration naming the admin API on `port` with the token file in the data dir.
  std::string config(int port, const std::string& token = "t0k") {
    const std::string path = (dir_ / "sluice.toml").string();
    std::ofstream(path) << "[server]\nhostname = \"mx.example.org\"\ndata_dir = \"" << dir_.string()
                        << "\"\n[[receive_connector]]\nname = \"internet\"\nlisten = [\"127.0.0.1:2525\"]\n"
                        << "[admin]\nlisten = \"127.0.0.1:" << port << "\"\n";
    if (!token.empty()) std::ofstream(dir_ / "admin.token") << token << "\n";
    return path;
  }
  CliRun run(const std::string& config_path, std::vector<std::string> args) {
    std::vector<const char*> argv{"sluice", "--config", config_path.c_str()};
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    const int code = run_cli(static_cast<int>(argv.size()), argv.data(), out, err, std::nullopt);
    return {code, out.str(), err.str()};
  }
  fs::path dir_;
};

TEST_F(AdminCommands, QueueTableAndJson) {
  FakeAdmin admin;
  const std::string cfg = config(admin.port());
  CliRun r = run(cfg, {"queue"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("example.net  DnsConnectorDelivery  Retry   1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("451 4.3.0 mailbox busy"), std::string::npos);
  r = run(cfg, {"queue", "--json"});
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(json::parse(r.out)[0]["identity"], "example.net");
}

TEST_F(AdminCommands, FiltersActionsAndMailq) {
  FakeAdmin admin;
  const std::string cfg = config(admin.port());
  EXPECT_EQ(run(cfg, {"queue", "messages", "--queue", "example.net", "--to", "bob@example.net"}).code, 0);
  CliRun r = run(cfg, {"queue", "suspend", "example.net"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "Queue example.net: suspended.\n");
  r = run(cfg, {"message", "remove", "--ndr", "0CHG5V1M2KT01"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("non-delivery report"), std::string::npos);
  r = run(cfg, {"mailq"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("-- 2 Kbytes in 1 Request."), std::string::npos);
  r = run(cfg, {"message", "export", "0CHG5V1M2KT01"});
  EXPECT_EQ(r.out, "Subject: hello\r\n\r\nbody\r\n");
  const auto& seen = admin.seen();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "GET /api/v1/messages?queue=example.net&to=bob@example.net"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "POST /api/v1/queues/example.net/suspend"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "POST /api/v1/messages/0CHG5V1M2KT01/remove?ndr=1"), seen.end());
}

TEST_F(AdminCommands, NoSuchMessage) {
  FakeAdmin admin;
  const CliRun r = run(config(admin.port()), {"message", "show", "NOPE"});
  EXPECT_EQ(r.code, kExitNoInput);
  EXPECT_EQ(r.err, "sluice: no message NOPE in the queue\n");
}

TEST_F(AdminCommands, WrongTokenIsRefused) {
  FakeAdmin admin;
  const CliRun r = run(config(admin.port(), "stale"), {"status"});
  EXPECT_EQ(r.code, kExitNoPerm);
  EXPECT_NE(r.err.find("refused the admin token (401): missing or wrong bearer token"), std::string::npos) << r.err;
}

TEST_F(AdminCommands, InvalidReloadIsAConfigError) {
  FakeAdmin admin;
  const CliRun r = run(config(admin.port()), {"reload"});
  EXPECT_EQ(r.code, kExitConfig);
  EXPECT_NE(r.err.find("old one keeps running: x.toml:3:1: unknown key"), std::string::npos) << r.err;
}

TEST_F(AdminCommands, DaemonNotRunning) {
  int port;
  {
    FakeAdmin gone;
    port = gone.port();
  }
  const std::string cfg = config(port);
  const CliRun r = run(cfg, {"queue"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_EQ(r.err, "sluice: sluiced is not running on 127.0.0.1:" + std::to_string(port) +
                       " (connection refused); start it with `sluiced --config " + cfg +
                       "` (or `systemctl start sluiced`)\n");
}

TEST_F(AdminCommands, TokenMissingOrUnreadable) {
  const std::string cfg = config(8025, "");
  CliRun r = run(cfg, {"status"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_NE(r.err.find("cannot read the admin token " + (dir_ / "admin.token").string() +
                       ": No such file or directory (sluiced creates it on its first start"),
            std::string::npos)
      << r.err;
  if (::geteuid() != 0) {  // root reads any file
    std::ofstream(dir_ / "admin.token") << "x\n";
    ::chmod((dir_ / "admin.token").c_str(), 0);
    r = run(cfg, {"status"});
    EXPECT_EQ(r.code, kExitNoPerm);
    EXPECT_NE(r.err.find("Permission denied (run sluice as the user that runs sluiced, or as root)"), std::string::npos);
  }
}

TEST_F(AdminCommands, UnreadableConfiguration) {
  const CliRun r = run((dir_ / "absent.toml").string(), {"queue"});
  EXPECT_EQ(r.code, kExitConfig);
  EXPECT_NE(r.err.find("cannot read the configuration"), std::string::npos);
}

TEST(QueryString, Encodes) {
  EXPECT_EQ(query_string({{"a", "x y"}, {"b", ""}, {"c", "p+q@r"}}), "?a=x%20y&c=p%2Bq%40r");
}

}  // namespace
}  // namespace sluice::cli
