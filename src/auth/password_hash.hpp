// auth/password_hash.hpp: password hashes for SMTP AUTH — Argon2id through libsodium
// (crypto_pwhash_str: the PHC string "$argon2id$v=19$m=65536,t=2,p=1$salt$hash"), and the
// one-time libsodium initialisation the rest of the module relies on.
// Owns: the hash parameters and the hash/verify calls. Not: where hashes are stored
// (user_store.hpp), SCRAM's own stored keys (scram_credentials.hpp).
//
// Hashing and verifying are SLOW ON PURPOSE (tens of milliseconds and 64 MiB of memory with
// the defaults): never call them on an event loop. The daemon runs them on its blocking pool
// and resumes the session afterwards (DESIGN.md "Concurrency"); the CLI calls them directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sluice::auth {

// libsodium's "interactive" Argon2id limits: 2 passes over 64 MiB. The "moderate" ones
// (256 MiB, ~0.7 s) are meant for secrets unlocked once per session; a mail server verifies on
// every SMTP/IMAP login of every user, often several at once, so interactive is the ceiling
// that keeps a login burst from exhausting memory. Tests pass the minimums to stay fast.
struct HashParams {
  uint64_t opslimit = 2;         // == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
  size_t memlimit = 64u << 20;   // == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE
};

// The cheapest parameters libsodium accepts: for tests only.
HashParams minimal_hash_params();

// Calls sodium_init() once per process (a function-local static: library initialisation, not
// application state; thread-safe by C++ rules and idempotent in libsodium). Every function of
// this module that uses libsodium calls it first; returns false if libsodium is unusable.
bool ensure_sodium();

// The PHC string of `password` with a fresh random salt. Fails only if libsodium cannot run
// or the parameters are out of range (ErrorClass::config).
Result<std::string> hash_password(std::string_view password, const HashParams& params = {});

// True when `hash` is a well-formed Argon2 PHC string and `password` matches it. Any
// malformed hash is simply "no match". Runs in time independent of where a mismatch is.
bool verify_password(std::string_view hash, std::string_view password);

// True when `hash` has the form of an Argon2id PHC string ("$argon2id$v=19$m=...").
// For validating hashes read from files before they are used.
bool looks_like_argon2id(std::string_view hash);

}  // namespace sluice::auth
