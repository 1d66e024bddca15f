// smtp/command.hpp: one SMTP command line turned into a Command (verb and argument), and the
// constant table of verbs with their flags.
// Owns: verb recognition, the per-verb argument rules (none / required / optional), the
// command-line length limit (RFC 5321 §4.5.3.1.4) and the refusal of control characters;
// the BDAT argument (RFC 3030 §2).
// Not: CRLF framing and the raw 512-octet line limit on the wire (the session's line reader),
// state rules (server_session), MAIL/RCPT arguments (esmtp_params.hpp), addresses (address.hpp).
// RFC 5321 §4.1 (commands), §4.5.3.1 (limits); RFC 2920 §3.1 (pipelining groups);
// RFC 3207 (STARTTLS); RFC 3030 (BDAT).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sluice::smtp {

// RFC 5321 §4.5.3.1.4: 512 octets including CRLF; the session strips the CRLF.
inline constexpr size_t kMaxCommandLine = 510;

enum class Verb { helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth, unknown };

enum class ArgumentRule { none, required, optional };

struct VerbInfo {
  Verb verb;
  std::string_view name;      // "MAIL"; empty for Verb::unknown
  bool ends_pipeline_group;   // RFC 2920 §3.1: EHLO, DATA, VRFY, EXPN, TURN, QUIT, NOOP, STARTTLS, AUTH end a group
  bool takes_argument;        // HELO/EHLO/MAIL/RCPT/BDAT/VRFY/EXPN/AUTH need one; NOOP/HELP may have one
  bool allowed_before_tls;    // EHLO HELO STARTTLS NOOP RSET QUIT HELP (for STARTTLS-required connectors)
  ArgumentRule argument;      // the precise rule behind takes_argument
};

// One constant table, the only place verbs are listed. Verb::unknown has an entry too.
const VerbInfo& verb_info(Verb v);

struct Command {
  Verb verb;
  // Text after the verb and the spaces that separate it, trailing SP/TAB removed.
  // For Verb::unknown: the same rule (text after the first word).
  std::string argument;
  bool operator==(const Command&) const = default;
};

// Case-insensitive verbs. An unknown verb (including an empty line) gives
// Command{Verb::unknown, ...}: not an error here, the session answers 500 5.5.2 and counts it.
// Errors (ErrorClass::protocol, with a Reply):
//   line longer than kMaxCommandLine                 → 500 5.5.2 "Line too long"
//   NUL or another control character (TAB allowed)   → 500 5.5.2
//   argument given to a verb that takes none          → 501 5.5.4
//   missing required argument                         → 501 5.5.4
Result<Command> parse_command(std::string_view line);

// RFC 3030 §2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]; `argument` is
// Command::argument of a BDAT command. Errors: 501 5.5.4.
struct BdatArgs {
  uint64_t size = 0;
  bool last = false;
  bool operator==(const BdatArgs&) const = default;
};
Result<BdatArgs> parse_bdat(std::string_view argument);

}  // namespace sluice::smtp
