// smtp/address.hpp: the Path of MAIL FROM and RCPT TO, parsed exactly as RFC 5321 §4.1.2
// writes it (with RFC 6531's UTF-8 extensions when the client gave SMTPUTF8).
// Owns: Path/Mailbox/Domain/address-literal syntax and the size limits of §4.5.3.1.1-3.
// Not: policy. Relay tricks (percent hack, quoted "@", source routes, bang paths) parse into
// fields the policy can see (local_part, quoted, source_route); refusing them is policy/'s job.
// Not: IDNA conversion (U-labels are checked for shape only; A-label conversion is elsewhere).
// RFC 5321 §4.1.2, §4.1.3, §4.5.1 (Postmaster), §4.5.3.1; RFC 6531 §3.3, §3.7.4.1.
//
// Reply codes (ErrorClass::protocol unless noted):
//   syntax or size limit        → 501 5.1.7 (sender) / 501 5.1.3 (recipient), text says what
//   invalid UTF-8 octets         → 501 5.6.7 (malformed whatever the client announced)
//   valid UTF-8 without SMTPUTF8 → 553 5.6.7 (ErrorClass::permanent), RFC 6531 §3.7.4.1
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sluice::smtp {

inline constexpr size_t kMaxLocalPart = 64;   // RFC 5321 §4.5.3.1.1
inline constexpr size_t kMaxDomain = 255;     // §4.5.3.1.2
inline constexpr size_t kMaxPath = 256;       // §4.5.3.1.3, counted with the angle brackets
inline constexpr size_t kMaxLabel = 63;       // RFC 1035 §2.3.4

struct Path {
  std::string local_part;        // as on the wire, quotes kept if it was a quoted-string
  std::string domain;            // as given, or an address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]"
  std::string source_route;      // "@a.example,@b.example" if the client sent an A-d-l, else empty
  bool postmaster_only = false;  // "<Postmaster>" without a domain (§4.5.1), any case; local_part as given
  bool quoted = false;           // local part was a quoted-string
  bool utf8 = false;             // contains non-ASCII (valid UTF-8) octets
  bool null() const;             // "<>"
  std::string address() const;   // "local@domain" (no source route), the local part for <Postmaster>, "" for null
  bool operator==(const Path&) const = default;
};

enum class PathKind { reverse, forward };  // MAIL FROM allows <>, RCPT TO allows <Postmaster>

// `s` is the text inside and including the angle brackets, e.g. "<a@b.example>".
// allow_utf8: the client gave SMTPUTF8 on this transaction's MAIL FROM.
Result<Path> parse_path(std::string_view s, PathKind kind, bool allow_utf8);

// Building blocks, also for EHLO/HELO arguments and configuration checks.
bool valid_utf8(std::string_view s);
// RFC 5321 Domain (no trailing dot, labels 1..63, LDH, no hyphen at either end), ≤ 255 octets;
// with allow_utf8 a label may be a U-label (UTF-8, checked for shape only).
bool valid_domain(std::string_view s, bool allow_utf8);
// "[192.0.2.1]" or "[IPv6:...]" (checked with inet_pton). General-address-literal is refused.
bool valid_address_literal(std::string_view s);

}  // namespace sluice::smtp
