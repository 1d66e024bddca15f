// auth/spf_record.hpp: one SPF record ("v=spf1 ...", RFC 7208 §4.5, §12 ABNF) parsed into its
// mechanisms and modifiers.
// Owns: the record grammar — qualifiers, the eight mechanisms with their domain-spec and
// dual-CIDR lengths, the redirect= and exp= modifiers (each at most once, §6), unknown
// modifiers (ignored, but their syntax is checked), and which TXT strings are SPF records
// at all (§4.5: "v=spf1" followed by a space or the end, case-insensitively).
// Not: evaluation or DNS (spf.hpp), macro expansion (spf_macro.hpp). A syntax error is a
// permerror for the whole record (§4.6), reported here with what was wrong.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace sluice::auth {

enum class SpfQualifier { pass, fail, softfail, neutral };  // + - ~ ?

enum class SpfMechanismKind { all, include, a, mx, ptr, ip4, ip6, exists };

const char* to_string(SpfMechanismKind k);

struct SpfMechanism {
  SpfQualifier qualifier = SpfQualifier::pass;
  SpfMechanismKind kind = SpfMechanismKind::all;
  std::string domain_spec;            // macro string; "" = the current domain (a, mx, ptr)
  std::array<uint8_t, 16> network{};  // ip4 (first 4 bytes) / ip6
  int cidr4 = 32;                     // a, mx, ip4
  int cidr6 = 128;                    // a, mx, ip6
  std::string text;                   // the term as written, for results and logs
};

struct SpfRecord {
  std::vector<SpfMechanism> mechanisms;
  std::optional<std::string> redirect;  // domain-spec
  std::optional<std::string> exp;       // domain-spec
};

// "v=spf1" then a space or nothing (case-insensitive): the record is an SPF record.
bool is_spf_record(std::string_view txt);

// Parses a record that is_spf_record() accepted. The Error's context says what is wrong.
Result<SpfRecord> parse_spf_record(std::string_view txt);

// A domain-spec without macros must end in a valid top label (§4.6.1, §12 domain-end).
bool valid_spf_domain_end(std::string_view domain);

}  // namespace sluice::auth
