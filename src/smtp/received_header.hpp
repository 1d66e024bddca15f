// smtp/received_header.hpp: the trace header field we prepend to every accepted message.
// Owns: the Received field's clauses, their order, sanitizing client-supplied text that
// goes into it (the HELO name), folding at 78 columns, the RFC 5322 date.
// Not: counting existing Received fields (message_reader.hpp), choosing the protocol keyword
// (server_session).
// RFC 5321 §4.4 (trace information: "from" Extended-Domain, "by", "with" Protocol, "id",
// "for"), RFC 5322 §3.6.7 (trace fields), §3.3 (date-time), §2.2.3 (folding), RFC 3848
// (protocol keywords).
//
// Shape (Postfix-like, so admins recognize it):
//   Received: from <helo> (<reverse name or "unknown"> [<ip>])
//   \t(using <TLS version> with cipher <cipher> (<bits>/<bits> bits))   when TLS was used
//   \t(Authenticated sender: <login>)                                  after AUTH (Postfix's words)
//   \tby <hostname> (sluice) with <protocol> id <queue id>
//   \tfor <rcpt>; <date>          (without a single recipient: "id <queue id>;" and the date
//                                  on a line of its own)
// "for" only when the transaction has exactly one recipient: listing several would leak
// the other (possibly Bcc) recipients to each of them.
#pragma once

#include <string>
#include <string_view>

#include "base/clock.hpp"

namespace sluice::smtp {

struct ReceivedInfo {
  std::string helo;          // as the client gave it
  std::string reverse_name;  // verified reverse DNS name, empty if unknown
  std::string ip;            // "192.0.2.1" or "2001:db8::1"
  std::string hostname;      // ours
  std::string protocol;      // RFC 3848 keyword: SMTP, ESMTP, UTF8SMTP...
  std::string queue_id;
  std::string for_recipient; // the single recipient, empty for none or several
  std::string tls_version;   // "TLSv1.3"; empty = no TLS (RFC 3207 §4.1 leaves the trace to us)
  std::string tls_cipher;    // "TLS_AES_256_GCM_SHA384"
  int tls_bits = 0;          // 0 = unknown, the "(n/n bits)" is left out
  std::string auth_user;     // the authenticated login (RFC 4954 §7 leaves this to policy)
  SystemTime when;
};

// The complete field with its CRLF, folded so that no line exceeds 78 octets where a
// folding point exists (an unbreakable word longer than that stays on its own line).
std::string make_received_header(const ReceivedInfo& info);

// RFC 5322 §3.3 date-time in UTC: "Tue, 01 Jul 2025 10:00:00 +0000".
std::string rfc5322_date(SystemTime t);

}  // namespace sluice::smtp
