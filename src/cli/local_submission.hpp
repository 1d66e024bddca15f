// cli/local_submission.hpp: how `sendmail` hands a message to the local sluiced — the
// receive connector it uses and a small blocking SMTP client to it (one message, then QUIT).
// Owns: choosing the connector (one that accepts a loopback client without AUTH or TLS),
// the dialog, and the verdict the caller acts on (queued, try the maildrop, or refused for
// good). Not: the command line or the message text (sendmail_command.cpp), the maildrop file
// (queue/maildrop). A process that sends one message needs no event loop, so this is plain
// sockets with timeouts.
// RFC 5321 §3.3 (the mail transaction), §4.5.2 (dot-stuffing), RFC 1869/5321 §4.1.1.1 (EHLO),
// RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 3461 §4 (NOTIFY, RET, ENVID; xtext §4).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "smtp/envelope.hpp"

namespace sluice::cli {

struct LocalEndpoint {
  std::string host;  // IP literal to connect to: "127.0.0.1", "::1" or the bound address
  uint16_t port = 0;
  std::string connector;  // its name, for messages
};

// The connector `sendmail` submits to: a `relay` connector whose remote_ip_ranges accept the
// loopback client (or are empty), else an `internet` one (local recipients only); never one
// that requires TLS, speaks implicit TLS or listens on port 0. nullopt with `why` filled when
// none fits.
std::optional<LocalEndpoint> find_local_endpoint(const config::Config& config, std::string* why);

enum class SubmitVerdict {
  queued,     // 250 after DATA: sluiced has it
  temporary,  // not reachable or 4xx: keep it in the maildrop
  refused,    // 5xx: the message will never be accepted as it is
};

struct SubmitResult {
  SubmitVerdict verdict = SubmitVerdict::temporary;
  std::string detail;    // the reply or the socket error, for the operator
  std::string queue_id;  // from "250 ... queued as ID" when queued
  bool refused_recipient = false;  // refused because of a recipient (exit EX_NOUSER)
};

// One transaction: EHLO, MAIL (BODY/SMTPUTF8/RET/ENVID when offered), RCPT (NOTIFY), DATA
// with dot-stuffing, QUIT. `content` has CRLF line endings. Recipients refused with 5xx are
// reported in `detail`; the transaction continues when at least one was accepted.
SubmitResult submit_local(const LocalEndpoint& endpoint, const smtp::Envelope& envelope, std::string_view content,
                          std::string_view helo_name, int timeout_seconds = 60);

// RFC 3461 §4 xtext: '+', '=', controls and non-ASCII as "+XX".
std::string xtext_encode(std::string_view text);

// A connected socket to `endpoint` or an errno text ("Connection refused"); for -bs.
int connect_local(const LocalEndpoint& endpoint, int timeout_seconds, std::string* error);

}  // namespace sluice::cli
