// Test fakes for the server session (server_session_test, dialog_test): a policy with the
// rules the dialog files rely on, an observer that records events, and a driver that plays
// the lead's loop (poll, write, commit, on_submitted) with a fake committer.
#pragma once

#include <algorithm>
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
  explicit Driver(SessionSettings settings, ClientInfo client = {"192.0.2.1", 40000, "192.0.2.25", 25, ""})
      : settings_(std::move(settings)),
        clock_(SystemTime{std::chrono::seconds{1751364123}}),
        session_(settings_, policy_, observer_, clock_, std::move(client)) {
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
  RecordingObserver observer_;
  ManualClock clock_;
  ServerSession session_;
  std::string output_;
  std::string all_output_;
  std::vector<Message> committed_;
  bool saw_close_ = false;
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
