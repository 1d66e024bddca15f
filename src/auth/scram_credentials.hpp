// auth/scram_credentials.hpp: what the server stores for SCRAM-SHA-256 (RFC 5802 §3, RFC 7677)
// — salt, iteration count, StoredKey and ServerKey — computed once from the password when it
// is set, so that the plaintext never needs to be kept; plus the SHA-256/HMAC primitives the
// SCRAM exchange uses (OpenSSL).
// Owns: key derivation and the stored text form. Not: the exchange (scram_mechanism.hpp),
// the users file (user_store.hpp).
//
// Stored form (one field of the users file, no ':' in it):
//   SCRAM-SHA-256$<iterations>$<base64 salt>$<base64 StoredKey>$<base64 ServerKey>
// Passwords are used as their UTF-8 bytes; SASLprep (RFC 4013) is not applied, so a client
// that normalises a non-ASCII password differently will fail SCRAM (PLAIN/LOGIN still work).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sluice::auth {

// RFC 7677 §4: at least 4096 iterations; clients derive the key on every login, so more costs
// every mail client, not just us.
inline constexpr uint32_t kScramDefaultIterations = 4096;
inline constexpr size_t kScramSaltBytes = 16;

struct ScramCredentials {
  std::string salt;  // raw bytes
  uint32_t iterations = kScramDefaultIterations;
  std::string stored_key, server_key;  // raw SHA-256 outputs (32 bytes each)

  bool operator==(const ScramCredentials&) const = default;
};

// From the password with a fresh random salt (libsodium's randombytes).
ScramCredentials make_scram_credentials(std::string_view password,
                                        uint32_t iterations = kScramDefaultIterations);
// From the password with a given salt: for the RFC 7677 test vector, and re-derivation.
ScramCredentials make_scram_credentials(std::string_view password, std::string_view salt,
                                        uint32_t iterations);

std::string format_scram_credentials(const ScramCredentials& credentials);
// ErrorClass::config with what is wrong (the caller adds file:line).
Result<ScramCredentials> parse_scram_credentials(std::string_view text);

// The primitives, on raw bytes (SHA-256, 32-byte outputs).
std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string pbkdf2_sha256(std::string_view password, std::string_view salt, uint32_t iterations);
// Equal length and bytes, in time that does not depend on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace sluice::auth
