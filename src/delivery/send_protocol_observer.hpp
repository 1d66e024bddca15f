// delivery/send_protocol_observer.hpp: turns one outbound SMTP connection's events into SEND
// protocol log lines (ecosystem.md §2a, Exchange's SmtpSend layout):
//   *  attempting to connect      (remote endpoint known, local not yet)
//   +  connected
//   <  each reply line received   >  each command line sent (AUTH data masked upstream)
//   *  information: "TLS negotiation succeeded", "sending message", a connect error...
//   -  disconnected, with why
// one session id per connection attempt, sequence numbers from 0.
// Owns: the per-connection numbering and the choice of event characters for the send side
// (the mirror image of the receive side: '>' is what WE send). Not: the CSV format
// (log/protocol_log.cpp), what is secret (the client session masks AUTH before it gets here),
// message content (never logged).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/reply.hpp"
#include "log/protocol_log.hpp"
#include "smtp/client_session.hpp"

namespace sluice::delivery {

class SendProtocolObserver final : public smtp::ClientObserver {
 public:
  // `log` null: the connector has protocol_log = false; events are dropped.
  SendProtocolObserver(log::ProtocolLog* log, std::string connector, uint64_t session_id)
      : session_(log, std::move(connector), session_id) {}

  // `remote` is "ip:port" (log::format_endpoint); `host` the name tried, for the admin.
  void on_attempt(std::string remote, std::string_view host);
  void on_connect(std::string local);
  void on_connect_failed(std::string_view what) { on_info(what, "failed to connect"); }
  void on_sent(std::string_view line) override;           // one command line, without CRLF
  void on_received(const Reply& reply) override;          // one log line per reply line
  void on_received_line(std::string_view line);  // a raw line, when no Reply was parsed
  void on_info(std::string_view data, std::string_view context) override { session_.write('*', data, context); }
  void on_disconnect(std::string_view why) { session_.write('-', "", why); }

  uint64_t session_id() const { return session_.session_id(); }
  uint32_t events() const { return session_.events(); }

 private:
  log::ProtocolSession session_;
};

}  // namespace sluice::delivery
