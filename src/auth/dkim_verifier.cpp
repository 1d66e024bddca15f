// auth/dkim_verifier.cpp: see dkim_verifier.hpp.
#include "auth/dkim_verifier.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "auth/dkim_canon.hpp"
#include "auth/dkim_crypto.hpp"

namespace sluice::auth {
namespace {

// The words of dns::to_string, kept here because auth does not link the resolver library (it
// only uses its interface).
const char* dns_word(dns::Status s) {
  switch (s) {
    case dns::Status::ok: return "ok";
    case dns::Status::nxdomain: return "NXDOMAIN";
    case dns::Status::nodata: return "no data";
    case dns::Status::servfail: return "SERVFAIL";
    case dns::Status::timeout: return "timeout";
    case dns::Status::error: return "error";
  }
  return "?";
}

DkimResult base_result(const DkimSignature& sig) {
  DkimResult r;
  r.domain = sig.domain;
  r.selector = sig.selector;
  r.identity = sig.identity;
  r.algorithm = to_string(sig.algorithm);
  return r;
}

std::string without_crlf(std::string s) {
  if (s.size() >= 2 && s.compare(s.size() - 2, 2, "\r\n") == 0) s.resize(s.size() - 2);
  return s;
}

std::string field_value(const DkimHeaderField& f) {
  size_t colon = f.raw.find(':');
  return colon == std::string::npos ? std::string() : f.raw.substr(colon + 1);
}

DkimCheck check_one(const DkimMessage& msg, const DkimHeaderField& field, SystemTime now) {
  DkimCheck check;
  check.result.status = DkimStatus::permerror;
  auto parsed = parse_dkim_signature(field_value(field));
  if (!parsed) {
    check.result.reason = parsed.error().context;
    return check;
  }
  const DkimSignature& sig = *parsed;
  check.result = base_result(sig);
  {
    // header.b (RFC 6008): enough of b= to tell two signatures of one domain apart.
    size_t b = 0;
    std::string_view v = field.raw;
    for (size_t i = 0; i + 1 < v.size(); ++i) {
      if (v[i] == 'b' && (i == 0 || v[i - 1] == ';' || v[i - 1] == ' ' || v[i - 1] == '\t' || v[i - 1] == ':')) {
        size_t j = i + 1;
        while (j < v.size() && (v[j] == ' ' || v[j] == '\t')) ++j;
        if (j < v.size() && v[j] == '=') { b = j + 1; break; }
      }
    }
    for (size_t i = b; b && i < v.size() && v[i] != ';' && check.result.header_b.size() < 12; ++i)
      if (std::isalnum(static_cast<unsigned char>(v[i])) || v[i] == '+' || v[i] == '/') check.result.header_b += v[i];
  }
  check.result.status = DkimStatus::fail;
  if (sig.algorithm == DkimAlgorithm::rsa_sha1) {
    check.result.status = DkimStatus::policy;
    check.result.reason = "rsa-sha1 signatures are not accepted (RFC 8301)";
    return check;
  }
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (sig.expiration && *sig.expiration < now_s) {
    check.result.reason = "signature expired (x=" + std::to_string(*sig.expiration) + ")";
    return check;
  }
  if (sig.timestamp && *sig.timestamp > now_s + kDkimClockSkewSeconds) {
    check.result.reason = "signature timestamp t=" + std::to_string(*sig.timestamp) + " is in the future";
    return check;
  }
  const std::string body = canon_body(sig.body_canon, msg.body);
  if (sig.body_length && *sig.body_length > body.size()) {
    check.result.reason = "l=" + std::to_string(*sig.body_length) + " is longer than the body";
    return check;
  }
  const std::string_view signed_body = sig.body_length ? std::string_view(body).substr(0, *sig.body_length) : body;
  if (dkim_sha256(signed_body) != sig.body_hash) {
    check.result.reason = "body hash did not verify (the body was changed)";
    return check;
  }
  for (const DkimHeaderField* f : select_headers(msg, sig.headers)) check.header_data += canon_header(sig.header_canon, *f);
  DkimHeaderField self{field.name, strip_signature_value(field.raw)};
  check.header_data += without_crlf(canon_header(sig.header_canon, self));
  check.key_name = sig.selector + "._domainkey." + sig.domain;
  check.signature = sig;
  check.needs_key = true;
  return check;
}

}  // namespace

const char* to_string(DkimStatus s) {
  switch (s) {
    case DkimStatus::pass: return "pass";
    case DkimStatus::fail: return "fail";
    case DkimStatus::neutral: return "neutral";
    case DkimStatus::policy: return "policy";
    case DkimStatus::temperror: return "temperror";
    case DkimStatus::permerror: return "permerror";
  }
  return "?";
}

std::vector<DkimCheck> prepare_dkim(std::string_view message, SystemTime now) {
  const DkimMessage msg = split_message(message);
  std::vector<DkimCheck> checks;
  for (const DkimHeaderField& f : msg.headers) {
    if (!iequals(f.name, "DKIM-Signature")) continue;
    if (checks.size() == kMaxDkimSignatures) break;  // a message cannot make us do unbounded work
    checks.push_back(check_one(msg, f, now));
  }
  return checks;
}

DkimResult finish_dkim(const DkimCheck& check, const dns::Answer<std::string>& key) {
  DkimResult r = check.result;
  if (!check.needs_key) return r;
  switch (key.status) {
    case dns::Status::ok: break;
    case dns::Status::nxdomain:
    case dns::Status::nodata:
      r.status = DkimStatus::permerror;
      r.reason = "no key published at " + check.key_name + " (" + dns_word(key.status) + ")";
      return r;
    default:
      r.status = DkimStatus::temperror;
      r.reason = "key lookup for " + check.key_name + " failed: " + dns_word(key.status);
      return r;
  }
  // Several TXT records: the first that is a key record counts (§3.6.2.2 leaves it to us).
  std::optional<DkimKeyRecord> record;
  std::string parse_error;
  for (const std::string& txt : key.records) {
    auto k = parse_dkim_key_record(txt);
    if (k) {
      record = std::move(*k);
      break;
    }
    if (parse_error.empty()) parse_error = k.error().context;
  }
  r.status = DkimStatus::permerror;
  if (!record) {
    r.reason = "bad key record at " + check.key_name + ": " + parse_error;
    return r;
  }
  r.testing = record->testing;
  if (record->public_key.empty()) {
    r.reason = "key at " + check.key_name + " is revoked (empty p=)";
    return r;
  }
  const DkimKeyType want = check.signature.algorithm == DkimAlgorithm::ed25519_sha256 ? DkimKeyType::ed25519 : DkimKeyType::rsa;
  if (record->type != want) {
    r.reason = std::string("key at ") + check.key_name + " is of another type than a=" + r.algorithm;
    return r;
  }
  if (!record->hashes.empty() && std::find(record->hashes.begin(), record->hashes.end(), "sha256") == record->hashes.end()) {
    r.reason = "key at " + check.key_name + " does not allow sha256 (h=)";
    return r;
  }
  if (record->strict_identity) {
    size_t at = check.signature.identity.rfind('@');
    if (!iequals(check.signature.identity.substr(at + 1), check.signature.domain)) {
      r.reason = "key at " + check.key_name + " requires i= in d= itself (t=s)";
      return r;
    }
  }
  auto pk = DkimKey::from_public(record->type, record->public_key);
  if (!pk) {
    r.reason = "key at " + check.key_name + ": " + pk.error().context;
    return r;
  }
  if (pk->type() == DkimKeyType::rsa && pk->bits() < 1024) {
    r.status = DkimStatus::policy;
    r.reason = "RSA key of " + std::to_string(pk->bits()) + " bits is shorter than 1024 (RFC 8301)";
    return r;
  }
  if (!pk->verify(check.header_data, check.signature.signature)) {
    r.status = DkimStatus::fail;
    r.reason = "signature did not verify (a signed header was changed, or the key does not match)";
    return r;
  }
  r.status = DkimStatus::pass;
  r.reason.clear();
  return r;
}

void DkimVerifier::verify(std::string_view message, std::function<void(std::vector<DkimResult>)> done) {
  struct State {
    std::vector<DkimCheck> checks;
    std::vector<DkimResult> results;
    size_t pending = 0;
    std::function<void(std::vector<DkimResult>)> done;
  };
  auto state = std::make_shared<State>();
  state->checks = prepare_dkim(message, clock_.now());
  state->results.resize(state->checks.size());
  state->done = std::move(done);
  for (size_t i = 0; i < state->checks.size(); ++i) {
    if (state->checks[i].needs_key) ++state->pending;
    else state->results[i] = state->checks[i].result;
  }
  if (state->pending == 0) {
    state->done(std::move(state->results));
    return;
  }
  // Each lookup completes on the resolver's loop, one at a time, so the counter needs no lock.
  for (size_t i = 0; i < state->checks.size(); ++i) {
    if (!state->checks[i].needs_key) continue;
    resolver_.txt(state->checks[i].key_name, [state, i](dns::Answer<std::string> answer) {
      state->results[i] = finish_dkim(state->checks[i], answer);
      if (--state->pending == 0) state->done(std::move(state->results));
    });
  }
}

}  // namespace sluice::auth
