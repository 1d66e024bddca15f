// policy/relay_control.hpp: the recipient and relay decisions of a receive connector — who
// may send to whom — as the SessionPolicy the SMTP session asks.
// Owns: relay control (RFC 5321 §3.6.1, §7.1), the refusal of the classic open-relay tricks
// (percent hack, quoted local parts with '@', bang paths, source routes §C, which the
// grammar parses but we never honour), unknown local recipients at RCPT time (550 5.1.1),
// and minting queue ids. An authenticated client (the Envelope's auth_user, set by the session
// after AUTH) may relay anywhere, as submission requires (RFC 6409 §4.3, §5). Not: syntax
// (smtp/), whether AUTH is required (the session's client connector rules), DNSBL/rate
// limits (later policies).
#pragma once

#include <optional>
#include <string>

#include "base/queue_id.hpp"
#include "config/config.hpp"
#include "routing/local_directory.hpp"
#include "smtp/session_policy.hpp"

namespace sluice::policy {

class RelayControl final : public smtp::SessionPolicy {
 public:
  // `may_relay`: the client may send to domains that are not ours (a relay connector whose
  // remote_ip_ranges selected it); authenticated clients may relay on any connector.
  RelayControl(const routing::LocalDirectory& directory, bool may_relay, QueueIdGenerator& ids)
      : directory_(directory), may_relay_(may_relay), ids_(ids) {}

  std::optional<Reply> check_connect(const smtp::ClientInfo&) override { return std::nullopt; }
  std::optional<Reply> check_helo(std::string_view) override { return std::nullopt; }
  std::optional<Reply> check_mail_from(const smtp::MailFromArgs&) override { return std::nullopt; }
  std::optional<Reply> check_rcpt(const smtp::RcptToArgs& args, const smtp::Envelope& envelope) override;
  std::string new_queue_id() override { return ids_.next(); }

  // True when the connector's usage lets every client it accepts relay without AUTH.
  static bool usage_allows_relay(config::ConnectorUsage usage) {
    return usage == config::ConnectorUsage::relay;
  }

 private:
  const routing::LocalDirectory& directory_;
  bool may_relay_;
  QueueIdGenerator& ids_;
};

}  // namespace sluice::policy
