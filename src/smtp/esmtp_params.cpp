// smtp/esmtp_params.cpp: MAIL FROM / RCPT TO arguments and their ESMTP parameters.
// Owns: the syntax of "FROM:<path> params" and "TO:<path> params" and of each parameter's
// value; duplicates. Not: whether the value is acceptable here (the session compares SIZE
// with its limit, refuses BINARYMIME without CHUNKING, ...), address grammar (address.cpp).
// RFC 5321 §4.1.2; RFC 1870 §3; RFC 6152; RFC 3030 §3; RFC 6531 §3.3-3.4; RFC 3461 §4;
// RFC 4954 §5.
#include "smtp/esmtp_params.hpp"

#include <charconv>
#include <vector>

namespace sluice::smtp {

namespace {

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

// RFC 4954 names no limit; a mailbox (≤ 256 octets) xtext-encoded fits comfortably.
constexpr size_t kMaxAuthParam = 500;

Failure bad(std::string text) { return fail(ErrorClass::protocol, Reply{501, "5.5.4", std::move(text)}); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// xtext decoding; with `utf8`, non-ASCII octets pass through (RFC 6533 utf-8-addr-xtext
// allows them in ORCPT; the caller has checked they are valid UTF-8).
Result<std::string> decode_xtext(std::string_view s, bool utf8) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 2 >= s.size()) return fail(ErrorClass::protocol, "xtext: truncated +XX escape");
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return fail(ErrorClass::protocol, "xtext: bad +XX escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if ((c >= 33 && c <= 126 && c != '=') || (c >= 0x80 && utf8)) {
      out.push_back(static_cast<char>(c));
    } else {
      return fail(ErrorClass::protocol, "xtext: character not allowed");
    }
  }
  return out;
}

bool has_control(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// RFC 5321 esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_keyword(std::string_view k) {
  if (k.empty() || k.front() == '-') return false;
  for (char ch : k) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-';
    if (!ok) return false;
  }
  return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 §3.3 adds UTF8-non-ascii.
bool valid_value(std::string_view v, bool utf8) {
  if (v.empty()) return false;
  bool non_ascii = false;
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      if (!utf8) return false;
      non_ascii = true;
    } else if (c < 33 || c == '=' || c > 126) {
      return false;
    }
  }
  return !non_ascii || valid_utf8(v);
}

struct Param {
  std::string key;  // upper case
  std::string_view value;
  bool has_value = false;
};

struct Split {
  std::string_view path;
  std::vector<Param> params;
};

// "FROM:<path> k=v k" → the path text with its brackets, and the parameters.
Result<Split> split_argument(std::string_view arg, std::string_view prefix, const char* usage) {
  while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\t')) arg.remove_suffix(1);
  if (arg.size() < prefix.size() || !iequals(arg.substr(0, prefix.size()), prefix)) return bad(usage);
  arg.remove_prefix(prefix.size());
  // Many clients send "FROM: <a@b>"; refusing it helps nobody (Postfix accepts it too).
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  if (arg.empty() || arg.front() != '<') return bad(usage);

  // The path ends at the first '>' outside a quoted local part.
  size_t end = std::string_view::npos;
  bool in_quote = false;
  for (size_t i = 1; i < arg.size(); ++i) {
    const char c = arg[i];
    if (in_quote && c == '\\') {
      ++i;
    } else if (c == '"') {
      in_quote = !in_quote;
    } else if (!in_quote && c == '>') {
      end = i;
      break;
    }
  }
  if (end == std::string_view::npos) return bad(usage);

  Split out;
  out.path = arg.substr(0, end + 1);
  std::string_view rest = arg.substr(end + 1);
  if (!rest.empty() && rest.front() != ' ') return bad(usage);
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    const size_t sp = rest.find(' ');
    const std::string_view token = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
    Param p;
    const size_t eq = token.find('=');
    const std::string_view key = token.substr(0, eq);
    if (!valid_keyword(key)) return bad("Bad parameter syntax");
    p.key = to_upper(key);
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.value = token.substr(eq + 1);
    }
    out.params.push_back(std::move(p));
  }
  return out;
}

Failure unsupported(const std::string& key) {
  return fail(ErrorClass::protocol, Reply{555, "5.5.4", "Unsupported parameter " + key});
}

Failure bad_value(const std::string& key) { return bad("Bad " + key + " value"); }

// False if `key` was already seen; marks it seen.
bool first_time(std::vector<std::string>& seen, const std::string& key) {
  for (const auto& k : seen)
    if (k == key) return false;
  seen.push_back(key);
  return true;
}

Result<std::string> decoded_value(const Param& p, size_t max_len, bool utf8) {
  if (p.value.size() > max_len) return bad(p.key + " value too long");
  auto d = decode_xtext(p.value, utf8);
  if (!d || d->empty() || has_control(*d)) return bad_value(p.key);
  return std::move(*d);
}

}  // namespace

Result<MailFromArgs> parse_mail_from(std::string_view argument) {
  constexpr const char* kUsage = "Syntax: MAIL FROM:<address>";
  auto split = split_argument(argument, "FROM:", kUsage);
  if (!split) return fail(std::move(split.error()));

  MailFromArgs out;
  for (const Param& p : split->params)
    if (p.key == "SMTPUTF8") out.smtputf8 = true;

  std::vector<std::string> seen;
  for (const Param& p : split->params) {
    const bool known = p.key == "SIZE" || p.key == "BODY" || p.key == "SMTPUTF8" || p.key == "RET" ||
                       p.key == "ENVID" || p.key == "AUTH";
    if (!known) return unsupported(p.key);
    if (!first_time(seen, p.key)) return bad("Duplicate parameter " + p.key);
    if (p.key == "SMTPUTF8") {
      if (p.has_value) return bad("SMTPUTF8 takes no value");
      continue;
    }
    if (!p.has_value || !valid_value(p.value, out.smtputf8)) return bad_value(p.key);
    if (p.key == "SIZE") {
      // RFC 1870: size-value = 1*20DIGIT
      for (char c : p.value)
        if (c < '0' || c > '9') return bad_value(p.key);
      const auto [ptr, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), out.size);
      if (ec != std::errc{} || ptr != p.value.data() + p.value.size()) return bad("SIZE value too large");
      out.size_given = true;
    } else if (p.key == "BODY") {
      if (iequals(p.value, "7BIT")) out.body = BodyType::seven_bit;
      else if (iequals(p.value, "8BITMIME")) out.body = BodyType::eight_bit_mime;
      else if (iequals(p.value, "BINARYMIME")) out.body = BodyType::binary_mime;
      else return bad_value(p.key);
      out.body_given = true;
    } else if (p.key == "RET") {
      if (iequals(p.value, "FULL")) out.ret = DsnRet::full;
      else if (iequals(p.value, "HDRS")) out.ret = DsnRet::headers;
      else return bad_value(p.key);
    } else if (p.key == "ENVID") {
      auto v = decoded_value(p, kMaxEnvid, false);
      if (!v) return fail(std::move(v.error()));
      out.envid = std::move(*v);
    } else {  // AUTH: RFC 4954 §5, "<>" or an xtext-encoded mailbox
      auto v = decoded_value(p, kMaxAuthParam, out.smtputf8);
      if (!v) return fail(std::move(v.error()));
      out.auth = std::move(*v);
    }
  }

  auto path = parse_path(split->path, PathKind::reverse, out.smtputf8);
  if (!path) return fail(std::move(path.error()));
  out.path = std::move(*path);
  return out;
}

Result<RcptToArgs> parse_rcpt_to(std::string_view argument, bool smtputf8) {
  constexpr const char* kUsage = "Syntax: RCPT TO:<address>";
  auto split = split_argument(argument, "TO:", kUsage);
  if (!split) return fail(std::move(split.error()));

  RcptToArgs out;
  std::vector<std::string> seen;
  for (const Param& p : split->params) {
    if (p.key != "NOTIFY" && p.key != "ORCPT") return unsupported(p.key);
    if (!first_time(seen, p.key)) return bad("Duplicate parameter " + p.key);
    if (!p.has_value || !valid_value(p.value, smtputf8)) return bad_value(p.key);
    if (p.key == "NOTIFY") {
      // RFC 3461 §4.1: "NEVER" alone, or a list of SUCCESS, FAILURE, DELAY.
      DsnNotify n;
      n.specified = true;
      std::string_view list = p.value;
      while (true) {
        const size_t comma = list.find(',');
        const std::string_view item = list.substr(0, comma);
        bool* flag = nullptr;
        if (iequals(item, "NEVER")) flag = &n.never;
        else if (iequals(item, "SUCCESS")) flag = &n.success;
        else if (iequals(item, "FAILURE")) flag = &n.failure;
        else if (iequals(item, "DELAY")) flag = &n.delay;
        if (flag == nullptr || *flag) return bad_value(p.key);
        *flag = true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
      if (n.never && (n.success || n.failure || n.delay)) return bad("NOTIFY=NEVER cannot be combined");
      out.notify = n;
    } else {  // ORCPT = addr-type ";" xtext
      if (p.value.size() > kMaxOrcpt) return bad("ORCPT value too long");
      const size_t semi = p.value.find(';');
      if (semi == std::string_view::npos || semi == 0) return bad_value(p.key);
      const std::string_view type = p.value.substr(0, semi);
      if (!valid_keyword(type)) return bad_value(p.key);  // addr-type is an atom; in practice LDH
      auto v = decode_xtext(p.value.substr(semi + 1), smtputf8);
      if (!v || v->empty() || has_control(*v)) return bad_value(p.key);
      out.orcpt = std::string(type) + ";" + *v;
    }
  }

  auto path = parse_path(split->path, PathKind::forward, smtputf8);
  if (!path) return fail(std::move(path.error()));
  out.path = std::move(*path);
  return out;
}

Result<std::string> xtext_decode(std::string_view s) { return decode_xtext(s, false); }

std::string xtext_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out.push_back(ch);
    } else {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace sluice::smtp
