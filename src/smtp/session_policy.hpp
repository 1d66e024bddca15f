// smtp/session_policy.hpp: the interfaces through which the SMTP server session asks for
// decisions (SessionPolicy) and reports what happened (SessionObserver), and what it knows
// about the peer (ClientInfo).
// Owns: these interfaces only. Not: any decision (policy/ implements SessionPolicy: relay
// control, recipient checks, DNSBL, greylisting...), the protocol log format (log/ implements
// SessionObserver), the session's rules (server_session).
// RFC 5321 §3.1 (connect-time rejection with 554), §4.1.1.1-4.1.1.3 (the replies a policy may
// give to HELO/EHLO, MAIL and RCPT).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/reply.hpp"
#include "smtp/envelope.hpp"
#include "smtp/esmtp_params.hpp"

namespace sluice::smtp {

struct ClientInfo {
  std::string ip;            // "192.0.2.1" or "2001:db8::1"
  uint16_t port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
  std::string reverse_name;  // verified (forward-confirmed) reverse DNS name; empty = unknown
};

// Each check returns the reply that refuses, or nullopt to let the session give its own
// positive reply. A refusal is not a protocol error: it does not count toward max_errors.
class SessionPolicy {
 public:
  virtual ~SessionPolicy() = default;
  // nullopt accepts the connection; a reply (554 5.7.1 ...) is sent instead of the greeting
  // and the session closes.
  virtual std::optional<Reply> check_connect(const ClientInfo& client) = 0;
  virtual std::optional<Reply> check_helo(std::string_view helo) = 0;
  virtual std::optional<Reply> check_mail_from(const MailFromArgs& args) = 0;
  // `envelope` is the transaction so far (sender, recipients accepted before this one).
  // nullopt → "250 2.1.5 Ok".
  virtual std::optional<Reply> check_rcpt(const RcptToArgs& args, const Envelope& envelope) = 0;
  // A fresh queue id for a message that is about to be committed.
  virtual std::string new_queue_id() = 0;
};

// Feeds the protocol log: one call per event, never message content.
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  // A command line as received, without CRLF; AUTH credentials are masked.
  virtual void on_command(std::string_view line) = 0;
  virtual void on_reply(const Reply& reply) = 0;
  // Information events: ("queued as X", "message accepted"), ("data", "session state")...
  virtual void on_info(std::string_view data, std::string_view context) = 0;
};

}  // namespace sluice::smtp
