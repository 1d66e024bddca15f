// auth/dkim_signature.cpp: see dkim_signature.hpp.
#include "auth/dkim_signature.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "auth/base64.hpp"

namespace sluice::auth {
namespace {

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string without_fws(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!is_fws(c)) out += c;
  return out;
}

Failure bad(std::string what) { return fail(ErrorClass::permanent, std::move(what)); }

const std::string* find(const DkimTagList& tags, std::string_view name) {
  for (const auto& [n, v] : tags)
    if (n == name) return &v;
  return nullptr;
}

// A decimal of at most 12 digits for l= (§3.5: up to 76 digits are allowed; larger than any
// message we accept is as good as infinite) and 12 for t=/x= (years past 30000).
std::optional<uint64_t> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split_colon_list(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t c = s.find(':', pos);
    if (c == std::string_view::npos) c = s.size();
    std::string_view item = trim(s.substr(pos, c - pos));
    if (!item.empty()) out.emplace_back(item);
    pos = c + 1;
  }
  return out;
}

}  // namespace

const char* to_string(DkimAlgorithm a) {
  switch (a) {
    case DkimAlgorithm::rsa_sha256: return "rsa-sha256";
    case DkimAlgorithm::rsa_sha1: return "rsa-sha1";
    case DkimAlgorithm::ed25519_sha256: return "ed25519-sha256";
  }
  return "?";
}

Result<DkimTagList> parse_tag_list(std::string_view text) {
  DkimTagList tags;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t semi = text.find(';', pos);
    if (semi == std::string_view::npos) semi = text.size();
    std::string_view spec = text.substr(pos, semi - pos);
    pos = semi + 1;
    if (trim(spec).empty()) {
      if (semi == text.size()) break;  // the optional ';' at the end
      return bad("empty tag in tag list");
    }
    size_t eq = spec.find('=');
    if (eq == std::string_view::npos) return bad("tag without '=': " + std::string(trim(spec)));
    std::string_view name = trim(spec.substr(0, eq));
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name.front())) ||
        !std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
      return bad("bad tag name '" + std::string(name) + "'");
    if (find(tags, name)) return bad("tag " + std::string(name) + "= appears twice");
    tags.emplace_back(std::string(name), std::string(trim(spec.substr(eq + 1))));
  }
  return tags;
}

Result<DkimSignature> parse_dkim_signature(std::string_view value) {
  auto tags = parse_tag_list(value);
  if (!tags) return fail(tags.error());
  DkimSignature sig;
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"}) {
    if (!find(*tags, required)) return bad(std::string("DKIM-Signature has no ") + required + "= tag");
  }
  if (*find(*tags, "v") != "1") return bad("DKIM-Signature version v=" + *find(*tags, "v") + " is not 1");

  const std::string a = lower(*find(*tags, "a"));
  if (a == "rsa-sha256") sig.algorithm = DkimAlgorithm::rsa_sha256;
  else if (a == "rsa-sha1") sig.algorithm = DkimAlgorithm::rsa_sha1;
  else if (a == "ed25519-sha256") sig.algorithm = DkimAlgorithm::ed25519_sha256;
  else return bad("unknown signing algorithm a=" + a);

  auto b = base64_decode(without_fws(*find(*tags, "b")));
  if (!b || b->empty()) return bad("b= is not valid base64");
  sig.signature = std::move(*b);
  auto bh = base64_decode(without_fws(*find(*tags, "bh")));
  if (!bh || bh->empty()) return bad("bh= is not valid base64");
  sig.body_hash = std::move(*bh);

  if (const std::string* c = find(*tags, "c")) {
    std::string cv = lower(*c);
    size_t slash = cv.find('/');
    std::string hc = cv.substr(0, slash);
    std::string bc = slash == std::string::npos ? "simple" : cv.substr(slash + 1);
    auto canon = [](const std::string& s) -> std::optional<DkimCanon> {
      if (s == "simple") return DkimCanon::simple;
      if (s == "relaxed") return DkimCanon::relaxed;
      return std::nullopt;
    };
    auto h = canon(hc);
    auto bo = canon(bc);
    if (!h || !bo) return bad("unknown canonicalization c=" + *c);
    sig.header_canon = *h;
    sig.body_canon = *bo;
  }

  sig.domain = lower(*find(*tags, "d"));
  if (sig.domain.empty()) return bad("d= is empty");
  sig.selector = *find(*tags, "s");
  if (sig.selector.empty()) return bad("s= is empty");
  sig.headers = split_colon_list(*find(*tags, "h"));
  if (std::none_of(sig.headers.begin(), sig.headers.end(), [](const std::string& h) { return iequals(h, "from"); }))
    return bad("h= does not include From");

  if (const std::string* q = find(*tags, "q")) {
    if (lower(*q).find("dns/txt") == std::string::npos) return bad("unsupported query method q=" + *q);
  }
  if (const std::string* i = find(*tags, "i")) {
    sig.identity = *i;
    size_t at = i->rfind('@');
    if (at == std::string::npos) return bad("i= has no '@'");
    std::string idom = lower(i->substr(at + 1));
    // §6.1.1: the i= domain is d= or a subdomain of it.
    bool within = idom == sig.domain ||
                  (idom.size() > sig.domain.size() && idom.compare(idom.size() - sig.domain.size(), sig.domain.size(), sig.domain) == 0 &&
                   idom[idom.size() - sig.domain.size() - 1] == '.');
    if (!within) return bad("i= domain " + idom + " is not within d=" + sig.domain);
  } else {
    sig.identity = "@" + sig.domain;
  }
  if (const std::string* l = find(*tags, "l")) {
    auto n = parse_number(*l);
    if (!n) return bad("l= is not a number");
    sig.body_length = *n;
  }
  if (const std::string* t = find(*tags, "t")) {
    auto n = parse_number(*t);
    if (!n) return bad("t= is not a number");
    sig.timestamp = static_cast<int64_t>(*n);
  }
  if (const std::string* x = find(*tags, "x")) {
    auto n = parse_number(*x);
    if (!n) return bad("x= is not a number");
    sig.expiration = static_cast<int64_t>(*n);
    if (sig.timestamp && *sig.expiration < *sig.timestamp) return bad("x= is before t=");
  }
  return sig;
}

std::string strip_signature_value(std::string_view raw_field) {
  size_t colon = raw_field.find(':');
  if (colon == std::string_view::npos) return std::string(raw_field);
  std::string out(raw_field.substr(0, colon + 1));
  size_t pos = colon + 1;
  while (pos <= raw_field.size()) {
    size_t semi = raw_field.find(';', pos);
    if (semi == std::string_view::npos) semi = raw_field.size();
    std::string_view spec = raw_field.substr(pos, semi - pos);
    size_t eq = spec.find('=');
    if (eq != std::string_view::npos && trim(spec.substr(0, eq)) == "b") {
      out.append(spec.substr(0, eq + 1));  // keep the name, the '=' and the FWS before it
      // §3.7: the value is removed; FWS after the value goes too, except a final line end,
      // which canonicalization handles (the field is hashed without its trailing CRLF).
      std::string_view after = spec.substr(eq + 1);
      size_t end = after.size();
      while (end > 0 && (after[end - 1] == '\r' || after[end - 1] == '\n')) --end;
      out.append(after.substr(end));
    } else {
      out.append(spec);
    }
    if (semi < raw_field.size()) out += ';';
    pos = semi + 1;
  }
  return out;
}

Result<DkimKeyRecord> parse_dkim_key_record(std::string_view txt) {
  auto tags = parse_tag_list(txt);
  if (!tags) return fail(tags.error());
  DkimKeyRecord key;
  if (const std::string* v = find(*tags, "v")) {
    if (*v != "DKIM1") return bad("key record version v=" + *v + " is not DKIM1");
    if (tags->front().first != "v") return bad("key record v= is not the first tag");
  }
  if (const std::string* k = find(*tags, "k")) {
    std::string kv = lower(*k);
    if (kv == "rsa") key.type = DkimKeyType::rsa;
    else if (kv == "ed25519") key.type = DkimKeyType::ed25519;
    else return bad("unknown key type k=" + *k);
  }
  const std::string* p = find(*tags, "p");
  if (!p) return bad("key record has no p= tag");
  std::string p_clean = without_fws(*p);
  if (!p_clean.empty()) {
    auto decoded = base64_decode(p_clean);
    if (!decoded) return bad("key record p= is not valid base64");
    key.public_key = std::move(*decoded);
  }
  if (const std::string* h = find(*tags, "h")) key.hashes = split_colon_list(lower(*h));
  if (const std::string* s = find(*tags, "s")) {
    auto services = split_colon_list(lower(*s));
    if (std::none_of(services.begin(), services.end(), [](const std::string& x) { return x == "*" || x == "email"; }))
      return bad("key record is not for email (s=" + *s + ")");
  }
  if (const std::string* t = find(*tags, "t")) {
    for (const std::string& flag : split_colon_list(lower(*t))) {
      if (flag == "y") key.testing = true;
      if (flag == "s") key.strict_identity = true;
    }
  }
  return key;
}

}  // namespace sluice::auth
