// Tests of the SMTP client session (smtp/client_session). Most are dialog files in
// tests/data/client_dialogs/*.dialog: the server's lines are scripted, the client's lines are
// expected one by one. Every dialog is replayed with each run of server bytes split at every
// byte position, and byte by byte: what the client sends, the per-recipient results and the
// session failure must not change. A few properties that a dialog cannot state (the observer
// masking AUTH, timeouts per stage) are plain tests at the end.
//
// Dialog format, one directive per line:
//   # comment                 blank lines are ignored too
//   @set <key> <value>        before the first event: helo_name, starttls on|off, require_tls
//                             on|off, auth <user> <password>, plaintext_auth on|off
//   @message                  starts the next message (numbered from 0), then:
//     @from <address>         reverse path ("" when absent: the null sender)
//     @rcpt <address> [NOTIFY=SUCCESS,FAILURE|NEVER] [ORCPT=<type;address, decoded>]
//     @body 7bit|8bit|binary  @smtputf8   @ret full|hdrs   @envid <text>
//     @content <text>         appended to the content (escapes \r \n \t \\ \xNN)
//   S: <text>                 the server sends <text> CRLF (escapes)
//   R: <text>                 the server sends <text> as is (escapes)
//   C: <text>                 the client's next line is exactly <text>
//   SEND <n> [i,j...]         send_message(message n, recipient indexes; default all)
//   QUIT                      quit()
//   TLS | TLSFAIL <why>       the session asked for TLS; on_tls_started() / on_tls_failed()
//   TIMEOUT | EOF             on_timeout() / on_eof()
//   RESULT <index> <stage> | <reply text>   the next result, exactly (Reply::text())
//   FAILURE <stage> | <reply text>          session_failure(), exactly
//   NOFAILURE | READY | NOTREADY | CLOSED | NOOUTPUT
//   STAGE <stage>             stage() ("" written as -)
//   PEER <key> <value>        size_limit, auth (space-joined), ext (a keyword present), tls,
//                             pipelining, name
// At the end every client line and every result must have been matched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "smtp/client_session.hpp"

namespace sluice::smtp {
namespace {

std::string unescape_text(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char e = s[++i];
    switch (e) {
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case '\\': out += '\\'; break;
      case 'x':
        if (i + 2 < s.size()) {
          out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
          i += 2;
        }
        break;
      default: out += '\\'; out += e;
    }
  }
  return out;
}

bool on_off(const std::string& v) { return v == "on" || v == "true" || v == "1"; }

struct OutMessage {
  Envelope envelope;
  std::string content;
};

struct Step {
  std::string kind;  // IN (server bytes), C, SEND, QUIT, TLS, TLSFAIL, TIMEOUT, EOF, RESULT, ...
  std::string text;
  int line = 0;
};

struct ClientDialog {
  ClientSettings settings;
  std::vector<OutMessage> messages;
  std::vector<Step> steps;
};

ClientDialog load_dialog(const std::filesystem::path& path) {
  ClientDialog d;
  d.settings.helo_name = "client.test";
  std::ifstream in(path, std::ios::binary);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string where = path.filename().string() + ":" + std::to_string(n);
    if (line[0] == '@') {
      std::istringstream ss(line);
      std::string key;
      ss >> key;
      std::string rest;
      std::getline(ss, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (key == "@set") {
        std::istringstream vs(rest);
        std::string k, v, w;
        vs >> k >> v >> w;
        if (k == "helo_name") d.settings.helo_name = v;
        else if (k == "starttls") d.settings.try_starttls = on_off(v);
        else if (k == "require_tls") d.settings.require_tls = on_off(v);
        else if (k == "auth") d.settings.auth = std::make_pair(v, w);
        else if (k == "plaintext_auth") d.settings.allow_plaintext_auth = on_off(v);
        else ADD_FAILURE() << where << ": unknown setting " << k;
        continue;
      }
      if (key == "@message") {
        d.messages.emplace_back();
        continue;
      }
      if (d.messages.empty()) {
        ADD_FAILURE() << where << ": " << key << " before @message";
        continue;
      }
      OutMessage& m = d.messages.back();
      if (key == "@from") {
        m.envelope.mail_from = unescape_text(rest);
      } else if (key == "@rcpt") {
        std::istringstream rs(rest);
        Recipient r;
        rs >> r.address;
        r.address = unescape_text(r.address);
        std::string param;
        while (rs >> param) {
          if (param.rfind("NOTIFY=", 0) == 0) {
            r.notify.specified = true;
            const std::string v = param.substr(7);
            r.notify.never = v.find("NEVER") != std::string::npos;
            r.notify.success = v.find("SUCCESS") != std::string::npos;
            r.notify.failure = v.find("FAILURE") != std::string::npos;
            r.notify.delay = v.find("DELAY") != std::string::npos;
          } else if (param.rfind("ORCPT=", 0) == 0) {
            r.orcpt = unescape_text(param.substr(6));
          } else {
            ADD_FAILURE() << where << ": unknown rcpt parameter " << param;
          }
        }
        m.envelope.recipients.push_back(r);
      } else if (key == "@body") {
        m.envelope.body = rest == "8bit" ? BodyType::eight_bit_mime
                          : rest == "binary" ? BodyType::binary_mime
                                             : BodyType::seven_bit;
      } else if (key == "@smtputf8") {
        m.envelope.smtputf8 = true;
      } else if (key == "@ret") {
        m.envelope.ret = rest == "full" ? DsnRet::full : DsnRet::headers;
      } else if (key == "@envid") {
        m.envelope.envid = unescape_text(rest);
      } else if (key == "@content") {
        m.content += unescape_text(rest);
      } else {
        ADD_FAILURE() << where << ": unknown directive " << key;
      }
      continue;
    }
    const size_t colon = line.find(": ");
    const std::string head = colon == std::string::npos ? std::string() : line.substr(0, colon);
    if (head == "S") {
      d.steps.push_back({"IN", unescape_text(line.substr(colon + 2)) + "\r\n", n});
    } else if (head == "R") {
      d.steps.push_back({"IN", unescape_text(line.substr(colon + 2)), n});
    } else if (head == "C") {
      d.steps.push_back({"C", unescape_text(line.substr(colon + 2)), n});
    } else {
      const size_t sp = line.find(' ');
      d.steps.push_back({line.substr(0, sp), sp == std::string::npos ? std::string() : line.substr(sp + 1), n});
    }
  }
  // Adjacent server bytes form one run (the unit that the split replays cut).
  std::vector<Step> merged;
  for (Step& s : d.steps) {
    if (s.kind == "IN" && !merged.empty() && merged.back().kind == "IN") {
      merged.back().text += s.text;
    } else {
      merged.push_back(std::move(s));
    }
  }
  d.steps = std::move(merged);
  return d;
}

std::string result_text(const RecipientResult& r) {
  return std::to_string(r.index) + " " + r.stage + " | " + r.reply.text();
}

// Runs a ClientSession the way the transport does, and records everything it produced.
class ClientDriver {
 public:
  explicit ClientDriver(const ClientSettings& settings) : session_(settings) { pump(); }

  void feed(std::string_view bytes) {
    session_.feed(bytes);
    pump();
  }
  void pump() {
    for (int i = 0; i < 1000; ++i) {
      switch (session_.poll()) {
        case ClientAction::send: add_output(session_.take_output()); continue;
        case ClientAction::start_tls: tls_requested_ = true; return;
        case ClientAction::message_done:
          for (RecipientResult& r : session_.take_results()) {
            results_.push_back(result_text(r));
            all_results_ += results_.back() + "\n";
          }
          continue;
        case ClientAction::close:
          add_output(session_.take_output());
          closed_ = true;
          return;
        case ClientAction::need_input: return;
      }
    }
    ADD_FAILURE() << "poll() does not settle";
  }

  ClientSession& session() { return session_; }
  std::string& output() { return output_; }
  std::vector<std::string>& results() { return results_; }
  bool closed() const { return closed_; }
  bool take_tls_request() { return std::exchange(tls_requested_, false); }

  std::string transcript() const {
    std::string t = all_output_ + "\n--results--\n" + all_results_;
    const auto& f = session_.session_failure();
    t += "--failure-- " + (f ? f->stage + " | " + f->reply.text() : std::string("none"));
    t += closed_ ? " closed" : " open";
    return t;
  }

 private:
  void add_output(const std::string& out) {
    output_ += out;
    all_output_ += out;
  }

  ClientSession session_;
  std::string output_, all_output_, all_results_;  // output_/results_: not yet matched
  std::vector<std::string> results_;
  bool closed_ = false;
  bool tls_requested_ = false;
};

std::vector<size_t> parse_indexes(const std::string& s, size_t count) {
  std::vector<size_t> out;
  std::string t = s;
  std::replace(t.begin(), t.end(), ',', ' ');
  std::istringstream ss(t);
  size_t i;
  while (ss >> i) out.push_back(i);
  if (out.empty()) {
    for (size_t k = 0; k < count; ++k) out.push_back(k);
  }
  return out;
}

// How server bytes are cut: not at all, at one global position, or byte by byte.
struct Cutting {
  enum class Mode { whole, at, bytes } mode = Mode::whole;
  size_t position = 0;
};

// Plays the dialog; with `check`, every expectation is verified. Returns the transcript.
std::string play(const ClientDialog& d, const std::string& name, Cutting cut, bool check) {
  ClientDriver drv(d.settings);
  size_t fed = 0;  // server bytes fed so far, across runs
  for (const Step& s : d.steps) {
    const std::string where = name + ":" + std::to_string(s.line);
    if (s.kind == "IN") {
      if (cut.mode == Cutting::Mode::bytes) {
        for (char c : s.text) drv.feed(std::string_view(&c, 1));
      } else if (cut.mode == Cutting::Mode::at && cut.position > fed && cut.position < fed + s.text.size()) {
        const size_t k = cut.position - fed;
        drv.feed(std::string_view(s.text).substr(0, k));
        drv.feed(std::string_view(s.text).substr(k));
      } else {
        drv.feed(s.text);
      }
      fed += s.text.size();
      continue;
    }
    if (s.kind == "SEND") {
      const size_t sp = s.text.find(' ');
      const size_t n = std::stoul(s.text.substr(0, sp));
      if (n >= d.messages.size()) {
        ADD_FAILURE() << where << ": no message " << n;
        continue;
      }
      const OutMessage& m = d.messages[n];
      if (check) {
        EXPECT_TRUE(drv.session().ready_for_message()) << where;
      }
      if (!drv.session().ready_for_message()) continue;
      drv.session().send_message(OutboundMessage{
          &m.envelope, &m.content,
          parse_indexes(sp == std::string::npos ? "" : s.text.substr(sp + 1), m.envelope.recipients.size())});
      drv.pump();
      continue;
    }
    if (s.kind == "QUIT") {
      if (check) {
        EXPECT_TRUE(drv.session().ready_for_message()) << where;
      }
      if (drv.session().ready_for_message()) drv.session().quit();
      drv.pump();
      continue;
    }
    if (s.kind == "TLS" || s.kind == "TLSFAIL") {
      const bool asked = drv.take_tls_request();
      if (check) {
        EXPECT_TRUE(asked) << where << ": the session did not ask for TLS";
      }
      if (!asked) continue;
      if (s.kind == "TLS") drv.session().on_tls_started();
      else drv.session().on_tls_failed(s.text);
      drv.pump();
      continue;
    }
    if (s.kind == "TIMEOUT" || s.kind == "EOF") {
      if (s.kind == "TIMEOUT") drv.session().on_timeout();
      else drv.session().on_eof();
      drv.pump();
      continue;
    }
    if (!check) continue;
    if (s.kind == "C") {
      std::string& out = drv.output();
      const size_t end = out.find("\r\n");
      if (end == std::string::npos) {
        ADD_FAILURE() << where << ": expected \"" << s.text << "\", client sent \"" << out << "\"";
        continue;
      }
      EXPECT_EQ(out.substr(0, end), s.text) << where;
      out.erase(0, end + 2);
    } else if (s.kind == "NOOUTPUT") {
      EXPECT_EQ(drv.output(), "") << where;
    } else if (s.kind == "RESULT") {
      auto& rs = drv.results();
      if (rs.empty()) {
        ADD_FAILURE() << where << ": expected result \"" << s.text << "\", none";
        continue;
      }
      EXPECT_EQ(rs.front(), s.text) << where;
      rs.erase(rs.begin());
    } else if (s.kind == "FAILURE") {
      const auto& f = drv.session().session_failure();
      EXPECT_TRUE(f.has_value()) << where;
      if (f) {
        EXPECT_EQ(f->stage + " | " + f->reply.text(), s.text) << where;
      }
    } else if (s.kind == "NOFAILURE") {
      EXPECT_FALSE(drv.session().session_failure().has_value())
          << where << ": " << drv.session().session_failure()->reply.text();
    } else if (s.kind == "READY") {
      EXPECT_TRUE(drv.session().ready_for_message()) << where;
    } else if (s.kind == "NOTREADY") {
      EXPECT_FALSE(drv.session().ready_for_message()) << where;
    } else if (s.kind == "CLOSED") {
      EXPECT_TRUE(drv.closed()) << where;
      EXPECT_TRUE(drv.session().closed()) << where;
    } else if (s.kind == "STAGE") {
      EXPECT_EQ(std::string(drv.session().stage()), s.text == "-" ? "" : s.text) << where;
    } else if (s.kind == "PEER") {
      const PeerInfo& p = drv.session().peer();
      const size_t sp = s.text.find(' ');
      const std::string key = s.text.substr(0, sp);
      const std::string value = sp == std::string::npos ? std::string() : s.text.substr(sp + 1);
      if (key == "size_limit") {
        EXPECT_EQ(p.size_limit, std::stoull(value)) << where;
      } else if (key == "auth") {
        std::string joined;
        for (const std::string& m : p.auth_mechanisms) joined += (joined.empty() ? "" : " ") + m;
        EXPECT_EQ(joined, value) << where;
      } else if (key == "ext") {
        EXPECT_TRUE(p.extensions.count(value)) << where;
      } else if (key == "noext") {
        EXPECT_FALSE(p.extensions.count(value)) << where;
      } else if (key == "tls") {
        EXPECT_EQ(p.tls, on_off(value)) << where;
      } else if (key == "pipelining") {
        EXPECT_EQ(p.pipelining, on_off(value)) << where;
      } else if (key == "name") {
        EXPECT_EQ(p.name, value) << where;
      } else {
        ADD_FAILURE() << where << ": unknown PEER key " << key;
      }
    } else {
      ADD_FAILURE() << where << ": unknown step " << s.kind;
    }
  }
  if (check) {
    EXPECT_EQ(drv.output(), "") << name << ": client lines not matched by the dialog";
    for (const std::string& r : drv.results()) ADD_FAILURE() << name << ": unexpected result " << r;
  }
  return drv.transcript();
}

std::vector<std::string> client_dialog_files() {
  std::vector<std::string> files;
  const std::filesystem::path dir = std::filesystem::path(SLUICE_TEST_DATA) / "client_dialogs";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".dialog") files.push_back(entry.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class ClientDialogTest : public testing::TestWithParam<std::string> {};

TEST_P(ClientDialogTest, Plays) {
  const std::filesystem::path path =
      std::filesystem::path(SLUICE_TEST_DATA) / "client_dialogs" / (GetParam() + ".dialog");
  const ClientDialog dialog = load_dialog(path);
  ASSERT_FALSE(dialog.steps.empty()) << path;
  const std::string reference = play(dialog, GetParam(), {}, true);
  if (HasFailure()) return;

  size_t total = 0;
  for (const Step& s : dialog.steps) {
    if (s.kind == "IN") total += s.text.size();
  }
  for (size_t k = 1; k < total; ++k) {
    const std::string t = play(dialog, GetParam(), {Cutting::Mode::at, k}, false);
    EXPECT_EQ(t, reference) << "server bytes split at " << k;
    if (t != reference) return;
  }
  EXPECT_EQ(play(dialog, GetParam(), {Cutting::Mode::bytes, 0}, false), reference) << "byte by byte";
}

INSTANTIATE_TEST_SUITE_P(ClientDialogs, ClientDialogTest, testing::ValuesIn(client_dialog_files()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(ClientDialogFiles, Exist) { EXPECT_GE(client_dialog_files().size(), 20u); }

// ---- properties a dialog cannot state ----

class RecordingObserver : public ClientObserver {
 public:
  void on_sent(std::string_view line) override { sent.emplace_back(line); }
  void on_received(const Reply& reply) override { received.push_back(reply); }
  void on_info(std::string_view data, std::string_view context) override {
    info.push_back(std::string(context) + ": " + std::string(data));
  }
  std::vector<std::string> sent;
  std::vector<Reply> received;
  std::vector<std::string> info;
};

std::string run(ClientSession& s, std::string_view in) {
  s.feed(in);
  std::string out;
  for (int i = 0; i < 100; ++i) {
    const ClientAction a = s.poll();
    if (a != ClientAction::send) break;
    out += s.take_output();
  }
  return out;
}

TEST(ClientSession, ObserverSeesMaskedAuthAndParsedReplies) {
  ClientSettings settings;
  settings.helo_name = "client.test";
  settings.auth = std::make_pair(std::string("app"), std::string("s3cret"));
  settings.allow_plaintext_auth = true;
  RecordingObserver obs;
  ClientSession s(settings, &obs);
  run(s, "220 relay.test ESMTP\r\n");
  run(s, "250-relay.test\r\n250 AUTH LOGIN\r\n");
  const std::string user = run(s, "334 VXNlcm5hbWU6\r\n");
  const std::string pass = run(s, "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(user, "YXBw\r\n");
  EXPECT_EQ(pass, "czNjcmV0\r\n");
  run(s, "235 2.7.0 Authentication successful\r\n");
  EXPECT_TRUE(s.ready_for_message());
  const std::vector<std::string> expected{"EHLO client.test", "AUTH LOGIN", "****", "****"};
  EXPECT_EQ(obs.sent, expected);
  for (const std::string& line : obs.sent) {
    EXPECT_EQ(line.find("s3cret"), std::string::npos);
    EXPECT_EQ(line.find("czNjcmV0"), std::string::npos);
  }
  ASSERT_EQ(obs.received.size(), 5u);
  EXPECT_EQ(obs.received[4], Reply(235, "2.7.0", "Authentication successful"));
  EXPECT_EQ(obs.received[1].lines(), (std::vector<std::string>{"relay.test", "AUTH LOGIN"}));
}

TEST(ClientSession, AuthPlainInitialResponseIsMaskedForTheObserver) {
  ClientSettings settings;
  settings.helo_name = "client.test";
  settings.auth = std::make_pair(std::string("user"), std::string("pass"));
  settings.allow_plaintext_auth = true;
  RecordingObserver obs;
  ClientSession s(settings, &obs);
  run(s, "220 relay.test ESMTP\r\n");
  const std::string out = run(s, "250-relay.test\r\n250 AUTH PLAIN LOGIN\r\n");
  EXPECT_EQ(out, "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");  // base64("\0user\0pass")
  ASSERT_EQ(obs.sent.size(), 2u);
  EXPECT_EQ(obs.sent[1], "AUTH PLAIN ****");
}

TEST(ClientSession, TimeoutsFollowTheStageAwaited) {
  ClientSettings settings;
  settings.helo_name = "client.test";
  settings.greeting_timeout = std::chrono::seconds(11);
  settings.command_timeout = std::chrono::seconds(22);
  settings.data_init_timeout = std::chrono::seconds(33);
  settings.data_end_timeout = std::chrono::seconds(44);
  ClientSession s(settings);
  EXPECT_EQ(s.stage(), "greeting");
  EXPECT_EQ(s.current_timeout(), std::chrono::seconds(11));
  run(s, "220 mx.test ESMTP\r\n");
  EXPECT_EQ(s.stage(), "EHLO");
  EXPECT_EQ(s.current_timeout(), std::chrono::seconds(22));
  run(s, "250 mx.test\r\n");  // no PIPELINING: one command at a time
  Envelope e;
  e.mail_from = "a@example.test";
  e.recipients.push_back({"b@example.net", {}, ""});
  const std::string content = "Subject: t\r\n\r\nbody\r\n";
  s.send_message({&e, &content, {0}});
  EXPECT_EQ(s.poll(), ClientAction::send);
  EXPECT_EQ(s.take_output(), "MAIL FROM:<a@example.test>\r\n");
  EXPECT_EQ(s.stage(), "MAIL FROM");
  run(s, "250 2.1.0 Ok\r\n");
  EXPECT_EQ(s.stage(), "RCPT TO");
  run(s, "250 2.1.5 Ok\r\n");
  EXPECT_EQ(s.stage(), "DATA");
  EXPECT_EQ(s.current_timeout(), std::chrono::seconds(33));
  const std::string body = run(s, "354 go ahead\r\n");
  EXPECT_EQ(body, content + ".\r\n");
  EXPECT_EQ(s.stage(), "end of DATA");
  EXPECT_EQ(s.current_timeout(), std::chrono::seconds(44));
  s.on_timeout();
  EXPECT_EQ(s.poll(), ClientAction::message_done);
  const auto results = s.take_results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].stage, "end of DATA");
  EXPECT_EQ(results[0].reply.code(), 421);
  EXPECT_EQ(results[0].reply.enhanced(), "4.4.2");
  EXPECT_EQ(s.poll(), ClientAction::close);
  ASSERT_TRUE(s.session_failure().has_value());
  EXPECT_EQ(s.session_failure()->reply.text(),
            "421 4.4.2 Timed out after 44s waiting for the reply to end of DATA from mx.test");
}

TEST(ClientSession, ResultsWaitForTheCallerAndNothingIsReadMeanwhile) {
  ClientSession s(ClientSettings{"client.test"});
  run(s, "220 mx.test ESMTP\r\n250-mx.test\r\n250 PIPELINING\r\n");
  EXPECT_TRUE(s.ready_for_message());
  Envelope e;
  e.mail_from = "a@example.test";
  e.recipients.push_back({"b@example.net", {}, ""});
  const std::string content = "x\r\n";
  s.send_message({&e, &content, {0}});
  EXPECT_FALSE(s.ready_for_message());
  EXPECT_EQ(s.take_output(), "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
  run(s, "250 Ok\r\n250 Ok\r\n354 go\r\n250 queued\r\n");
  EXPECT_EQ(s.poll(), ClientAction::message_done);
  EXPECT_FALSE(s.ready_for_message());  // results first
  EXPECT_EQ(s.take_results().size(), 1u);
  EXPECT_TRUE(s.ready_for_message());
  EXPECT_EQ(s.poll(), ClientAction::need_input);
}

}  // namespace
}  // namespace sluice::smtp
