// auth/user_store.hpp: the users who may authenticate (SMTP AUTH, RFC 4954): the [[user]]
// entries of the configuration that carry a password_hash, plus the users file that
// `sluice user add|passwd|del` manages.
// Owns: the users file format, loading it (every problem as file:line), atomic saving, lookup
// by login, and password verification with a uniform cost for unknown users. Not: the SASL
// exchanges (sasl_mechanism.hpp), the configuration file (config/), where the file lives
// (`[server] users_file`, default "<data_dir>/users": the caller passes the path).
//
// The users file, one user per line, '#' starts a comment line, blank lines are ignored:
//   address:argon2id-hash:scram-sha-256-data
//   alice@example.org:$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>:SCRAM-SHA-256$4096$<salt>$<StoredKey>$<ServerKey>
// None of the three fields can contain ':' (an address with ':' is refused, PHC strings and
// base64 have none). The SCRAM field may be empty: that user then cannot use SCRAM-SHA-256.
// The file is written whole to a temporary file in the same directory, fsync'd, renamed over
// the old one (readers see the old or the new file, never half of one) and kept mode 0600:
// the hashes are offline-guessable secrets.
//
// Logins are addresses; the domain compares case-insensitively (RFC 5321 §2.4), the local
// part exactly, as it is stored. A config user with a password_hash is read-only here (the
// configuration owns it); one address in both places is a load error, since either answer
// would surprise someone. Config [[user]] entries without a hash are mailboxes that do not log
// in, and the users file may give them a password.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/password_hash.hpp"
#include "auth/scram_credentials.hpp"
#include "base/result.hpp"

namespace sluice::auth {

// A [[user]] entry of the configuration, as plain values (address, Argon2id hash or "").
struct ConfiguredUser {
  std::string address;
  std::string password_hash;
};

enum class UserOrigin { configuration, users_file };

struct User {
  std::string address;  // the login, domain in lower case
  std::string password_hash;
  std::optional<ScramCredentials> scram;
  // The addresses this user may use in MAIL FROM (sender_login_match): its own, extras later.
  std::vector<std::string> sender_addresses;
  UserOrigin origin = UserOrigin::users_file;
};

// Immutable once loaded as far as the daemon is concerned: its const members may be called
// from every event loop and the blocking pool at once; a reload builds a new store (shared as
// shared_ptr<const UserStore>, STYLE.md "Ownership"). The editing members are for the CLI.
class UserStore {
 public:
  UserStore();  // empty, with a fresh secret for decoy SCRAM salts

  // Reads `users_file` (a missing file is an empty one) and merges `config_users`.
  // Errors: ErrorClass::config "<file>:<line>: <what>" for a bad line, ErrorClass::io if the
  // file exists but cannot be read.
  static Result<UserStore> load(const std::filesystem::path& users_file,
                                const std::vector<ConfiguredUser>& config_users);

  // nullptr if no such login.
  const User* find(std::string_view login) const;

  // Whether `password` is the password of `login`. SLOW (Argon2id): off the event loops.
  // An unknown login costs one verification of a decoy hash, so the answer's timing does not
  // reveal which addresses exist.
  bool verify(std::string_view login, std::string_view password) const;

  // Users-file edits; the caller saves. They hash (SLOW). add refuses an existing address
  // (either origin); set_password and remove refuse unknown and configuration users.
  // ErrorClass::permanent with the reason.
  Result<void> add(std::string_view address, std::string_view password, const HashParams& params = {},
                   uint32_t scram_iterations = kScramDefaultIterations);
  Result<void> set_password(std::string_view address, std::string_view password,
                            const HashParams& params = {},
                            uint32_t scram_iterations = kScramDefaultIterations);
  Result<void> remove(std::string_view address);

  // Puts `user` in as it is, replacing one with the same login: no address or hash checks.
  // For tests (the RFC 7677 vector's login is a bare "user") and tools that import users.
  void insert(User user);

  // Writes the users-file users atomically with mode 0600, creating the directory if needed.
  // ErrorClass::io "cannot write <file>: <reason>"; the old file is then untouched.
  Result<void> save(const std::filesystem::path& users_file) const;

  // Every login (both origins), sorted.
  std::vector<std::string> list() const;

  // A salt for a login that has no SCRAM credentials, stable for this store's lifetime, so
  // that SCRAM's first server message looks alike for existing and unknown users (RFC 5802 §9
  // leaves this to the server; revealing existence would ease password guessing).
  std::string decoy_salt(std::string_view login) const;

  // "Alice@Example.ORG" -> "Alice@example.org": the key logins are compared by.
  static std::string normalize_login(std::string_view login);

 private:
  std::map<std::string, User, std::less<>> users_;
  std::string secret_;
};

}  // namespace sluice::auth
