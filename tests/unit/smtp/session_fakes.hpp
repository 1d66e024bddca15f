// Test fakes for the server session (server_session_test, dialog_test): a policy with the
// rules the dialog files rely on, an observer that records events, an authenticator with
// PLAIN and LOGIN over a fixed user list, and a driver that plays the lead's loop (poll,
// write, commit, on_submitted, password checks) with a fake committer.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "smtp/server_session.hpp"

namespace sluice::smtp::testing_fakes {

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Accepts recipients at example.test (unknown@example.test → 550 5.1.1), refuses others
// with 550 5.7.1; refuses connects from 192.0.2.66, HELO "bad.helo.test", sender
// spammer@example.test. Queue ids Q0001, Q0002...
class FakePolicy final : public SessionPolicy {
 public:
  std::optional<Reply> check_connect(const ClientInfo& c) override {
    if (c.ip == "192.0.2.66") return Reply(554, "5.7.1", "Connection refused");
    return std::nullopt;
  }
  std::optional<Reply> check_helo(std::string_view helo) override {
    if (lower(helo) == "bad.helo.test") return Reply(550, "5.7.1", "Helo command rejected");
    return std::nullopt;
  }
  std::optional<Reply> check_mail_from(const MailFromArgs& a) override {
    if (lower(a.path.address()) == "spammer@example.test") return Reply(550, "5.7.1", "Sender rejected");
    return std::nullopt;
  }
  std::optional<Reply> check_rcpt(const RcptToArgs& a, const Envelope&) override {
    const std::string addr = lower(a.path.address());
    if (addr == "unknown@example.test") return Reply(550, "5.1.1", "User unknown");
    if (a.path.postmaster_only || lower(a.path.domain) == "example.test") return std::nullopt;
    return Reply(550, "5.7.1", "Relay access denied");
  }
  std::string new_queue_id() override {
    std::string n = std::to_string(++ids_);
    return "Q" + std::string(4 - std::min<size_t>(4, n.size()), '0') + n;
  }

 private:
  int ids_ = 0;
};

// Base64 for the fakes (RFC 4648 §4); decode returns nullopt on anything malformed.
inline std::string b64_encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

inline std::optional<std::string> b64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    unsigned v = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      const int x = value(c);
      if (x < 0 || pad > 0) return std::nullopt;
      v = (v << 6) | static_cast<unsigned>(x);
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

// PLAIN and LOGIN over FakeAuthenticator's users. Users: alice@example.test / "secret"
// (may also send as a.lias@example.test), bob@example.test / "hunter2". Three failures from
// one address block it.
class FakeAuthenticator final : public Authenticator {
 public:
  std::vector<std::string> mechanisms() const override { return {"PLAIN", "LOGIN"}; }

  std::unique_ptr<SaslExchange> begin(std::string_view mechanism) override {
    const std::string m = lower(mechanism);
    if (m == "plain") return std::make_unique<Exchange>(false);
    if (m == "login") return std::make_unique<Exchange>(true);
    return nullptr;
  }
  bool verify_password(std::string_view username, std::string_view password) const override {
    ++verifications;
    auto it = passwords_.find(lower(username));
    return it != passwords_.end() && it->second == password;
  }
  bool blocked(std::string_view ip) override { return failures_[std::string(ip)] >= 3; }
  bool failure(std::string_view ip) override { return ++failures_[std::string(ip)] >= 3; }
  void success(std::string_view ip) override { failures_.erase(std::string(ip)); }
  bool may_send_as(std::string_view login, std::string_view address) const override {
    const std::string a = lower(address);
    return a == lower(login) || (lower(login) == "alice@example.test" && a == "a.lias@example.test");
  }

  mutable int verifications = 0;

 private:
  class Exchange final : public SaslExchange {
   public:
    explicit Exchange(bool login) : login_(login) {}
    SaslStep start(std::optional<std::string_view> initial) override {
      if (!initial) return challenge(login_ ? "Username:" : "");
      return step(*initial);
    }
    SaslStep step(std::string_view response) override {
      std::optional<std::string> decoded = response == "=" ? std::string() : b64_decode(response);
      if (!decoded) {
        SaslStep s;
        s.reply = Reply(501, "5.5.2", "Cannot decode response");
        return s;
      }
      if (login_) {
        if (!have_user_) {
          user_ = *decoded;
          have_user_ = true;
          return challenge("Password:");
        }
        return SaslStep{SaslStepKind::need_verification, {}, user_, *decoded, std::nullopt};
      }
      const size_t a = decoded->find('\0');
      const size_t b = a == std::string::npos ? a : decoded->find('\0', a + 1);
      if (b == std::string::npos) return SaslStep{SaslStepKind::failure, "malformed PLAIN", {}, {}, std::nullopt};
      user_ = decoded->substr(a + 1, b - a - 1);
      return SaslStep{SaslStepKind::need_verification, {}, user_, decoded->substr(b + 1), std::nullopt};
    }
    SaslStep finish(bool verified) override {
      if (verified) return SaslStep{SaslStepKind::success, {}, user_, {}, std::nullopt};
      return SaslStep{SaslStepKind::failure, "wrong password", user_, {}, std::nullopt};
    }

   private:
    static SaslStep challenge(std::string_view text) {
      return SaslStep{SaslStepKind::challenge, b64_encode(text), {}, {}, std::nullopt};
    }
    bool login_;
    bool have_user_ = false;
    std::string user_;
  };

  std::map<std::string, std::string> passwords_{{"alice@example.test", "secret"},
                                                {"bob@example.test", "hunter2"}};
  std::map<std::string, int> failures_;
};

class RecordingObserver final : public SessionObserver {
 public:
  void on_command(std::string_view line) override { commands.emplace_back(line); }
  void on_reply(const Reply& r) override { replies.push_back(r); }
  void on_info(std::string_view data, std::string_view context) override {
    infos.emplace_back(std::string(data) + "|" + std::string(context));
  }
  std::vector<std::string> commands;
  std::vector<Reply> replies;
  std::vector<std::string> infos;
};

// Plays the lead's loop: after each feed, polls until the session needs input or closes,
// committing messages through a fake committer.
class Driver {
 public:
  explicit Driver(SessionSettings settings, ClientInfo client = {"192.0.2.1", 40000, "192.0.2.25", 25, ""},
                  bool with_auth = false)
      : settings_(std::move(settings)),
        clock_(SystemTime{std::chrono::seconds{1751364123}}),
        session_(settings_, policy_, observer_, clock_, std::move(client), with_auth ? &auth_ : nullptr) {
    run();
  }

  // Feeds bytes and runs the session; returns the output produced.
  std::string send(std::string_view bytes) {
    if (!session_.closed()) session_.feed(bytes);
    return run();
  }

  std::string run() {
    // Bounded: each submit consumes a message; a poll returning need_input/close stops.
    for (int i = 0; i < 100000; ++i) {
      const SessionAction a = session_.poll();
      output_ += session_.take_output();
      if (a == SessionAction::close) {
        saw_close_ = true;
        break;
      }
      if (a == SessionAction::need_input) break;
      if (a == SessionAction::start_tls) {  // the test completes the handshake: on_tls_started()
        saw_start_tls_ = true;
        break;
      }
      if (a == SessionAction::verify_password) {
        const PasswordCheck c = session_.take_password_check();
        session_.on_password_verified(auth_.verify_password(c.username, c.password));
        continue;
      }
      Message m = session_.take_message();
      ++commits_;
      if (fail_next_commit_ || commits_ == fail_commit_number_) {
        fail_next_commit_ = false;
        session_.on_submitted(fail(ErrorClass::transient, Reply(452, "4.3.1", "Insufficient system storage")));
      } else {
        committed_.push_back(std::move(m));
        session_.on_submitted(ok());
      }
    }
    std::string out = std::exchange(output_, std::string());
    all_output_ += out;
    return out;
  }

  std::string event_output() {
    std::string out = session_.take_output();
    all_output_ += out;
    return out;
  }

  ServerSession& session() { return session_; }
  FakeAuthenticator& authenticator() { return auth_; }
  bool saw_start_tls() const { return saw_start_tls_; }
  RecordingObserver& observer() { return observer_; }
  ManualClock& clock() { return clock_; }
  const std::vector<Message>& committed() const { return committed_; }
  const std::string& all_output() const { return all_output_; }
  bool saw_close() const { return saw_close_; }
  void fail_next_commit() { fail_next_commit_ = true; }
  // The n-th commit attempt (1-based) fails with 452 4.3.1.
  void fail_commit_number(int n) { fail_commit_number_ = n; }

 private:
  SessionSettings settings_;
  FakePolicy policy_;
  FakeAuthenticator auth_;
  RecordingObserver observer_;
  ManualClock clock_;
  ServerSession session_;
  std::string output_;
  std::string all_output_;
  std::vector<Message> committed_;
  bool saw_close_ = false;
  bool saw_start_tls_ = false;
  bool fail_next_commit_ = false;
  int commits_ = 0;
  int fail_commit_number_ = 0;
};

inline SessionSettings test_settings() {
  SessionSettings s;
  s.hostname = "mx.sluice.test";
  s.connector = "Default Frontend";
  s.max_message_size = 10000;
  s.max_recipients = 3;
  s.max_errors = 5;
  s.max_hop_count = 5;
  return s;
}

}  // namespace sluice::smtp::testing_fakes
