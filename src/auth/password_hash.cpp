// auth/password_hash.cpp: see password_hash.hpp.
#include "auth/password_hash.hpp"

#include <sodium.h>

namespace sluice::auth {

static_assert(HashParams{}.opslimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(HashParams{}.memlimit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);

HashParams minimal_hash_params() {
  return HashParams{crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

bool ensure_sodium() {
  // sodium_init() returns 0 the first time, 1 when already initialised, -1 on failure.
  static const bool ready = sodium_init() >= 0;
  return ready;
}

Result<std::string> hash_password(std::string_view password, const HashParams& params) {
  if (!ensure_sodium()) return fail(ErrorClass::config, "libsodium failed to initialise");
  if (params.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      params.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    return fail(ErrorClass::config, "Argon2id parameters below libsodium's minimum");
  }
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, password.data(), password.size(), params.opslimit,
                                 params.memlimit) != 0) {
    return fail(ErrorClass::io, "Argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (!ensure_sodium()) return false;
  // crypto_pwhash_str_verify wants a NUL-terminated string in a buffer of STRBYTES.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  char buffer[crypto_pwhash_STRBYTES] = {};
  hash.copy(buffer, hash.size());
  return crypto_pwhash_str_verify(buffer, password.data(), password.size()) == 0;
}

bool looks_like_argon2id(std::string_view hash) {
  constexpr std::string_view kPrefix = "$argon2id$v=19$m=";
  // Two more '$'-separated fields after the parameters: salt and hash.
  size_t dollars = 0;
  for (char c : hash) dollars += c == '$';
  return hash.size() < crypto_pwhash_STRBYTES && hash.substr(0, kPrefix.size()) == kPrefix &&
         dollars == 5;
}

}  // namespace sluice::auth
