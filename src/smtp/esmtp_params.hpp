// smtp/esmtp_params.hpp: the arguments of MAIL and RCPT — the path and the ESMTP parameters
// after it — and the xtext encoding those parameters use.
// Owns: "FROM:"/"TO:" syntax, esmtp-keyword ["=" esmtp-value] syntax, each parameter's
// value syntax, duplicates. Not: whether the session advertised the extension or allows the
// value (SIZE above the limit, BODY=BINARYMIME without CHUNKING): the session decides that.
// RFC 5321 §4.1.2 (Mail-parameters, Rcpt-parameters); RFC 1870 (SIZE); RFC 6152 (8BITMIME);
// RFC 3030 (BINARYMIME); RFC 6531 §3.4 (SMTPUTF8); RFC 3461 §4 (xtext, RET, ENVID, NOTIFY,
// ORCPT); RFC 4954 §5 (AUTH=).
//
// Replies (ErrorClass::protocol):
//   missing FROM:/TO: or angle brackets → 501 5.5.4 "Syntax: MAIL FROM:<address>" / "Syntax: RCPT TO:<address>"
//   unknown parameter                   → 555 5.5.4 "Unsupported parameter KEY"
//   bad value, duplicate parameter      → 501 5.5.4, naming the parameter
//   path errors                         → as parse_path (address.hpp)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "smtp/address.hpp"
#include "smtp/envelope.hpp"

namespace sluice::smtp {

inline constexpr size_t kMaxEnvid = 100;   // RFC 3461 §4.4, encoded length
inline constexpr size_t kMaxOrcpt = 500;   // RFC 3461 §4.2, encoded length

struct MailFromArgs {
  Path path;
  uint64_t size = 0;             // SIZE=, 0 if not given
  BodyType body = BodyType::seven_bit;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::unspecified;
  std::string envid;             // xtext decoded
  std::string auth;              // AUTH= decoded mailbox, "<>" for AUTH=<>, empty if not given
  bool size_given = false;       // SIZE= was present (SIZE=0 is legal)
  bool body_given = false;       // BODY= was present
};

struct RcptToArgs {
  Path path;
  DsnNotify notify;
  std::string orcpt;             // "rfc822;bob@example.test", xtext decoded; empty if not given
};

// argument: the MAIL argument, e.g. "FROM:<a@b> SIZE=1000 BODY=8BITMIME". "FROM: <a@b>" (a
// space after the colon, as many clients send) and case-insensitive keywords are accepted.
Result<MailFromArgs> parse_mail_from(std::string_view argument);
// smtputf8: the transaction's MAIL FROM carried SMTPUTF8.
Result<RcptToArgs> parse_rcpt_to(std::string_view argument, bool smtputf8);

// RFC 3461 §4: "+XX" hex escapes; other octets must be xchar (33..126 except "+" and "=").
// Lower-case hex is accepted on input. Error (no Reply attached): a malformed escape or octet.
Result<std::string> xtext_decode(std::string_view s);
// The inverse, with upper-case hex, for the SMTP client that relays ENVID/ORCPT.
std::string xtext_encode(std::string_view s);

}  // namespace sluice::smtp
