// Tests for admin/admin_server: a real server on port 0 driven by cpp-httplib's client, with a
// fake backend. Covered: 401 without or with a wrong token; queues list/detail; queue and
// message actions reach the backend, unknown ones are JSON 404s; message filters; message
// detail with headers and attempts; .eml export; bulk actions need a filter; tracking search
// over real MSGTRK files; reload success and failure; /metrics with the registry and the
// per-queue gauges; the token file made 0600.
#include "admin/admin_server.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "admin/admin_views.hpp"
#include "admin/http.hpp"

namespace sluice::admin {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const SystemTime kNow = SystemTime(std::chrono::seconds(1'800'000'000));
const std::string kToken = "0123456789abcdef0123456789abcdef";

class FakeBackend final : public AdminBackend {
 public:
  std::vector<queue::QueueInfo> queues_;
  std::vector<queue::MessageInfo> messages_;
  std::map<std::string, std::string> contents_;
  std::vector<std::string> calls_;

  std::vector<queue::QueueInfo> queues() const override { return queues_; }
  std::vector<queue::MessageInfo> messages() const override { return messages_; }
  queue::QueueManager::Stats stats() const override { return {.delivered = 7}; }
  Result<std::string> content(std::string_view id) const override {
    auto it = contents_.find(std::string(id));
    if (it == contents_.end()) return fail(ErrorClass::permanent, "no content for " + std::string(id));
    return it->second;
  }
  Result<void> act(std::string_view name, QueueAction a) override {
    if (name != "far.example") return fail(ErrorClass::permanent, "no queue named '" + std::string(name) + "'");
    calls_.push_back("queue " + std::string(name) + " " + std::to_string(static_cast<int>(a)));
    return {};
  }
  Result<void> act_on_message(std::string_view id, MessageAction a) override {
    for (const auto& m : messages_)
      if (m.queue_id == id) {
        calls_.push_back("message " + std::string(id) + " " + std::to_string(static_cast<int>(a)));
        return {};
      }
    return fail(ErrorClass::permanent, "no message " + std::string(id));
  }
};

queue::MessageInfo message(std::string id, std::string from, std::string to, spool::RecipientStatus st, std::string queue,
                           std::chrono::seconds age, uint64_t size) {
  queue::MessageInfo m;
  m.queue_id = std::move(id);
  m.from = std::move(from);
  m.size = size;
  m.date_received = kNow - age;
  spool::RecipientState state;
  state.status = st;
  if (st == spool::RecipientStatus::deferred) state.last_reply = "451 4.7.1 Try again later";
  m.last_error = state.last_reply;
  m.recipients.push_back(queue::MessageRecipientInfo{std::move(to), std::move(queue), state});
  return m;
}

class AdminServerTest : public ::testing::Test {
 protected:
  AdminServerTest() {
    std::string tmpl = testing::TempDir() + "sluice-admin-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "tracking");
    fs::create_directories(root_ / "protocol");
    queue::QueueInfo q;
    q.identity = "far.example";
    q.delivery_type = queue::DeliveryType::dns_connector_delivery;
    q.status = queue::QueueStatus::retry;
    q.message_count = 2;
    q.last_error = "451 4.7.1 Try again later";
    q.next_retry_time = kNow + 60s;
    backend_.queues_.push_back(q);
    backend_.messages_.push_back(message("AAAA", "alice@example.test", "bob@far.example", spool::RecipientStatus::deferred,
                                         "far.example", 2h, 5000));
    backend_.messages_.push_back(message("BBBB", "carol@example.test", "dan@far.example", spool::RecipientStatus::pending,
                                         "far.example", 10min, 100));
    queue::AttemptInfo a;
    a.time = kNow - 1min;
    a.recipients = {"bob@far.example"};
    a.remote_host = "mx1.far.example";
    a.remote_ip = "192.0.2.7";
    a.port = 25;
    a.connector = "internet";
    a.reply = "451 4.7.1 Try again later";
    a.status = "deferred";
    backend_.messages_[0].attempts.push_back(a);
    backend_.contents_["AAAA"] = "Received: from x\r\n by y\r\nSubject: Hello\r\nFrom: alice@example.test\r\n\r\nBody\r\n";
    metrics_.counter("sluice_messages_received_total", "Received.", {{"connector", "internet"}}).inc(3);
    start();
  }
  ~AdminServerTest() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void start() {
    AdminOptions o;
    o.listen = config::ListenAddress{"127.0.0.1", 0};
    o.token = kToken;
    o.hostname = "mx.example.test";
    o.version = "0.1.0";
    auto s = AdminServer::start(
        AdminServices{backend_, metrics_, clock_, root_ / "tracking", [this]() -> Result<void> {
                        if (reload_fails_) return fail(ErrorClass::config, "sluice.toml:3:1: unknown key 'x'");
                        ++reloads_;
                        return {};
                      }, root_ / "protocol"},
        o);
    ASSERT_TRUE(s.has_value()) << s.error().context;
    server_ = std::move(*s);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_bearer_token_auth(kToken);
  }

  json get_json(const std::string& path, int expected = 200) {
    auto r = client_->Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, expected) << path << ": " << r->body;
    return json::parse(r->body);
  }
  json post_json(const std::string& path, int expected = 200) {
    auto r = client_->Post(path);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, expected) << path << ": " << r->body;
    return json::parse(r->body);
  }

  fs::path root_;
  ManualClock clock_{kNow};
  FakeBackend backend_;
  log::Metrics metrics_;
  std::unique_ptr<AdminServer> server_;
  std::unique_ptr<httplib::Client> client_;
  bool reload_fails_ = false;
  int reloads_ = 0;
};

TEST_F(AdminServerTest, RequestsWithoutTheRightTokenGet401WithAHint) {
  httplib::Client anonymous("127.0.0.1", server_->port());
  for (const char* path : {"/api/v1/queues", "/metrics", "/api/v1/status"}) {
    auto r = anonymous.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"sluice\"");
    auto body = json::parse(r->body);
    EXPECT_NE(body["error"]["message"].get<std::string>().find("admin.token"), std::string::npos);
  }
  anonymous.set_bearer_token_auth("wrong-token-wrong-token-wrong-tok");
  auto r = anonymous.Post("/api/v1/queues/far.example/retry");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(backend_.calls_.empty());
}

TEST_F(AdminServerTest, QueuesListAndDetailUseGetQueueFields) {
  json qs = get_json("/api/v1/queues");
  ASSERT_EQ(qs.size(), 1u);
  EXPECT_EQ(qs[0]["identity"], "far.example");
  EXPECT_EQ(qs[0]["delivery_type"], "DnsConnectorDelivery");
  EXPECT_EQ(qs[0]["status"], "Retry");
  EXPECT_EQ(qs[0]["message_count"], 2);
  EXPECT_EQ(qs[0]["last_error"], "451 4.7.1 Try again later");
  EXPECT_EQ(qs[0]["next_retry_time"], rfc3339(kNow + 60s));
  EXPECT_EQ(get_json("/api/v1/queues/far.example")["identity"], "far.example");
  json missing = get_json("/api/v1/queues/nowhere", 404);
  EXPECT_NE(missing["error"]["message"].get<std::string>().find("GET /api/v1/queues"), std::string::npos);
}

TEST_F(AdminServerTest, QueueAndMessageActionsReachTheBackend) {
  EXPECT_EQ(post_json("/api/v1/queues/far.example/suspend")["result"], "done");
  post_json("/api/v1/queues/nowhere/retry", 404);
  post_json("/api/v1/queues/far.example/explode", 404);
  EXPECT_EQ(post_json("/api/v1/messages/AAAA/remove?ndr=1")["ndr"], true);
  post_json("/api/v1/messages/AAAA/retry");
  post_json("/api/v1/messages/ZZZZ/retry", 404);
  EXPECT_EQ(backend_.calls_, (std::vector<std::string>{
                                 "queue far.example " + std::to_string(static_cast<int>(QueueAction::suspend)),
                                 "message AAAA " + std::to_string(static_cast<int>(MessageAction::remove_ndr)),
                                 "message AAAA " + std::to_string(static_cast<int>(MessageAction::retry))}));
}

TEST_F(AdminServerTest, MessageFiltersSelectByQueueStatusAddressesAgeAndSize) {
  EXPECT_EQ(get_json("/api/v1/messages").size(), 2u);
  auto ids = [&](const std::string& q) {
    std::vector<std::string> out;
    for (const auto& m : get_json("/api/v1/messages?" + q)) out.push_back(m["queue_id"]);
    return out;
  };
  EXPECT_EQ(ids("status=retry"), std::vector<std::string>{"AAAA"});
  EXPECT_EQ(ids("status=Ready"), std::vector<std::string>{"BBBB"});
  EXPECT_EQ(ids("from=CAROL@"), std::vector<std::string>{"BBBB"});
  EXPECT_EQ(ids("to=bob@far.example"), std::vector<std::string>{"AAAA"});
  EXPECT_EQ(ids("min_age=1h"), std::vector<std::string>{"AAAA"});
  EXPECT_EQ(ids("min_age=60"), (std::vector<std::string>{"AAAA", "BBBB"}));
  EXPECT_EQ(ids("min_size=1KB"), std::vector<std::string>{"AAAA"});
  EXPECT_EQ(ids("queue=other.example"), std::vector<std::string>{});
  json bad = get_json("/api/v1/messages?status=stuck", 400);
  EXPECT_NE(bad["error"]["message"].get<std::string>().find("Ready, Retry or Suspended"), std::string::npos);
  get_json("/api/v1/messages?colour=red", 400);
}

TEST_F(AdminServerTest, MessageDetailHasHeadersRecipientsAndAttempts) {
  json m = get_json("/api/v1/messages/AAAA");
  EXPECT_EQ(m["from_address"], "alice@example.test");
  EXPECT_EQ(m["status"], "Retry");
  EXPECT_EQ(m["last_error"], "451 4.7.1 Try again later");
  EXPECT_EQ(m["age_seconds"], 7200);
  ASSERT_EQ(m["headers"].size(), 3u);
  EXPECT_EQ(m["headers"][0]["name"], "Received");
  EXPECT_EQ(m["headers"][0]["value"], "from x by y");  // unfolded
  EXPECT_EQ(m["headers"][1]["value"], "Hello");
  EXPECT_EQ(m["recipients"][0]["address"], "bob@far.example");
  EXPECT_EQ(m["recipients"][0]["status"], "deferred");
  ASSERT_EQ(m["attempts"].size(), 1u);
  EXPECT_EQ(m["attempts"][0]["remote_ip"], "192.0.2.7");
  EXPECT_EQ(m["attempts"][0]["reply"], "451 4.7.1 Try again later");
  get_json("/api/v1/messages/ZZZZ", 404);
}

TEST_F(AdminServerTest, MessageDetailHasTheTranscriptOfTheLastFailedAttempt) {
  EXPECT_TRUE(get_json("/api/v1/messages/AAAA")["last_failed_transcript"].is_null());  // no log yet
  std::ofstream(root_ / "protocol" / "SEND20261123-1.LOG")
      << "#Software: sluice\n"
         "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\n"
         "2026-11-23T10:00:00.000Z,mx\\internet,00000000000000A1,0,,192.0.2.7:25,*,mx1.far.example,attempting to connect\n"
         "2026-11-23T10:00:00.001Z,mx\\internet,00000000000000B2,0,,192.0.2.9:25,*,other,attempting to connect\n"
         "2026-11-23T10:00:00.010Z,mx\\internet,00000000000000A1,1,10.0.0.1:4000,192.0.2.7:25,<,220 mx1 ESMTP,\n"
         "2026-11-23T10:00:00.020Z,mx\\internet,00000000000000A1,2,10.0.0.1:4000,192.0.2.7:25,*,AAAA,sending message\n"
         "2026-11-23T10:00:00.030Z,mx\\internet,00000000000000A1,3,10.0.0.1:4000,192.0.2.7:25,>,RCPT TO:<bob@far.example>,\n"
         "2026-11-23T10:00:00.040Z,mx\\internet,00000000000000A1,4,10.0.0.1:4000,192.0.2.7:25,<,\"451 4.7.1 Try again, later\",\n"
         "2026-11-23T10:00:00.050Z,mx\\internet,00000000000000A1,5,10.0.0.1:4000,192.0.2.7:25,-,,session closed\n";
  json t = get_json("/api/v1/messages/AAAA")["last_failed_transcript"];
  ASSERT_FALSE(t.is_null());
  EXPECT_EQ(t["session_id"], "00000000000000A1");
  ASSERT_EQ(t["lines"].size(), 6u) << t.dump(2);
  EXPECT_EQ(t["lines"][1], "2026-11-23T10:00:00.010Z S: 220 mx1 ESMTP");
  EXPECT_EQ(t["lines"][3], "2026-11-23T10:00:00.030Z C: RCPT TO:<bob@far.example>");
  EXPECT_EQ(t["lines"][4], "2026-11-23T10:00:00.040Z S: 451 4.7.1 Try again, later");  // CSV quoting undone
  EXPECT_EQ(t["lines"][5], "2026-11-23T10:00:00.050Z * disconnected: session closed");
}

TEST_F(AdminServerTest, ExportGivesTheMessageAsEml) {
  auto r = client_->Get("/api/v1/messages/AAAA/export");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "message/rfc822");
  EXPECT_EQ(r->body, backend_.contents_["AAAA"]);
  r = client_->Get("/api/v1/messages/BBBB/export");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(AdminServerTest, BulkActionsNeedAFilterAndReportEachMessage) {
  json refused = post_json("/api/v1/messages/retry", 400);
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("all=1"), std::string::npos);
  EXPECT_TRUE(backend_.calls_.empty());
  json r = post_json("/api/v1/messages/suspend?status=Retry");
  EXPECT_EQ(r["matched"], 1);
  EXPECT_EQ(r["done"], json::array({"AAAA"}));
  r = post_json("/api/v1/messages/resume?all=1");
  EXPECT_EQ(r["matched"], 2);
  EXPECT_EQ(backend_.calls_.size(), 3u);
}

TEST_F(AdminServerTest, TrackSearchReadsTheTrackingLogFiles) {
  std::ofstream(root_ / "tracking" / "MSGTRK20261123-1.LOG")
      << R"({"date-time":"2026-11-23T10:00:00.000Z","event-id":"RECEIVE","internal-message-id":"AAAA","sender-address":"alice@example.test","recipient-address":"bob@far.example","message-id":"<m1@example.test>"})"
      << "\n"
      << R"({"date-time":"2026-11-23T10:00:01.000Z","event-id":"DEFER","internal-message-id":"AAAA","sender-address":"alice@example.test","recipient-address":"bob@far.example","message-id":"<m1@example.test>"})"
      << "\n{not json\n";
  std::ofstream(root_ / "tracking" / "MSGTRK20261124-1.LOG")
      << R"({"date-time":"2026-11-24T08:00:00.000Z","event-id":"RECEIVE","internal-message-id":"BBBB","sender-address":"carol@example.test","recipient-address":"dan@far.example","message-id":"<m2@example.test>"})"
      << "\n";
  EXPECT_EQ(get_json("/api/v1/track").size(), 3u);
  EXPECT_EQ(get_json("/api/v1/track?queue_id=AAAA").size(), 2u);
  EXPECT_EQ(get_json("/api/v1/track?event=defer")[0]["event-id"], "DEFER");
  EXPECT_EQ(get_json("/api/v1/track?sender=carol")[0]["internal-message-id"], "BBBB");
  EXPECT_EQ(get_json("/api/v1/track?message_id=m1@").size(), 2u);
  EXPECT_EQ(get_json("/api/v1/track?since=2026-11-24").size(), 1u);
  EXPECT_EQ(get_json("/api/v1/track?until=2026-11-23").size(), 2u);
  json last = get_json("/api/v1/track?limit=1");
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0]["internal-message-id"], "BBBB");  // the newest
  get_json("/api/v1/track?who=x", 400);
}

TEST_F(AdminServerTest, ReloadCallsTheDaemonAndReportsItsErrors) {
  EXPECT_EQ(post_json("/api/v1/reload")["result"], "reloaded");
  EXPECT_EQ(reloads_, 1);
  reload_fails_ = true;
  json r = post_json("/api/v1/reload", 422);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("sluice.toml:3:1: unknown key 'x'"), std::string::npos);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("old one keeps running"), std::string::npos);
}

TEST_F(AdminServerTest, MetricsHasTheRegistryAndQueueGauges) {
  auto r = client_->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(r->body.find("sluice_messages_received_total{connector=\"internet\"} 3\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("sluice_queue_messages{queue=\"far.example\",status=\"Retry\"} 2\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("sluice_queue_oldest_message_age_seconds{queue=\"far.example\"} 7200\n"), std::string::npos) << r->body;
}

TEST_F(AdminServerTest, StatusSaysWhoAndHowMuch) {
  json s = get_json("/api/v1/status");
  EXPECT_EQ(s["hostname"], "mx.example.test");
  EXPECT_EQ(s["version"], "0.1.0");
  EXPECT_EQ(s["queues"], 1);
  EXPECT_EQ(s["recipients"]["delivered"], 7);
}

TEST_F(AdminServerTest, UnknownRoutesAnswerJson) {
  json r = get_json("/api/v2/everything", 404);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("no such route"), std::string::npos);
}

TEST(AdminToken, CreatedOnceWith0600AndReadBack) {
  std::string tmpl = testing::TempDir() + "sluice-token-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path path = fs::path(tmpl) / "sub" / "admin.token";
  auto t1 = load_or_create_token(path);
  ASSERT_TRUE(t1.has_value()) << t1.error().context;
  EXPECT_EQ(t1->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto t2 = load_or_create_token(path);
  ASSERT_TRUE(t2.has_value());
  EXPECT_EQ(*t1, *t2);
  EXPECT_TRUE(authorized("Bearer " + *t1, *t1));
  EXPECT_FALSE(authorized("Bearer " + t1->substr(1), *t1));
  EXPECT_FALSE(authorized(*t1, *t1));
  EXPECT_FALSE(authorized("Bearer ", ""));
  std::ofstream(path) << "short\n";
  EXPECT_FALSE(load_or_create_token(path).has_value());
  fs::remove_all(tmpl);
}

TEST(AdminServerStart, ReportsAnAddressInUse) {
  FakeBackend backend;
  log::Metrics metrics;
  ManualClock clock{kNow};
  AdminOptions o;
  o.listen = config::ListenAddress{"127.0.0.1", 0};
  o.token = kToken;
  auto first = AdminServer::start(AdminServices{backend, metrics, clock, "/nonexistent", nullptr}, o);
  ASSERT_TRUE(first.has_value());
  o.listen.port = (*first)->port();
  auto second = AdminServer::start(AdminServices{backend, metrics, clock, "/nonexistent", nullptr}, o);
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().context.find("[admin] listen"), std::string::npos);
}

}  // namespace
}  // namespace sluice::admin
