// auth/dkim_verifier.hpp: verifies every DKIM-Signature of a received message (RFC 6376 §6),
// looking the keys up asynchronously over dns::Resolver.
// Owns: the verification steps and their results — pass, fail, neutral, policy, temperror,
// permerror (RFC 8601 §2.7.1) with a reason an administrator can read; RFC 8301 (rsa-sha1 and
// RSA keys under 1024 bits are never a pass: result "policy"); RFC 8463 (ed25519-sha256);
// x=/t= against the injected clock; at most kMaxDkimSignatures signatures per message.
// Not: Authentication-Results formatting or DMARC (later steps), where the message comes from.
// The work is split so tests can drive it without DNS: prepare_dkim() does everything that
// needs only the message (parsing, body hashes, header data), finish_dkim() takes a key answer.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_signature.hpp"
#include "base/clock.hpp"
#include "dns/resolver.hpp"

namespace sluice::auth {

enum class DkimStatus { pass, fail, neutral, policy, temperror, permerror };
const char* to_string(DkimStatus s);  // RFC 8601 result words: "pass", "fail", ...

struct DkimResult {
  DkimStatus status = DkimStatus::permerror;
  std::string domain;    // d=, "" when the signature did not parse that far
  std::string selector;  // s=
  std::string identity;  // i= (or "@" + d=)
  std::string algorithm; // a= as understood, "" when unknown
  std::string header_b;  // the first 12 characters of b= (RFC 6008 header.b)
  std::string reason;    // "signature did not verify", "no key at s._domainkey.d", ...
  bool testing = false;  // the key record says t=y
};

inline constexpr size_t kMaxDkimSignatures = 8;
// How far in the future a t= may be before the signature is refused: clocks drift.
inline constexpr int64_t kDkimClockSkewSeconds = 900;

// One signature after the message-only steps.
struct DkimCheck {
  DkimResult result;          // final when !needs_key
  bool needs_key = false;
  std::string key_name;       // "<s>._domainkey.<d>"
  DkimSignature signature;
  std::string header_data;    // the data the signature covers (§3.7)
};

std::vector<DkimCheck> prepare_dkim(std::string_view message, SystemTime now);
// `key` is the TXT answer for check.key_name; each record's strings already joined.
DkimResult finish_dkim(const DkimCheck& check, const dns::Answer<std::string>& key);

class DkimVerifier {
 public:
  DkimVerifier(dns::Resolver& resolver, const Clock& clock) : resolver_(resolver), clock_(clock) {}

  // Every signature's result, in header order; empty = the message is unsigned (result
  // "none"). `done` runs once, on the resolver's loop (or inside this call when there is
  // nothing to look up).
  void verify(std::string_view message, std::function<void(std::vector<DkimResult>)> done);

 private:
  dns::Resolver& resolver_;
  const Clock& clock_;
};

}  // namespace sluice::auth
