// auth/password_mechanisms.hpp: the SASL mechanisms that carry the password itself, PLAIN
// (RFC 4616) and LOGIN (draft-murchison-sasl-login-00), which every mail client speaks. Only
// safe inside TLS; the session decides when they are offered.
// Owns: parsing their messages and their small state machines. Not: checking the password
// (the caller runs UserStore::verify off the event loop and calls finish()).
#pragma once

#include "auth/sasl_mechanism.hpp"

namespace sluice::auth {

// RFC 4616 §2: message = [authzid] NUL authcid NUL passwd. The authorisation identity must be
// empty or the authentication identity itself (we do not let one user act as another).
class PlainMechanism final : public SaslMechanism {
 public:
  explicit PlainMechanism(const UserStore& users) : users_(users) {}
  std::string_view name() const override { return "PLAIN"; }
  Step start(std::optional<std::string_view> initial_response) override;
  Step step(std::string_view response) override;
  Step finish(bool verified) override;

 private:
  enum class State { initial, awaiting_message, awaiting_verdict, done };
  const UserStore& users_;
  State state_ = State::initial;
  std::string username_;
};

// draft-murchison-sasl-login: challenge "Username:", then "Password:". No initial response in
// the draft, but clients send the user name as one (RFC 4954 §4 allows it): accepted.
class LoginMechanism final : public SaslMechanism {
 public:
  explicit LoginMechanism(const UserStore& users) : users_(users) {}
  std::string_view name() const override { return "LOGIN"; }
  Step start(std::optional<std::string_view> initial_response) override;
  Step step(std::string_view response) override;
  Step finish(bool verified) override;

 private:
  enum class State { initial, awaiting_username, awaiting_password, awaiting_verdict, done };
  Step take_username(std::string_view response);
  const UserStore& users_;
  State state_ = State::initial;
  std::string username_;
};

// Field limits: RFC 4616 asks for at least 255 octets; generous, but bounded.
inline constexpr size_t kMaxSaslField = 1024;

}  // namespace sluice::auth
