// auth/spf_macro.cpp: RFC 7208 §7 macro expansion; see spf_macro.hpp.
#include "auth/spf_macro.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <vector>

namespace sluice::auth {
namespace {

bool is_delimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

bool is_letter(char c, SpfMacroUse use) {
  switch (std::tolower(static_cast<unsigned char>(c))) {
    case 's': case 'l': case 'o': case 'd': case 'i': case 'p': case 'h': case 'v':
      return true;
    case 'c': case 'r': case 't':
      return use == SpfMacroUse::explanation;
    default:
      return false;
  }
}

// A parsed %{...} term.
struct MacroTerm {
  char letter = 0;
  bool upper = false;
  int keep = 0;  // 0: all parts
  bool reverse = false;
  std::string delimiters;
};

// Parses the body after "%{" up to and including "}"; returns the length consumed or 0 on a
// syntax error.
size_t parse_term(std::string_view s, SpfMacroUse use, MacroTerm& t) {
  size_t i = 0;
  if (i >= s.size() || !is_letter(s[i], use)) return 0;
  t.letter = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
  t.upper = std::isupper(static_cast<unsigned char>(s[i])) != 0;
  ++i;
  size_t digits_start = i;
  long keep = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    keep = keep * 10 + (s[i] - '0');
    if (keep > 1000) keep = 1000;  // more parts than any name has: "all of them"
    ++i;
  }
  if (i > digits_start && keep == 0) return 0;  // §7.1: the DIGIT transformer must be nonzero
  t.keep = static_cast<int>(keep);
  if (i < s.size() && (s[i] == 'r' || s[i] == 'R')) {
    t.reverse = true;
    ++i;
  }
  while (i < s.size() && is_delimiter(s[i])) t.delimiters += s[i++];
  if (i >= s.size() || s[i] != '}') return 0;
  return i + 1;
}

// Walks the string; calls on_literal(text) and on_term(term). Returns false on a syntax error.
template <typename Literal, typename Term>
bool walk(std::string_view s, SpfMacroUse use, Literal on_literal, Term on_term) {
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '%') {
      if (i + 1 >= s.size()) return false;
      char n = s[i + 1];
      if (n == '%') { on_literal("%"); i += 2; continue; }
      if (n == '_') { on_literal(" "); i += 2; continue; }
      if (n == '-') { on_literal("%20"); i += 2; continue; }
      if (n != '{') return false;
      MacroTerm t;
      size_t used = parse_term(s.substr(i + 2), use, t);
      if (used == 0) return false;
      on_term(t);
      i += 2 + used;
      continue;
    }
    bool visible = c >= 0x21 && c <= 0x7e;
    if (!visible && !(use == SpfMacroUse::explanation && c == ' ')) return false;
    on_literal(std::string_view(&s[i], 1));
    ++i;
  }
  return true;
}

std::string url_escape(const std::string& v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool is_ipv6(const std::string& ip) { return ip.find(':') != std::string::npos; }

std::string letter_value(char letter, const SpfMacroContext& ctx) {
  switch (letter) {
    case 's': return ctx.local_part + "@" + ctx.sender_domain;
    case 'l': return ctx.local_part;
    case 'o': return ctx.sender_domain;
    case 'd': return ctx.domain;
    case 'i': return spf_dotted_ip(ctx.client_ip);
    case 'p': return ctx.validated_name.empty() ? "unknown" : ctx.validated_name;
    case 'h': return ctx.helo;
    case 'v': return is_ipv6(ctx.client_ip) ? "ip6" : "in-addr";
    case 'c': return ctx.client_ip;
    case 'r': return ctx.receiver.empty() ? "unknown" : ctx.receiver;
    case 't': return std::to_string(ctx.timestamp);
    default: return "";
  }
}

std::string apply(const MacroTerm& t, const SpfMacroContext& ctx) {
  std::string value = letter_value(t.letter, ctx);
  std::string delims = t.delimiters.empty() ? std::string(".") : t.delimiters;
  std::vector<std::string> parts(1);
  for (char c : value) {
    if (delims.find(c) != std::string::npos) parts.emplace_back();
    else parts.back() += c;
  }
  if (t.reverse) parts = std::vector<std::string>(parts.rbegin(), parts.rend());
  size_t first = 0;
  if (t.keep > 0 && static_cast<size_t>(t.keep) < parts.size()) first = parts.size() - t.keep;
  std::string out;
  for (size_t i = first; i < parts.size(); ++i) {
    if (i > first) out += '.';
    out += parts[i];
  }
  return t.upper ? url_escape(out) : out;
}

}  // namespace

bool valid_spf_macro_string(std::string_view text, SpfMacroUse use) {
  return walk(text, use, [](std::string_view) {}, [](const MacroTerm&) {});
}

bool spf_macro_uses_ptr(std::string_view text) {
  bool uses = false;
  (void)walk(text, SpfMacroUse::explanation, [](std::string_view) {},
             [&](const MacroTerm& t) { uses = uses || t.letter == 'p'; });
  return uses;
}

Result<std::string> expand_spf_macros(std::string_view text, const SpfMacroContext& ctx, SpfMacroUse use) {
  std::string out;
  bool ok = walk(text, use, [&](std::string_view lit) { out += lit; },
                 [&](const MacroTerm& t) { out += apply(t, ctx); });
  if (!ok) return fail(ErrorClass::permanent, "invalid macro string \"" + std::string(text) + "\"");
  if (use == SpfMacroUse::domain) {
    // §7.3: drop labels from the left until the name fits in 253 octets.
    bool trailing_dot = !out.empty() && out.back() == '.';
    size_t limit = trailing_dot ? 254 : 253;
    while (out.size() > limit) {
      size_t dot = out.find('.');
      if (dot == std::string::npos) break;
      out.erase(0, dot + 1);
    }
  }
  return out;
}

std::string spf_dotted_ip(const std::string& ip) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return ip;
  if (inet_pton(AF_INET6, ip.c_str(), buf) != 1) return "";
  // Upper-case nibbles, as the reference implementation (pyspf) and the RFC 7208 test suite
  // write them; DNS names compare case-insensitively, so lookups are unaffected.
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i) out += '.';
    out += kHex[buf[i] >> 4];
    out += '.';
    out += kHex[buf[i] & 15];
  }
  return out;
}

}  // namespace sluice::auth
