// smtp/command.cpp: turns one command line into a Command; holds the verb table.
// Owns: verb and argument-presence syntax (RFC 5321 §4.1.1), the command-line limit
// (§4.5.3.1.4), BDAT's argument (RFC 3030 §2). Not: state rules (server_session),
// MAIL/RCPT arguments (esmtp_params.cpp), address syntax (address.cpp).
#include "smtp/command.hpp"

#include <array>
#include <charconv>

namespace sluice::smtp {

namespace {

// The only list of verbs. Order matches enum Verb so verb_info() is an index.
constexpr std::array<VerbInfo, 15> kVerbs{{
    //  verb            name        ends  takes  pre-TLS  argument rule
    {Verb::helo, "HELO", false, true, true, ArgumentRule::required},
    // RFC 2920 §3.1: EHLO changes the advertised extensions, so it ends a group.
    {Verb::ehlo, "EHLO", true, true, true, ArgumentRule::required},
    {Verb::mail, "MAIL", false, true, false, ArgumentRule::required},
    {Verb::rcpt, "RCPT", false, true, false, ArgumentRule::required},
    {Verb::data, "DATA", true, false, false, ArgumentRule::none},
    // BDAT may be pipelined (RFC 3030 §4.2): the chunk follows the command immediately.
    {Verb::bdat, "BDAT", false, true, false, ArgumentRule::required},
    {Verb::rset, "RSET", false, false, true, ArgumentRule::none},
    {Verb::noop, "NOOP", true, false, true, ArgumentRule::optional},
    {Verb::quit, "QUIT", true, false, true, ArgumentRule::none},
    {Verb::vrfy, "VRFY", true, true, false, ArgumentRule::required},
    {Verb::expn, "EXPN", true, true, false, ArgumentRule::required},
    {Verb::help, "HELP", false, false, true, ArgumentRule::optional},
    // STARTTLS: everything pipelined after it must be discarded (RFC 3207 §4.2, CVE-2011-0411).
    {Verb::starttls, "STARTTLS", true, false, true, ArgumentRule::none},
    {Verb::auth, "AUTH", true, true, false, ArgumentRule::required},
    {Verb::unknown, "", false, false, false, ArgumentRule::optional},
}};

constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < kVerbs.size(); ++i)
    if (static_cast<size_t>(kVerbs[i].verb) != i) return false;
  return true;
}
static_assert(table_in_enum_order(), "kVerbs must follow the order of enum Verb");

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

Failure syntax(std::string text) {
  return fail(ErrorClass::protocol, Reply{501, "5.5.4", std::move(text)});
}

}  // namespace

const VerbInfo& verb_info(Verb v) {
  const auto i = static_cast<size_t>(v);
  SLUICE_ASSERT(i < kVerbs.size());
  return kVerbs[i];
}

Result<Command> parse_command(std::string_view line) {
  if (line.size() > kMaxCommandLine)
    return fail(ErrorClass::protocol, Reply{500, "5.5.2", "Line too long"});
  for (char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    // A NUL or bare CR/LF inside a line is how smuggling and log forging start; refuse them.
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return fail(ErrorClass::protocol, Reply{500, "5.5.2", "Control characters not allowed"});
  }

  const size_t sp = line.find(' ');
  const std::string_view word = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  // Lenient on extra separating spaces (RFC 5321 §4.1.1 wants one; clients send more).
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);

  Verb verb = Verb::unknown;
  for (const VerbInfo& info : kVerbs) {
    if (info.verb != Verb::unknown && iequals(word, info.name)) {
      verb = info.verb;
      break;
    }
  }

  const VerbInfo& info = verb_info(verb);
  if (info.argument == ArgumentRule::none && !rest.empty())
    return syntax(std::string(info.name) + " takes no argument");
  if (info.argument == ArgumentRule::required && rest.empty())
    return syntax(std::string(info.name) + " requires an argument");
  return Command{verb, std::string(rest)};
}

Result<BdatArgs> parse_bdat(std::string_view argument) {
  const size_t sp = argument.find(' ');
  const std::string_view digits = argument.substr(0, sp);
  if (digits.empty() || digits.size() > 20)
    return syntax("Syntax: BDAT chunk-size [LAST]");
  BdatArgs out;
  for (char c : digits)
    if (c < '0' || c > '9') return syntax("Syntax: BDAT chunk-size [LAST]");
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.size);
  if (ec != std::errc{} || ptr != digits.data() + digits.size())
    return syntax("BDAT chunk size too large");
  if (sp != std::string_view::npos) {
    if (!iequals(argument.substr(sp + 1), "LAST")) return syntax("Syntax: BDAT chunk-size [LAST]");
    out.last = true;
  }
  return out;
}

}  // namespace sluice::smtp
