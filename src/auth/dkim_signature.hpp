// auth/dkim_signature.hpp: the DKIM-Signature header field and the DKIM key record (the TXT
// record at <selector>._domainkey.<domain>) as parsed values.
// Owns: tag-list syntax (RFC 6376 §3.2), the signature tags of §3.5 with their defaults and
// the checks of §6.1.1 (required tags, v=1, i= within d=, From signed), the key record tags of
// §3.6.1, and removing the b= value for hashing (§3.7). Not: canonicalization (dkim_canon),
// cryptography (dkim_crypto), DNS (dkim_verifier).
// Parse errors come back as Error with ErrorClass::permanent and a context an administrator
// can read ("DKIM-Signature has no d= tag"): they become permerror results.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/dkim_canon.hpp"
#include "base/result.hpp"

namespace sluice::auth {

enum class DkimAlgorithm { rsa_sha256, rsa_sha1, ed25519_sha256 };
const char* to_string(DkimAlgorithm a);  // "rsa-sha256", "rsa-sha1", "ed25519-sha256"

using DkimTagList = std::vector<std::pair<std::string, std::string>>;

// name=value pairs in order; values with surrounding FWS trimmed. Duplicate names, a missing
// '=' or a bad tag name are errors (§3.2).
Result<DkimTagList> parse_tag_list(std::string_view text);

struct DkimSignature {
  DkimAlgorithm algorithm = DkimAlgorithm::rsa_sha256;
  std::string signature;   // b=, decoded
  std::string body_hash;   // bh=, decoded
  DkimCanon header_canon = DkimCanon::simple;
  DkimCanon body_canon = DkimCanon::simple;
  std::string domain;      // d=, lower case
  std::string selector;    // s=
  std::vector<std::string> headers;  // h=, as written (compared case-insensitively)
  std::string identity;    // i=, default "@" + d
  std::optional<uint64_t> body_length;  // l=
  std::optional<int64_t> timestamp;     // t=
  std::optional<int64_t> expiration;    // x=
};

// `value` is the field value after "DKIM-Signature:" (folding and all).
Result<DkimSignature> parse_dkim_signature(std::string_view value);

// The field with the b= value emptied and everything else as it was, for hashing (§3.7).
std::string strip_signature_value(std::string_view raw_field);

enum class DkimKeyType { rsa, ed25519 };

struct DkimKeyRecord {
  DkimKeyType type = DkimKeyType::rsa;  // k=
  std::string public_key;               // p=, decoded; empty = revoked (§3.6.1)
  std::vector<std::string> hashes;      // h=; empty = any
  bool testing = false;                 // t=y
  bool strict_identity = false;         // t=s: i= must be d= exactly
};

// One TXT record (its strings already joined, RFC 6376 §3.6.2.2).
Result<DkimKeyRecord> parse_dkim_key_record(std::string_view txt);

}  // namespace sluice::auth
