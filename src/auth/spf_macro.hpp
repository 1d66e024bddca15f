// auth/spf_macro.hpp: SPF macro strings (RFC 7208 §7): checking their syntax and expanding
// them for one check_host() evaluation.
// Owns: the macro grammar (%{letter digits r delimiters}, %%, %_, %-), the transformers,
// URL escaping of upper-case macros, IPv6 nibble form of %{i}, and shortening an expanded
// domain name to 253 octets by dropping labels from the left (§7.3).
// Not: DNS lookups. The %{p} macro needs a validated PTR name; the evaluator (spf.hpp) looks it
// up first and passes it in `validated_name`. Not the record grammar (spf_record.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sluice::auth {

struct SpfMacroContext {
  std::string local_part;      // %{l}: the sender's local part ("postmaster" when none)
  std::string sender_domain;   // %{o}
  std::string domain;          // %{d}: the domain being checked now (changes with include)
  std::string client_ip;       // %{i}/%{c}: the client address as text (IPv4 or IPv6)
  std::string helo;            // %{h}
  std::string validated_name;  // %{p}: "unknown" when no PTR name validated
  std::string receiver;        // %{r} (explanations only)
  int64_t timestamp = 0;       // %{t} (explanations only), seconds since the epoch
};

// Which grammar applies: domain-spec macro strings, or explain-string (RFC 7208 §6.2), which
// also allows spaces and the c, r and t letters.
enum class SpfMacroUse { domain, explanation };

// Syntax only, no context needed: the record parser refuses a bad macro with permerror.
bool valid_spf_macro_string(std::string_view text, SpfMacroUse use);

// True when expanding `text` needs %{p} (the evaluator then validates a PTR name first).
bool spf_macro_uses_ptr(std::string_view text);

// The expanded string; a permanent Error (permerror) for a syntax error. For domain use the
// result is shortened to 253 octets (§7.3).
Result<std::string> expand_spf_macros(std::string_view text, const SpfMacroContext& ctx, SpfMacroUse use);

// "1.2.3.4" -> "1.2.3.4"; "2001:db8::1" -> "2.0.0.1.0.D.B.8.0...1" (§7.3, %{i}); "" if not an IP.
std::string spf_dotted_ip(const std::string& ip);

}  // namespace sluice::auth
