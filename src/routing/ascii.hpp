// routing/ascii.hpp: the small ASCII helpers that address handling needs (case folding,
// trimming, splitting at the last '@').
// Owns: locale-independent folding (std::tolower depends on the C locale, addresses must
// not). Not: address syntax (smtp/ parses addresses; RFC 5321 §4.1.2).
#pragma once

#include <string>
#include <string_view>

namespace sluice::routing {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

inline bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// An address split at its last '@' (a quoted local part may itself hold '@').
// `has_domain` is false for a bare local part such as "Postmaster".
struct AddressParts {
  std::string_view local;
  std::string_view domain;
  bool has_domain = false;
};

inline AddressParts split_address(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return {address, {}, false};
  return {address.substr(0, at), address.substr(at + 1), true};
}

}  // namespace sluice::routing
