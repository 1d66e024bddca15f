// net/protocol_observer.hpp: turns one SMTP session's events into protocol log lines
// (ecosystem.md §2a): '+' connect, '<' command received, '>' reply sent, '*' information,
// '-' disconnect, each with the session id and a sequence number from 0.
// Also feeds the session's metrics (connections, refused commands by reply code, AUTH
// failures) when given a MailMetrics: every reply passes here once.
// Owns: the per-session numbering. Not: the file format (log/protocol_log.cpp); what is
// secret (the session masks AUTH data before it reaches us).
#pragma once

#include "log/metrics.hpp"

#include <string>

#include "log/protocol_log.hpp"
#include "smtp/session_policy.hpp"

namespace sluice::net {

class ProtocolObserver final : public smtp::SessionObserver {
 public:
  // `log` null: the connector has protocol logging off; events are dropped.
  ProtocolObserver(log::ProtocolLog* log, std::string connector, uint64_t session_id,
                   std::string local_endpoint, std::string remote_endpoint)
      : session_(log, std::move(connector), session_id, std::move(local_endpoint),
                 std::move(remote_endpoint)) {}

  // Metrics (admin): null = none. Set before on_connect().
  void set_metrics(log::MailMetrics* metrics) { metrics_ = metrics; }

  void on_connect() {
    if (metrics_) metrics_->connection(session_.connector());
    write('+', "", "");
  }
  void on_disconnect(std::string_view why) { write('-', "", why); }
  void on_command(std::string_view line) override { write('<', line, ""); }
  void on_reply(const Reply& reply) override;
  void on_info(std::string_view data, std::string_view context) override { write('*', data, context); }

 private:
  void write(char event, std::string_view data, std::string_view context) { session_.write(event, data, context); }

  log::ProtocolSession session_;
  log::MailMetrics* metrics_ = nullptr;
};

}  // namespace sluice::net
