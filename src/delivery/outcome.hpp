// delivery/outcome.hpp: the ONE place that says what an outbound failure means — for whom
// (one recipient, the whole message, this connection, the whole next hop) and whether
// retrying can help — with the reply kept verbatim and the meaning in plain words.
// Owns: classification of SMTP replies by the stage they answered, of connection errors, of
// DNS and routing failures. Model: Postfix src/smtp/smtp_trouble.c (STYLE.md "Errors").
// Not: acting on it (the transport tries the next host, the queue defers, bounces or retries
// the queue), building the DNS failure reply (routing/target_resolver.cpp, which knows the
// lookup), the knowledge base behind `sluice explain` (diagnose/).
// RFC 5321 §4.2.1 (reply classes), §3.8 and §4.2 (421 closes the session), §4.5.3.1.10
// (552 to RCPT is "too many recipients": temporary), §5.1 (next MX on connection failure);
// RFC 3463 (enhanced status codes); RFC 7505 (null MX); RFC 3207 (STARTTLS).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/reply.hpp"
#include "base/result.hpp"
#include "dns/resolver.hpp"

namespace sluice::delivery {

// Whom a failure concerns:
//  recipient  — this recipient only (a RCPT reply); the others of the message go on.
//  message    — every recipient of this message in this transaction (MAIL, DATA, end of
//               DATA); the connection may carry the next message.
//  connection — this target: try the next host/address (RFC 5321 §5.1). When no target is
//               left, the outcome applies to every recipient not yet done: a permanent one
//               bounces them (Postfix: a 5xx greeting from the last MX), a transient one puts
//               the queue in Retry.
//  queue      — the whole next hop, whatever host: a transient one puts the queue in Retry
//               (DNS SERVFAIL), a permanent one fails every recipient of the next hop
//               (NXDOMAIN, null MX).
enum class Scope { recipient, message, connection, queue };

const char* to_string(Scope s);  // "recipient", "message", "connection", "queue"

struct Outcome {
  bool permanent = false;  // 5xx-class: bounce; otherwise retry later
  Scope scope = Scope::recipient;
  Reply reply;              // the remote reply verbatim, or ours for local failures
  std::string explanation;  // plain words: what happened, what it means, what happens next

  // A positive reply (2xx, or 3xx where the transport passes one): nothing failed.
  bool delivered() const { return reply.positive(); }
};

// A reply to the command named by `stage` ("connect", "greeting", "EHLO", "HELO",
// "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA", "end of DATA"; case-insensitive,
// unknown stages count as message scope). 4xx -> transient, 5xx -> permanent, except: 421
// anywhere -> transient connection scope; greeting/EHLO/HELO -> connection scope; STARTTLS
// and AUTH failures -> transient connection scope (our TLS or credentials problem should not
// bounce users' mail: Postfix's smtp_sasl_auth_soft_bounce); 552 to RCPT -> transient.
Outcome classify_reply(const Reply& reply, std::string_view stage);

// A TCP connect that failed (`what`: "Connection refused", "Connection timed out", ...):
// transient, connection scope, "451 4.4.1 connect to mx.example.net[192.0.2.1]:25: Connection refused".
Outcome classify_connect_error(std::string_view what, const std::string& host, const std::string& ip, uint16_t port);

// The peer closed or broke the connection in the middle of `stage`: transient, connection
// scope, "451 4.4.2 lost connection with mx.example.net[192.0.2.1] while sending end of DATA".
Outcome classify_lost_connection(std::string_view stage, const std::string& host, const std::string& ip);

// A failed lookup of the next hop: nxdomain/nodata -> permanent 5.1.2, servfail/timeout/error
// -> transient 4.4.3 ("451 4.4.3 DNS query failed: SERVFAIL for mx.example.net"); queue scope.
Outcome classify_dns(const dns::Status& status, std::string_view detail);

// routing::TargetList::error (no target at all): its class and reply decide; queue scope.
Outcome classify_route_error(const Error& error);

// The meaning of a reply's enhanced status code (else of its basic code) in plain words,
// e.g. "the mailbox does not exist"; "" when nothing specific is known.
std::string reply_meaning(const Reply& reply);

}  // namespace sluice::delivery
