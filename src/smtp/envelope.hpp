// smtp/envelope.hpp: what a finished SMTP transaction hands over — the envelope (reverse
// path, recipients, ESMTP parameters, where the message came from) and the message itself.
// Owns: these plain data types, shared by the session (which fills them), the spool (which
// stores them) and delivery (which reads them). Not: their serialization (spool/).
// RFC 5321 §3.3 (transactions), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 3030 (BINARYMIME),
// RFC 6531 (SMTPUTF8), RFC 3461 (DSN: RET, ENVID, NOTIFY, ORCPT).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::smtp {

enum class BodyType { seven_bit, eight_bit_mime, binary_mime };
enum class DsnRet { unspecified, full, headers };

// RFC 3461 §4.1 NOTIFY. `specified` false means the client gave no NOTIFY: the default
// (failure and delay) applies.
struct DsnNotify {
  bool specified = false;
  bool never = false;
  bool success = false;
  bool failure = false;
  bool delay = false;
  bool operator==(const DsnNotify&) const = default;
};

struct Recipient {
  std::string address;  // the forward path as the client gave it, without <>; "Postmaster" allowed
  DsnNotify notify;
  std::string orcpt;    // RFC 3461 §4.2 ORCPT as given, "rfc822;bob@example.test" (xtext decoded)
  bool operator==(const Recipient&) const = default;
};

struct Envelope {
  std::string queue_id;
  std::string mail_from;             // reverse path without <>; empty for the null sender <>
  std::vector<Recipient> recipients;

  BodyType body = BodyType::seven_bit;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::unspecified;
  std::string envid;                 // RFC 3461 ENVID, xtext decoded
  uint64_t declared_size = 0;        // SIZE= from MAIL FROM, 0 if none

  // Where it came from: for Received headers, logs, tracking and the queue views.
  std::string connector;             // receive connector name
  std::string client_ip;
  uint16_t client_port = 0;
  std::string client_helo;           // the EHLO/HELO argument
  std::string protocol;              // RFC 3848 keyword: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP...
  std::string auth_user;             // authenticated user, empty if none
  std::string message_id;            // Message-ID header value, empty if the message has none
  int64_t received_at_us = 0;        // Unix time in microseconds when the 250 was decided

  bool operator==(const Envelope&) const = default;
};

// A complete message: its envelope and its content (header and body, CRLF line endings,
// dot-unstuffed, with our Received header prepended).
struct Message {
  Envelope envelope;
  std::string content;
};

}  // namespace sluice::smtp
