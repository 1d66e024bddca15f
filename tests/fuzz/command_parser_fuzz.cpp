// Fuzz target for the SMTP grammar: one input is one command line (without CRLF). It goes
// through parse_command and, for MAIL/RCPT/BDAT, the argument parsers; every path, every
// xtext round trip. Owns: the invariants below. Not: the session (fed by its own target).
// RFC 5321 §4.1, §4.5.3.1; RFC 3461 §4; RFC 6531.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/address.hpp"
#include "smtp/command.hpp"
#include "smtp/esmtp_params.hpp"

namespace {

using namespace sluice;
using namespace sluice::smtp;

// A refusal must always carry a reply a session can send: 5xx with an enhanced code.
template <typename T>
void check_refusal(const Result<T>& r) {
  if (r) return;
  if (!r.error().reply || r.error().reply->code() < 500 || r.error().reply->code() > 555 ||
      r.error().reply->enhanced().empty())
    std::abort();
}

void check_path(const Path& p) {
  if (p.local_part.size() > kMaxLocalPart || p.domain.size() > kMaxDomain) std::abort();
  if (p.null() && !p.address().empty()) std::abort();
  if (p.utf8 && !valid_utf8(p.address())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  auto cmd = parse_command(line);
  check_refusal(cmd);
  if (cmd) {
    if (line.size() > kMaxCommandLine) std::abort();
    switch (cmd->verb) {
      case Verb::mail: {
        auto m = parse_mail_from(cmd->argument);
        check_refusal(m);
        if (m) {
          check_path(m->path);
          if (m->path.utf8 && !m->smtputf8) std::abort();
          if (m->envid.size() > kMaxEnvid) std::abort();
        }
        break;
      }
      case Verb::rcpt: {
        for (bool utf8 : {false, true}) {
          auto r = parse_rcpt_to(cmd->argument, utf8);
          check_refusal(r);
          if (r) {
            check_path(r->path);
            if (r->path.null()) std::abort();  // RCPT TO:<> is never accepted
            if (r->path.utf8 && !utf8) std::abort();
          }
        }
        break;
      }
      case Verb::bdat:
        check_refusal(parse_bdat(cmd->argument));
        break;
      default:
        break;
    }
  }

  // The raw input as a path of either kind, and as xtext.
  for (PathKind kind : {PathKind::reverse, PathKind::forward}) {
    auto p = parse_path(line, kind, true);
    check_refusal(p);
    if (p) check_path(*p);
  }
  auto back = xtext_decode(xtext_encode(line));
  if (!back || *back != line) std::abort();
  (void)xtext_decode(line);
  (void)valid_domain(line, true);
  (void)valid_address_literal(line);
  return 0;
}
