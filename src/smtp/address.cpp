// smtp/address.cpp: RFC 5321 §4.1.2 Path syntax, with RFC 6531 UTF-8 where allowed.
// Owns: the grammar and the size limits. Not: relay or recipient policy (policy/), IDNA.
// The parser is a hand-written scanner over the ABNF: every production is one function and
// every refusal names what was wrong, because the text reaches admins through the logs.
#include "smtp/address.hpp"

#include <arpa/inet.h>

#include <string>

namespace sluice::smtp {

namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// RFC 5322 atext; RFC 6531 §3.3 adds UTF8-non-ascii.
bool is_atext(unsigned char c, bool utf8) {
  if (is_alpha(c) || is_digit(c)) return true;
  if (c >= 0x80) return utf8;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// RFC 5321 qtextSMTP: %d32-33 / %d35-91 / %d93-126; RFC 6531 adds UTF8-non-ascii.
bool is_qtext(unsigned char c, bool utf8) {
  if (c >= 0x80) return utf8;
  return c == 32 || c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Why `s` is not an RFC 5321 Domain, or nullptr if it is one.
const char* domain_problem(std::string_view s, bool allow_utf8) {
  if (s.empty()) return "missing domain";
  if (s.size() > kMaxDomain) return "domain longer than 255 octets";
  if (s.back() == '.') return "domain ends with a dot";
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    const std::string_view label = s.substr(start, dot - start);
    if (label.empty()) return "empty domain label";
    // Octets, also for U-labels: stricter than the A-label rule, and never too lax.
    if (label.size() > kMaxLabel) return "domain label too long";
    for (char ch : label) {
      const auto c = static_cast<unsigned char>(ch);
      if (!(is_alpha(c) || is_digit(c) || c == '-' || (c >= 0x80 && allow_utf8)))
        return "invalid character in domain";
    }
    if (label.front() == '-' || label.back() == '-')
      return "domain label begins or ends with a hyphen";
    start = dot + 1;
  }
  return nullptr;
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    unsigned value = 0;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i])) && digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// Why `s` is not an address literal, or nullptr.
const char* literal_problem(std::string_view s) {
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return "malformed address literal";
  if (s.size() > kMaxDomain) return "domain longer than 255 octets";
  const std::string_view inner = s.substr(1, s.size() - 2);
  constexpr std::string_view kV6 = "IPv6:";
  if (inner.size() >= kV6.size() && iequals(inner.substr(0, kV6.size()), kV6)) {
    const std::string addr(inner.substr(kV6.size()));
    in6_addr out{};
    if (addr.empty() || inet_pton(AF_INET6, addr.c_str(), &out) != 1) return "bad IPv6 address literal";
    return nullptr;
  }
  // Standardized-tag ":" dcontent: no such tags are registered that we could route to.
  if (inner.find(':') != std::string_view::npos) return "general address literal not supported";
  if (!valid_ipv4(inner)) return "bad IPv4 address literal";
  return nullptr;
}

class PathParser {
 public:
  PathParser(PathKind kind, bool allow_utf8) : kind_(kind), utf8_(allow_utf8) {}

  Result<Path> parse(std::string_view s) {
    if (s.size() > kMaxPath) return syntax("path longer than 256 octets");
    if (s.size() < 2 || s.front() != '<' || s.back() != '>') return syntax("missing angle brackets");
    std::string_view inner = s.substr(1, s.size() - 2);

    Path path;
    for (char ch : inner) {
      if (static_cast<unsigned char>(ch) >= 0x80) {
        path.utf8 = true;
        break;
      }
    }
    if (path.utf8) {
      if (!valid_utf8(inner))
        return fail(ErrorClass::protocol, Reply{501, "5.6.7", who() + " address is not valid UTF-8"});
      // RFC 6531 §3.7.4.1 names 553 5.6.7 for a non-ASCII address without SMTPUTF8.
      if (!utf8_)
        return fail(ErrorClass::permanent,
                    Reply{553, "5.6.7", who() + " address: non-ASCII address requires SMTPUTF8"});
    }

    if (inner.empty()) {
      if (kind_ == PathKind::reverse) return path;  // the null reverse-path
      return syntax("empty recipient address");
    }
    if (kind_ == PathKind::forward && iequals(inner, "postmaster")) {
      path.local_part = std::string(inner);
      path.postmaster_only = true;
      return path;
    }

    if (inner.front() == '@') {
      // A-d-l ":" Mailbox. Domains cannot hold ':', so the first one ends the route.
      const size_t colon = inner.find(':');
      if (colon == std::string_view::npos) return syntax("source route without ':'");
      const std::string_view route = inner.substr(0, colon);
      size_t start = 0;
      while (start < route.size()) {
        size_t comma = route.find(',', start);
        if (comma == std::string_view::npos) comma = route.size();
        const std::string_view at_domain = route.substr(start, comma - start);
        if (at_domain.size() < 2 || at_domain.front() != '@') return syntax("bad source route");
        if (const char* why = domain_problem(at_domain.substr(1), utf8_))
          return syntax(std::string("source route: ") + why);
        start = comma + 1;
        if (comma + 1 == route.size()) return syntax("bad source route");  // trailing comma
      }
      path.source_route = std::string(route);
      inner.remove_prefix(colon + 1);
    }

    // Local-part
    size_t at = 0;
    if (!inner.empty() && inner.front() == '"') {
      path.quoted = true;
      size_t i = 1;
      bool closed = false;
      while (i < inner.size()) {
        const auto c = static_cast<unsigned char>(inner[i]);
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          // quoted-pairSMTP = %d92 %d32-126
          if (i + 1 >= inner.size()) return syntax("unterminated quoted local part");
          const auto q = static_cast<unsigned char>(inner[i + 1]);
          if (q < 32 || q > 126) return syntax("bad quoted-pair in local part");
          i += 2;
          continue;
        }
        if (!is_qtext(c, utf8_)) return syntax("invalid character in quoted local part");
        ++i;
      }
      if (!closed) return syntax("unterminated quoted local part");
      at = i + 1;
      if (at >= inner.size() || inner[at] != '@') return syntax("missing @domain");
    } else {
      at = inner.find('@');
      if (at == std::string_view::npos) return syntax("missing @domain");
      const std::string_view local = inner.substr(0, at);
      if (local.empty()) return syntax("empty local part");
      if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
        return syntax("misplaced dot in local part");
      for (char ch : local) {
        const auto c = static_cast<unsigned char>(ch);
        if (c != '.' && !is_atext(c, utf8_)) return syntax("invalid character in local part");
      }
    }
    path.local_part = std::string(inner.substr(0, at));
    if (path.local_part.size() > kMaxLocalPart) return syntax("local part longer than 64 octets");

    const std::string_view domain = inner.substr(at + 1);
    if (!domain.empty() && domain.front() == '[') {
      if (const char* why = literal_problem(domain)) return syntax(why);
    } else if (const char* why = domain_problem(domain, utf8_)) {
      return syntax(why);
    }
    path.domain = std::string(domain);
    return path;
  }

 private:
  std::string who() const { return kind_ == PathKind::reverse ? "Sender" : "Recipient"; }

  Failure syntax(std::string_view detail) const {
    std::string text = kind_ == PathKind::reverse ? "Bad sender address syntax" : "Bad recipient address syntax";
    text += ": ";
    text += detail;
    return fail(ErrorClass::protocol,
                Reply{501, kind_ == PathKind::reverse ? "5.1.7" : "5.1.3", std::move(text)});
  }

  PathKind kind_;
  bool utf8_;
};

}  // namespace

bool Path::null() const { return local_part.empty() && domain.empty() && !postmaster_only; }

std::string Path::address() const {
  if (null()) return {};
  if (postmaster_only) return local_part;
  return local_part + "@" + domain;
}

Result<Path> parse_path(std::string_view s, PathKind kind, bool allow_utf8) {
  return PathParser(kind, allow_utf8).parse(s);
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte first, C0/C1 overlong lead, or beyond U+10FFFF
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;  // overlong
    if (cp >= 0xd800 && cp <= 0xdfff) return false;                             // surrogate
    if (cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

bool valid_domain(std::string_view s, bool allow_utf8) {
  if (allow_utf8 && !valid_utf8(s)) return false;
  return domain_problem(s, allow_utf8) == nullptr;
}

bool valid_address_literal(std::string_view s) { return literal_problem(s) == nullptr; }

}  // namespace sluice::smtp
