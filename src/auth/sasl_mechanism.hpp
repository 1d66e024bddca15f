// auth/sasl_mechanism.hpp: the server side of SASL (RFC 4422) as SMTP AUTH uses it
// (RFC 4954), sans-I/O: a mechanism is fed the client's responses, already base64-decoded by
// the session, and returns the next challenge (raw bytes: the session base64-encodes it into
// a 334 reply) or a verdict.
// Owns: the mechanism interface, the list of mechanisms offered, the factory. Not: the
// mechanisms themselves (password_mechanisms.hpp, scram_mechanism.hpp), the AUTH verb, its
// replies and the "*" cancel (the session), the failure limit (logon_failure_tracker.hpp).
//
// How the session maps verdicts: challenge -> "334 <base64(data)>"; success -> 235 2.7.0;
// failure -> 535 5.7.8 (`data` is a reason for the protocol log, never a credential);
// need_verification -> run UserStore::verify(username, password) on the blocking pool (it is
// slow on purpose), then feed the verdict to finish(), which returns success or failure.
// Only PLAIN and LOGIN ask for verification; SCRAM's checks are cheap HMACs done in step().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::auth {

class UserStore;

enum class StepKind { challenge, success, failure, need_verification };

struct Step {
  StepKind kind = StepKind::failure;
  std::string data;      // challenge: raw bytes to send; failure: why, for the log
  std::string username;  // success: the authenticated login (User::address when known);
                         // need_verification and failure: the login the client gave, if any
  std::string password;  // need_verification only; never log it

  static Step challenge(std::string data) { return Step{StepKind::challenge, std::move(data), {}, {}}; }
  static Step success(std::string username) { return Step{StepKind::success, {}, std::move(username), {}}; }
  static Step failure(std::string why, std::string username = {}) {
    return Step{StepKind::failure, std::move(why), std::move(username), {}};
  }
  static Step verify(std::string username, std::string password) {
    return Step{StepKind::need_verification, {}, std::move(username), std::move(password)};
  }
};

class SaslMechanism {
 public:
  virtual ~SaslMechanism() = default;
  virtual std::string_view name() const = 0;

  // The first step. `initial_response` is absent when AUTH had none (RFC 4954 §4), and empty
  // when the client sent "=" (an empty initial response): mechanisms tell the two apart.
  virtual Step start(std::optional<std::string_view> initial_response) = 0;
  // The client's answer to the last challenge.
  virtual Step step(std::string_view response) = 0;
  // The verdict on a need_verification step. The default (mechanisms that never ask) fails.
  virtual Step finish(bool verified);
};

// nullptr for a mechanism we do not offer (the session answers 504 5.5.4). Names compare
// case-insensitively. The mechanism borrows `users`, which must outlive it.
std::unique_ptr<SaslMechanism> make_mechanism(std::string_view name, const UserStore& users);

// What EHLO's AUTH keyword lists, strongest first: "SCRAM-SHA-256", "PLAIN", "LOGIN".
std::vector<std::string_view> supported_mechanisms();

}  // namespace sluice::auth
