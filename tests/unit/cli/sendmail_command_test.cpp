// tests/unit/cli/sendmail_command_test.cpp: sendmail's flags, the message it builds (-t,
// Bcc, added fields, the lone dot), the connector it picks, the SMTP dialog against an
// in-process peer, and the maildrop fallback when nothing listens.
#include "cli/sendmail_command.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/local_submission.hpp"
#include "config/loader.hpp"
#include "queue/maildrop.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

SendmailArgs parse_ok(std::vector<std::string> args) {
  auto a = parse_sendmail_args(args);
  EXPECT_TRUE(a) << (a ? "" : a.error().context);
  return a ? *a : SendmailArgs{};
}

TEST(SendmailArgs, CommonCallers) {
  // PHP mail(): sendmail -t -i; cron: sendmail -FCronDaemon -i -B8BITMIME -oem root
  SendmailArgs php = parse_ok({"-t", "-i"});
  EXPECT_TRUE(php.recipients_from_headers);
  EXPECT_TRUE(php.ignore_dots);
  EXPECT_TRUE(php.recipients.empty());

  SendmailArgs cron = parse_ok({"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"});
  EXPECT_EQ(cron.full_name, "CronDaemon");
  EXPECT_TRUE(cron.ignore_dots);
  EXPECT_EQ(cron.recipients, std::vector<std::string>{"root"});

  SendmailArgs git = parse_ok({"-oi", "-f", "<dev@example.org>", "a@example.net", "b@example.net"});
  EXPECT_TRUE(git.ignore_dots);
  EXPECT_EQ(git.sender, "dev@example.org");
  EXPECT_TRUE(git.sender_given);
  EXPECT_EQ(git.recipients, (std::vector<std::string>{"a@example.net", "b@example.net"}));
}

TEST(SendmailArgs, BundledAndAttachedValues) {
  SendmailArgs a = parse_ok({"-ti", "-fbounce@example.org", "-Nsuccess,delay", "-R", "hdrs", "-Vjob-1"});
  EXPECT_TRUE(a.recipients_from_headers);
  EXPECT_TRUE(a.ignore_dots);
  EXPECT_EQ(a.sender, "bounce@example.org");
  EXPECT_TRUE(a.notify.specified && a.notify.success && a.notify.delay && !a.notify.failure);
  EXPECT_EQ(a.ret, smtp::DsnRet::headers);
  EXPECT_EQ(a.envid, "job-1");
  EXPECT_TRUE(parse_ok({"-N", "never"}).notify.never);
  EXPECT_TRUE(parse_ok({"-f", ""}).sender.empty());
  EXPECT_TRUE(parse_ok({"-f", "<>"}).sender_given);
}

TEST(SendmailArgs, Modes) {
  EXPECT_EQ(parse_ok({"-bp"}).mode, SendmailMode::print_queue);
  EXPECT_EQ(parse_ok({"-bs"}).mode, SendmailMode::smtp_stdio);
  EXPECT_EQ(parse_ok({"-bm", "x@y"}).mode, SendmailMode::deliver);
  EXPECT_EQ(parse_ok({"-bi"}).mode, SendmailMode::rebuild_aliases);
  EXPECT_EQ(parse_ok({"-q"}).mode, SendmailMode::flush_queue);
  EXPECT_EQ(parse_ok({"-qIABC123"}).flush_id, "ABC123");
  EXPECT_EQ(parse_ok({"-qR", "example.net"}).flush_site, "example.net");
  EXPECT_EQ(parse_ok({"-q30m"}).mode, SendmailMode::deliver);  // an interval: ignored
  EXPECT_EQ(parse_ok({"-C", "/etc/other.toml"}).config_file, "/etc/other.toml");
}

TEST(SendmailArgs, IgnoredFlagsAreAccepted) {
  SendmailArgs a = parse_ok({"-Am", "-G", "-U", "-h", "17", "-L", "label", "-m", "-n", "-o7", "-o8", "-om",
                             "-O", "opt=val", "-v", "-X", "/tmp/log", "--", "-weird@example.org"});
  EXPECT_FALSE(a.ignore_dots);
  EXPECT_EQ(a.recipients, std::vector<std::string>{"-weird@example.org"});
}

TEST(SendmailArgs, UsageErrors) {
  EXPECT_FALSE(parse_sendmail_args({"-Z"}));
  EXPECT_FALSE(parse_sendmail_args({"-f"}));
  EXPECT_FALSE(parse_sendmail_args({"-N", "sometimes"}));
  EXPECT_FALSE(parse_sendmail_args({"-N", "never,success"}));
  EXPECT_FALSE(parse_sendmail_args({"-R", "some"}));
  EXPECT_FALSE(parse_sendmail_args({"-bd"}));
}

TEST(AddressList, Forms) {
  EXPECT_EQ(parse_address_list("a@x.org"), std::vector<std::string>{"a@x.org"});
  EXPECT_EQ(parse_address_list("\"Doe, John\" <john@x.org>, Jane <jane@y.org> (work)"),
            (std::vector<std::string>{"john@x.org", "jane@y.org"}));
  EXPECT_EQ(parse_address_list("team: a@x.org, b@x.org;, c@y.org"),
            (std::vector<std::string>{"a@x.org", "b@x.org", "c@y.org"}));
  EXPECT_EQ(parse_address_list("root"), std::vector<std::string>{"root"});
  EXPECT_TRUE(parse_address_list("undisclosed-recipients:;").empty());
}

const SubmitterInfo kWho{"cron", "host.example.org", 1000};
const SystemTime kNow{std::chrono::seconds(1'800'000'000)};

TEST(PrepareMessage, CronStyleWithDashT) {
  SendmailArgs args = parse_ok({"-t", "-FCron Daemon"});
  const std::string input =
      "To: root@example.org,\n ops@example.net\nBcc: secret@example.com\nCc: Ops <ops@example.net>\nSubject: "
      "cron job\n\nline one\n.hidden\n.\nafter the dot\n";
  auto m = prepare_message(args, input, kWho, kNow);
  ASSERT_TRUE(m) << m.error().context;
  std::vector<std::string> rcpts;
  for (const auto& r : m->envelope.recipients) rcpts.push_back(r.address);
  EXPECT_EQ(rcpts, (std::vector<std::string>{"root@example.org", "ops@example.net", "secret@example.com"}));
  EXPECT_EQ(m->envelope.mail_from, "cron@host.example.org");
  EXPECT_EQ(m->content.find("Bcc:"), std::string::npos);
  EXPECT_EQ(m->content.find("secret@"), std::string::npos);
  EXPECT_NE(m->content.find("From: \"Cron Daemon\" <cron@host.example.org>\r\n"), std::string::npos);
  EXPECT_NE(m->content.find("Date: "), std::string::npos);
  EXPECT_NE(m->content.find("Message-ID: <"), std::string::npos);
  EXPECT_NE(m->content.find("To: root@example.org,\r\n ops@example.net\r\n"), std::string::npos);
  // Without -i the lone dot ends the input; ".hidden" is content (not yet dot-stuffed).
  EXPECT_TRUE(m->content.ends_with("\r\nline one\r\n.hidden\r\n")) << m->content;
}

TEST(PrepareMessage, DashIKeepsLoneDotsAndExistingFields) {
  SendmailArgs args = parse_ok({"-i", "-f", "app@example.org", "user@example.net"});
  const std::string input = "From: App <app@example.org>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                            "Message-ID: <x@y>\r\n\r\na\r\n.\r\nb\r\n";
  auto m = prepare_message(args, input, kWho, kNow);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->content, input);
  EXPECT_EQ(m->envelope.recipients.size(), 1u);
}

TEST(PrepareMessage, LocalNamesGetTheHostname) {
  auto m = prepare_message(parse_ok({"root"}), "Subject: x\n\nbody\n", kWho, kNow);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->envelope.recipients[0].address, "root@host.example.org");
}

TEST(PrepareMessage, NoRecipientsIsADataError) {
  EXPECT_FALSE(prepare_message(parse_ok({"-t"}), "Subject: nobody\n\nx\n", kWho, kNow));
  EXPECT_FALSE(prepare_message(parse_ok({}), "To: a@b.c\n\nx\n", kWho, kNow));  // -t not given
}

TEST(PrepareMessage, DsnOptionsReachTheEnvelope) {
  auto m = prepare_message(parse_ok({"-N", "failure", "-R", "full", "-V", "e1", "a@b.example"}), "\n", kWho, kNow);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->envelope.recipients[0].notify.failure);
  EXPECT_EQ(m->envelope.ret, smtp::DsnRet::full);
  EXPECT_EQ(m->envelope.envid, "e1");
}

config::Config load(const std::string& text) {
  auto r = config::load_string(text, "test.toml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().message);
  return r.ok() ? *r.config : config::Config{};
}

TEST(LocalEndpoint, PrefersTheRelayConnector) {
  const config::Config cfg = load(R"(
[server]
hostname = "mx.example.org"
[[receive_connector]]
name = "internet"
listen = ["0.0.0.0:2525"]
[[receive_connector]]
name = "apps"
usage = "relay"
listen = ["127.0.0.1:2526"]
remote_ip_ranges = ["127.0.0.0/8"]
)");
  std::string why;
  auto ep = find_local_endpoint(cfg, &why);
  ASSERT_TRUE(ep) << why;
  EXPECT_EQ(ep->connector, "apps");
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 2526);
}

TEST(LocalEndpoint, FallsBackToInternetAndExplainsNone) {
  config::Config cfg = load(R"(
[server]
hostname = "mx.example.org"
[[receive_connector]]
name = "internet"
listen = ["0.0.0.0:2525"]
)");
  auto ep = find_local_endpoint(cfg, nullptr);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "127.0.0.1");
  cfg.receive_connectors[0].require_tls = true;
  std::string why;
  EXPECT_FALSE(find_local_endpoint(cfg, &why));
  EXPECT_NE(why.find("relay"), std::string::npos);
}

TEST(Xtext, Encodes) { EXPECT_EQ(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d"); }

// A one-connection SMTP peer on loopback that answers from a script and records what it got.
class FakePeer {
 public:
  explicit FakePeer(std::vector<std::string> replies) : replies_(std::move(replies)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 1);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakePeer() {
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  // Everything the client sent; complete once the client has closed.
  std::string received() {
    thread_.join();
    thread_ = std::thread([] {});
    return received_;
  }

 private:
  void serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    size_t next = 0;
    auto say = [&] {
      if (next < replies_.size()) {
        const std::string r = replies_[next++] + "\r\n";
        ::send(c, r.data(), r.size(), MSG_NOSIGNAL);
      }
    };
    say();  // greeting
    std::string pending;
    bool in_data = false;
    char buf[4096];
    for (int rounds = 0; rounds < 10000; ++rounds) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      received_.append(buf, static_cast<size_t>(n));
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find("\r\n")) != std::string::npos) {
        const std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 2);
        if (in_data) {
          if (line == ".") {
            in_data = false;
            say();
          }
          continue;
        }
        if (line == "DATA" && next < replies_.size() && replies_[next].starts_with("354")) in_data = true;
        say();
      }
    }
    ::close(c);
  }

  int fd_;
  uint16_t port_ = 0;
  std::vector<std::string> replies_;
  std::string received_;
  std::thread thread_;
};

smtp::Envelope envelope(std::vector<std::string> rcpts) {
  smtp::Envelope e;
  e.mail_from = "a@example.org";
  for (auto& r : rcpts) e.recipients.push_back({r, {}, {}});
  return e;
}

TEST(SubmitLocal, QueuedWithDotStuffing) {
  FakePeer peer({"220 mx ESMTP", "250-mx\r\n250-8BITMIME\r\n250 DSN", "250 2.1.0 Ok", "250 2.1.5 Ok",
                 "354 go", "250 2.0.0 Ok: queued as 0ABCDEF123401", "221 bye"});
  smtp::Envelope env = envelope({"b@example.net"});
  env.envid = "id 1";
  env.recipients[0].notify = {.specified = true, .failure = true};
  const SubmitResult r = submit_local({"127.0.0.1", peer.port(), "apps"}, env, "Subject: x\r\n\r\n.dot\r\nend", "host");
  EXPECT_EQ(r.verdict, SubmitVerdict::queued) << r.detail;
  EXPECT_EQ(r.queue_id, "0ABCDEF123401");
  const std::string got = peer.received();
  EXPECT_NE(got.find("EHLO host\r\n"), std::string::npos);
  EXPECT_NE(got.find("MAIL FROM:<a@example.org> ENVID=id+201\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("RCPT TO:<b@example.net> NOTIFY=FAILURE\r\n"), std::string::npos);
  EXPECT_NE(got.find("\r\n\r\n..dot\r\nend\r\n.\r\n"), std::string::npos) << got;
}

TEST(SubmitLocal, TemporaryReplyMeansMaildrop) {
  FakePeer peer({"220 mx", "250 mx", "250 ok", "451 4.3.0 try later", "221 bye"});
  const SubmitResult r = submit_local({"127.0.0.1", peer.port(), "apps"}, envelope({"b@x.net"}), "x\r\n", "h");
  EXPECT_EQ(r.verdict, SubmitVerdict::temporary);
  EXPECT_NE(r.detail.find("451 4.3.0 try later"), std::string::npos);
}

TEST(SubmitLocal, AllRecipientsRefused) {
  FakePeer peer({"220 mx", "250 mx", "250 ok", "550 5.1.1 no such user", "221 bye"});
  const SubmitResult r = submit_local({"127.0.0.1", peer.port(), "apps"}, envelope({"b@x.net"}), "x\r\n", "h");
  EXPECT_EQ(r.verdict, SubmitVerdict::refused);
  EXPECT_TRUE(r.refused_recipient);
  EXPECT_NE(r.detail.find("b@x.net: 550 5.1.1 no such user"), std::string::npos);
}

TEST(SubmitLocal, NothingListening) {
  // Bind a port and close it: nothing listens there afterwards.
  uint16_t port;
  {
    FakePeer closed({});
    port = closed.port();
    std::string err;
    ::close(connect_local({"127.0.0.1", port, ""}, 5, &err));
  }
  const SubmitResult r = submit_local({"127.0.0.1", port, "apps"}, envelope({"b@x.net"}), "x\r\n", "h");
  EXPECT_EQ(r.verdict, SubmitVerdict::temporary);
  EXPECT_NE(r.detail.find("Connection refused"), std::string::npos) << r.detail;
}

TEST(RunSendmail, DaemonDownWritesTheMaildrop) {
  const fs::path dir = fs::path(testing::TempDir()) / ("sendmail_down" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  uint16_t port;
  {
    FakePeer closed({});
    port = closed.port();
    std::string err;
    ::close(connect_local({"127.0.0.1", port, ""}, 5, &err));
  }
  const std::string config = (dir / "sluice.toml").string();
  std::ofstream(config) << "[server]\nhostname = \"mx.example.org\"\ndata_dir = \"" << dir.string()
                        << "\"\n[[receive_connector]]\nname = \"apps\"\nusage = \"relay\"\nlisten = [\"127.0.0.1:" << port
                        << "\"]\nremote_ip_ranges = [\"127.0.0.1\"]\n";
  std::ostringstream out, err;
  CliContext context{out, err, config};
  std::istringstream in("To: root@example.org\nSubject: nightly\n\nall good\n");
  EXPECT_EQ(run_sendmail({"-t", "-i"}, in, context), kExitOk) << err.str();
  EXPECT_NE(err.str().find("waits in"), std::string::npos);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir / "maildrop")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  std::ifstream f(files[0], std::ios::binary);
  auto entry = queue::decode_maildrop(std::string(std::istreambuf_iterator<char>(f), {}));
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->envelope.recipients[0].address, "root@example.org");
  EXPECT_NE(entry->content.find("\r\n\r\nall good\r\n"), std::string::npos);
}

TEST(RunSendmail, BadFlagsAndNoRecipients) {
  std::ostringstream out, err;
  CliContext context{out, err, "/nonexistent.toml"};
  std::istringstream in("");
  EXPECT_EQ(run_sendmail({"-Z"}, in, context), kExitUsage);
  EXPECT_NE(err.str().find("unknown option -Z"), std::string::npos);
  EXPECT_EQ(run_sendmail({"root"}, in, context), kExitConfig);
  EXPECT_NE(err.str().find("/nonexistent.toml"), std::string::npos);
}

}  // namespace
}  // namespace sluice::cli
