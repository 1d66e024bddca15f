// Fuzz target for the SMTP server session: one input is everything a client sends on one
// connection, cut into reads at places the input itself chooses. The session must never
// crash, never buffer without bound, and must answer every read with well-formed replies;
// any message it submits is committed and the session goes on.
// Owns: these invariants. Not: the grammar alone (command_parser_fuzz.cpp).
// RFC 5321 §4.1, §4.5.3.1, §2.3.8; RFC 3030; RFC 2920.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "smtp/server_session.hpp"

namespace {

using namespace sluice;
using namespace sluice::smtp;

class Policy final : public SessionPolicy {
 public:
  std::optional<Reply> check_connect(const ClientInfo&) override { return std::nullopt; }
  std::optional<Reply> check_helo(std::string_view) override { return std::nullopt; }
  std::optional<Reply> check_mail_from(const MailFromArgs&) override { return std::nullopt; }
  std::optional<Reply> check_rcpt(const RcptToArgs& a, const Envelope&) override {
    if (a.path.domain == "example.test") return std::nullopt;
    return Reply(550, "5.7.1", "Relay access denied");
  }
  std::string new_queue_id() override { return "0CHG5V1M2KT01"; }
};

class Observer final : public SessionObserver {
 public:
  void on_command(std::string_view) override {}
  void on_reply(const Reply&) override {}
  void on_info(std::string_view, std::string_view) override {}
};

// Every reply line: three digits, then ' ' or '-', then text, then CRLF.
void check_output(const std::string& out) {
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find("\r\n", pos);
    if (end == std::string::npos || end - pos < 4) std::abort();
    for (size_t i = 0; i < 3; ++i)
      if (out[pos + i] < '0' || out[pos + i] > '9') std::abort();
    if (out[pos + 3] != ' ' && out[pos + 3] != '-') std::abort();
    pos = end + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ManualClock clock(SystemTime(std::chrono::seconds(1'700'000'000)));
  Policy policy;
  Observer observer;
  SessionSettings settings;
  settings.hostname = "mx.example.test";
  settings.max_message_size = 4096;
  settings.max_recipients = 3;
  ServerSession session(settings, policy, observer, clock, ClientInfo{"192.0.2.1", 40000, "192.0.2.2", 25, ""});
  check_output(session.take_output());

  // The first byte picks the read size, so the same bytes arrive cut in different places.
  const size_t chunk = size == 0 ? 1 : 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (size_t pos = 0; pos < input.size() && !session.closed();) {
    session.feed(input.substr(pos, chunk));
    pos += chunk;
    for (int rounds = 0; rounds < 1000; ++rounds) {
      SessionAction a = session.poll();
      check_output(session.take_output());
      if (a != SessionAction::submit) break;
      Message m = session.take_message();
      if (m.envelope.recipients.empty() || m.envelope.recipients.size() > 3) std::abort();
      session.on_submitted(ok());
    }
  }
  session.on_eof();
  session.poll();
  check_output(session.take_output());
  return 0;
}
