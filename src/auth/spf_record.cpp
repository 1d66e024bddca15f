// auth/spf_record.cpp: the RFC 7208 record grammar; see spf_record.hpp.
#include "auth/spf_record.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

#include "auth/spf_macro.hpp"

namespace sluice::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

Failure bad(std::string why) { return fail(ErrorClass::permanent, std::move(why)); }

// "/" ("0" / %x31-39 0*1DIGIT) for IPv4, up to three digits for IPv6; no leading zeros.
bool parse_length(std::string_view digits, int max, int& out) {
  if (digits.empty() || digits.size() > 3) return false;
  if (digits.size() > 1 && digits[0] == '0') return false;
  int v = 0;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Splits "spec/4//6", "spec/4", "spec//6" off the end of a term's argument. Only a digit
// suffix is a prefix length: "a:foo:bar/baz.example.com" is all domain-spec (§7.1 example).
bool split_cidr(std::string_view arg, std::string_view& spec, int& cidr4, int& cidr6, bool allow4, bool allow6) {
  spec = arg;
  size_t dbl = arg.rfind("//");
  if (dbl != std::string_view::npos && all_digits(arg.substr(dbl + 2))) {
    spec = arg.substr(0, dbl);
    if (!allow6 || !parse_length(arg.substr(dbl + 2), 128, cidr6)) return false;
  }
  size_t slash = spec.rfind('/');
  if (slash != std::string_view::npos && all_digits(spec.substr(slash + 1))) {
    std::string_view v4 = spec.substr(slash + 1);
    spec = spec.substr(0, slash);
    if (!allow4 || !parse_length(v4, 32, cidr4)) return false;
  }
  return true;
}

bool valid_domain_spec(std::string_view spec) {
  if (spec.empty()) return false;
  if (!valid_spf_macro_string(spec, SpfMacroUse::domain)) return false;
  if (spec.find('%') == std::string_view::npos) return valid_spf_domain_end(spec);
  // With macros: valid if it ends in a macro-expand, or in "." toplabel.
  if (spec.back() == '}') return true;
  if (spec.size() >= 2 && spec[spec.size() - 2] == '%') return true;
  return valid_spf_domain_end(spec);
}

Result<SpfMechanism> parse_mechanism(std::string_view term) {
  SpfMechanism m;
  m.text = std::string(term);
  std::string_view body = term;
  switch (body.front()) {
    case '+': m.qualifier = SpfQualifier::pass; body.remove_prefix(1); break;
    case '-': m.qualifier = SpfQualifier::fail; body.remove_prefix(1); break;
    case '~': m.qualifier = SpfQualifier::softfail; body.remove_prefix(1); break;
    case '?': m.qualifier = SpfQualifier::neutral; body.remove_prefix(1); break;
    default: break;
  }
  size_t sep = body.find_first_of(":/");
  std::string_view name = body.substr(0, sep);
  std::string_view rest = sep == std::string_view::npos ? std::string_view() : body.substr(sep);
  bool has_colon = !rest.empty() && rest.front() == ':';
  std::string_view arg = has_colon ? rest.substr(1) : rest;
  auto unknown = [&] { return bad("unknown mechanism \"" + std::string(term) + "\""); };

  if (iequals(name, "all")) {
    if (!rest.empty()) return bad("\"all\" takes no argument: \"" + std::string(term) + "\"");
    m.kind = SpfMechanismKind::all;
    return m;
  }
  if (iequals(name, "include") || iequals(name, "exists")) {
    m.kind = iequals(name, "include") ? SpfMechanismKind::include : SpfMechanismKind::exists;
    if (!has_colon || !valid_domain_spec(arg)) return bad("\"" + std::string(term) + "\" needs a valid domain");
    m.domain_spec = std::string(arg);
    return m;
  }
  if (iequals(name, "a") || iequals(name, "mx") || iequals(name, "ptr")) {
    m.kind = iequals(name, "a") ? SpfMechanismKind::a : iequals(name, "mx") ? SpfMechanismKind::mx : SpfMechanismKind::ptr;
    bool cidr = m.kind != SpfMechanismKind::ptr;
    std::string_view spec;
    if (has_colon) {
      if (!split_cidr(arg, spec, m.cidr4, m.cidr6, cidr, cidr)) return bad("bad prefix length in \"" + std::string(term) + "\"");
      if (!valid_domain_spec(spec)) return bad("\"" + std::string(term) + "\" has an invalid domain");
    } else if (!rest.empty()) {
      if (!split_cidr(rest, spec, m.cidr4, m.cidr6, cidr, cidr) || !spec.empty()) {
        return bad("bad prefix length in \"" + std::string(term) + "\"");
      }
    }
    m.domain_spec = std::string(spec);
    return m;
  }
  if (iequals(name, "ip4") || iequals(name, "ip6")) {
    bool v4 = iequals(name, "ip4");
    m.kind = v4 ? SpfMechanismKind::ip4 : SpfMechanismKind::ip6;
    if (!has_colon) return bad("\"" + std::string(term) + "\" needs an address");
    std::string_view addr = arg;
    size_t slash = v4 ? arg.find('/') : arg.find('/');
    if (slash != std::string_view::npos) {
      addr = arg.substr(0, slash);
      int& len = v4 ? m.cidr4 : m.cidr6;
      if (!parse_length(arg.substr(slash + 1), v4 ? 32 : 128, len)) return bad("bad prefix length in \"" + std::string(term) + "\"");
    }
    std::string a(addr);
    if (inet_pton(v4 ? AF_INET : AF_INET6, a.c_str(), m.network.data()) != 1) {
      return bad("\"" + a + "\" is not an IPv" + (v4 ? "4" : "6") + " address");
    }
    return m;
  }
  return unknown();
}

}  // namespace

const char* to_string(SpfMechanismKind k) {
  switch (k) {
    case SpfMechanismKind::all: return "all";
    case SpfMechanismKind::include: return "include";
    case SpfMechanismKind::a: return "a";
    case SpfMechanismKind::mx: return "mx";
    case SpfMechanismKind::ptr: return "ptr";
    case SpfMechanismKind::ip4: return "ip4";
    case SpfMechanismKind::ip6: return "ip6";
    case SpfMechanismKind::exists: return "exists";
  }
  return "?";
}

bool is_spf_record(std::string_view txt) {
  if (txt.size() < 6 || !iequals(txt.substr(0, 6), "v=spf1")) return false;
  return txt.size() == 6 || txt[6] == ' ';
}

bool valid_spf_domain_end(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos) return false;  // domain-end needs "." toplabel
  std::string_view top = domain.substr(dot + 1);
  if (top.empty() || top.size() > 63) return false;
  // toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
  bool alpha = false;
  for (char c : top) {
    if (std::isalpha(static_cast<unsigned char>(c))) alpha = true;
    else if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  if (top.front() == '-' || top.back() == '-') return false;
  return alpha || top.find('-') != std::string_view::npos;
}

Result<SpfRecord> parse_spf_record(std::string_view txt) {
  if (!is_spf_record(txt)) return bad("not an SPF record");
  SpfRecord rec;
  std::string_view rest = txt.substr(6);
  while (!rest.empty()) {
    size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t end = rest.find(' ');
    std::string_view term = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);

    // A modifier is name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
    size_t eq = term.find('=');
    size_t name_end = 0;
    while (name_end < term.size() &&
           (std::isalnum(static_cast<unsigned char>(term[name_end])) || term[name_end] == '-' ||
            term[name_end] == '_' || term[name_end] == '.')) {
      ++name_end;
    }
    if (eq != std::string_view::npos && eq == name_end && eq > 0 && std::isalpha(static_cast<unsigned char>(term[0]))) {
      std::string_view name = term.substr(0, eq);
      std::string_view value = term.substr(eq + 1);
      if (iequals(name, "redirect") || iequals(name, "exp")) {
        auto& slot = iequals(name, "redirect") ? rec.redirect : rec.exp;
        if (slot) return bad("\"" + std::string(name) + "=\" appears twice");
        if (!valid_domain_spec(value)) return bad("\"" + std::string(term) + "\" has an invalid domain");
        slot = std::string(value);
      } else if (!valid_spf_macro_string(value, SpfMacroUse::domain)) {
        return bad("modifier \"" + std::string(term) + "\" has an invalid macro string");
      }
      continue;
    }
    auto m = parse_mechanism(term);
    if (!m) return fail(m.error());
    rec.mechanisms.push_back(std::move(*m));
  }
  return rec;
}

}  // namespace sluice::auth
