// auth/scram_mechanism.hpp: the server side of SCRAM-SHA-256 (RFC 5802 §5, §7; RFC 7677):
// the client proves it knows the password without sending it, and the server proves it knows
// the stored keys (the server signature in the final message).
// Owns: the message grammar (RFC 5802 §7), the nonce, proof and signature checks. Not: the
// stored credentials (scram_credentials.hpp), looking users up (user_store.hpp).
//
// Exchange over SMTP AUTH (RFC 4954 carries no data with 235):
//   C: client-first   S: 334 server-first   C: client-final   S: 334 server-final ("v=...")
//   C: (empty)        S: 235
// Channel binding: we do not offer SCRAM-SHA-256-PLUS, so "p=..." is refused
// (RFC 5802 §6: the server does not support channel binding), while "n" and "y" (the client
// could bind but saw no -PLUS offered: exactly our case, §6 says to proceed) are accepted.
// Usernames are compared as bytes after "=2C"/"=3D" unescaping; SASLprep is not applied.
// An unknown user gets a normal-looking server-first message (decoy salt) and fails at the
// proof, so the exchange does not reveal which users exist.
#pragma once

#include <functional>
#include <string>

#include "auth/sasl_mechanism.hpp"

namespace sluice::auth {

class ScramSha256Mechanism final : public SaslMechanism {
 public:
  // Returns the server's part of the nonce: printable ASCII without ',' (RFC 5802 §7).
  using NonceSource = std::function<std::string()>;

  // The default nonce is 18 random bytes (libsodium) in base64: 144 bits, no ','.
  explicit ScramSha256Mechanism(const UserStore& users, NonceSource nonce = random_nonce);

  std::string_view name() const override { return "SCRAM-SHA-256"; }
  Step start(std::optional<std::string_view> initial_response) override;
  Step step(std::string_view response) override;

  static std::string random_nonce();

 private:
  enum class State { initial, awaiting_client_first, awaiting_client_final, awaiting_ack, done };
  Step client_first(std::string_view message);
  Step client_final(std::string_view message);
  Step fail(std::string why);

  const UserStore& users_;
  NonceSource nonce_source_;
  State state_ = State::initial;
  std::string gs2_header_;         // "n,," / "y,," / "n,a=...,", echoed in c=
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;              // client nonce + server nonce
  std::string username_;
  std::string canonical_login_;    // User::address, empty for an unknown user
  std::string stored_key_, server_key_;
};

}  // namespace sluice::auth
